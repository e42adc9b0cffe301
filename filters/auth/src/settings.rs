//! The checked configuration: secrets hashed, JWKS parsed into keys, header names lower-cased,
//! every mistake reported with the field it is in. Built once in `on_configure`.

use std::rc::Rc;

use weir_sdk::config::parse_config;
use weir_sdk::rules::Rules;

use crate::config::{ApiKeySource, AuthConfig, ConsumerConfig, Method, Policy, RouteView, check_rule_keys};
use crate::jwt::config::{ClaimToHeader, HeaderLocation, JwtConfig};
use crate::jwt::provider::{Keys, Provider, parse_provider};
use crate::jwt::verified::VerifiedTokens;
use crate::secret::{self, Consumer, Store};

/// Everything a request needs, checked.
#[derive(Debug)]
pub struct Settings {
    /// Configured realm (else the request's authority).
    pub realm: Option<String>,
    /// Header naming the consumer for the upstream.
    pub consumer_header: Option<String>,
    /// Keep credentials on forwarded requests.
    pub forward_credentials: bool,
    /// Longest credential accepted.
    pub max_credential_bytes: usize,
    /// API-key locations (lower-case header name).
    pub api_key: Option<ApiKeySource>,
    /// Consumers' secrets.
    pub store: Store,
    /// JWT settings.
    pub jwt: Option<JwtSettings>,
    /// Route policies.
    pub rules: Rules<RouteView>,
    /// Headers this filter sets for the upstream; what a client sent of them is removed from
    /// every request the filter forwards.
    pub identity_headers: Vec<String>,
    /// Request headers credentials are read from (lower-case, each once): `jwt.from_headers`,
    /// `api_key.header`, and `authorization` when a consumer has Basic credentials.
    pub credential_headers: Vec<Rc<str>>,
    /// Query parameters credentials are read from: `jwt.from_params`, `api_key.query`.
    pub credential_params: Vec<Rc<str>>,
}

/// JWT locations and providers.
#[derive(Debug)]
pub struct JwtSettings {
    /// Headers that may carry a token (lower-case names).
    pub from_headers: Vec<HeaderLocation>,
    /// Query parameters that may carry a token.
    pub from_params: Vec<Rc<str>>,
    /// The providers.
    pub providers: Vec<Provider>,
    /// Tokens whose signature verified.
    pub verified: VerifiedTokens,
}

impl Settings {
    /// Parses and checks plugin configuration bytes.
    pub fn parse(bytes: &[u8]) -> Result<Settings, String> {
        let config: AuthConfig = parse_config(bytes).map_err(|e| e.message)?;
        check_rule_keys(&config.rules)?;
        let rules = Rules::<RouteView>::parse(bytes).map_err(|e| e.message)?;
        let mut policies = vec![("policy".to_string(), config.policy.clone())];
        for (i, rule) in config.rules.iter().enumerate() {
            if let Some(p) = rule.get("config").and_then(|c| c.get("policy")) {
                let p: Policy = serde_json::from_value(p.clone())
                    .map_err(|e| format!("rules[{i}].config.policy: {e}"))?;
                policies.push((format!("rules[{i}].config.policy"), p));
            }
        }
        build(config, rules, &policies)
    }

    /// Whether `method` is configured at all.
    pub fn configured(&self, method: Method) -> bool {
        match method {
            Method::ApiKey => self.api_key.is_some(),
            Method::Basic => self.store.has_basic(),
            Method::Jwt => self.jwt.is_some(),
        }
    }

    /// Works out [`Settings::credential_headers`] and [`Settings::credential_params`].
    fn find_sources(&mut self) {
        let mut headers: Vec<Rc<str>> =
            self.jwt.iter().flat_map(|j| j.from_headers.iter().map(|h| h.name.clone())).collect();
        headers.extend(self.api_key.as_ref().and_then(|k| k.header.clone()));
        if self.configured(Method::Basic) {
            headers.push("authorization".into());
        }
        let mut params: Vec<Rc<str>> = self.jwt.iter().flat_map(|j| j.from_params.iter().cloned()).collect();
        params.extend(self.api_key.as_ref().and_then(|k| k.query.clone()));
        for list in [&mut headers, &mut params] {
            list.sort();
            list.dedup();
        }
        self.credential_headers = headers;
        self.credential_params = params;
    }

    /// Whether any provider fetches its keys.
    pub fn has_remote_jwks(&self) -> bool {
        self.jwt.as_ref().is_some_and(|j| j.providers.iter().any(|p| matches!(p.keys, Keys::Remote(_))))
    }
}

fn header_name(name: &str, field: &str) -> Result<String, String> {
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    ok.then(|| name.to_ascii_lowercase()).ok_or_else(|| format!("{field}: `{name}` is not a header name"))
}

fn build(
    config: AuthConfig,
    rules: Rules<RouteView>,
    policies: &[(String, Policy)],
) -> Result<Settings, String> {
    if let Some(realm) = &config.realm
        && realm.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f)
    {
        return Err("realm: quotes, backslashes and control characters are not allowed".into());
    }
    let consumer_header = match config.consumer_header.as_str() {
        "" => None,
        name => Some(header_name(name, "consumer_header")?),
    };
    let api_key = match config.api_key {
        Some(source) => {
            let header = source
                .header
                .as_deref()
                .map(|h| header_name(h, "api_key.header").map(Rc::from))
                .transpose()?;
            let query = source.query.filter(|q| !q.is_empty());
            if header.is_none() && query.is_none() {
                return Err("api_key: give `header`, `query` or both".into());
            }
            Some(ApiKeySource { header, query })
        }
        None => None,
    };
    let store = consumers(&config.consumers)?;
    if api_key.is_some() != store.has_api_keys() {
        return Err(match api_key {
            Some(_) => "api_key is configured but no consumer has an API key".into(),
            None => "consumers have API keys but `api_key` (where to read them) is not configured".into(),
        });
    }
    let jwt = config.jwt.map(jwt_settings).transpose()?;
    let mut identity_headers: Vec<String> = consumer_header.iter().cloned().collect();
    for provider in jwt.iter().flat_map(|j| &j.providers) {
        identity_headers.extend(provider.claim_to_headers.iter().map(|c| c.header_name.clone()));
        identity_headers.extend(provider.payload_header.iter().cloned());
    }
    identity_headers.sort();
    identity_headers.dedup();
    let mut settings = Settings {
        realm: config.realm,
        consumer_header,
        forward_credentials: config.forward_credentials,
        max_credential_bytes: config.max_credential_bytes,
        api_key,
        store,
        jwt,
        rules,
        identity_headers,
        credential_headers: Vec::new(),
        credential_params: Vec::new(),
    };
    settings.find_sources();
    if ![Method::ApiKey, Method::Basic, Method::Jwt].iter().any(|m| settings.configured(*m)) {
        return Err("nothing to authenticate with: configure `api_key`, Basic credentials or `jwt`".into());
    }
    let sources = &settings.credential_headers;
    if let Some(name) = settings.identity_headers.iter().find(|h| sources.iter().any(|s| **s == ***h)) {
        return Err(format!(
            "`{name}` is both a header this filter sets for the upstream (consumer_header, \
             claim_to_headers or forward_payload_header) and one it reads credentials from"
        ));
    }
    for (at, policy) in policies {
        if let Some(m) = policy.methods.iter().find(|m| !settings.configured(**m)) {
            return Err(format!("{at}.methods: `{}` is not configured", m.name()));
        }
    }
    Ok(settings)
}

fn consumers(list: &[ConsumerConfig]) -> Result<Store, String> {
    let mut store = Store::default();
    for (i, c) in list.iter().enumerate() {
        let at = format!("consumers[{i}]");
        if c.name.is_empty() || list[..i].iter().any(|o| o.name == c.name) {
            return Err(format!("{at}.name: empty or given twice"));
        }
        let index = store.add_consumer(Consumer { name: c.name.clone(), scopes: c.scopes.clone() });
        for key in &c.api_keys {
            if key.is_empty() {
                return Err(format!("{at}.api_keys: an empty key"));
            }
            store.add_api_key(secret::digest(key.as_bytes()), index).map_err(|e| format!("{at}: {e}"))?;
        }
        for hex in &c.api_key_sha256 {
            let d = secret::parse_hex_digest(hex).map_err(|e| format!("{at}.api_key_sha256: {e}"))?;
            store.add_api_key(d, index).map_err(|e| format!("{at}: {e}"))?;
        }
        if let Some(basic) = &c.basic {
            let password = match (&basic.password, &basic.password_sha256) {
                (Some(p), None) => secret::digest(p.as_bytes()),
                (None, Some(hex)) => {
                    secret::parse_hex_digest(hex).map_err(|e| format!("{at}.basic.password_sha256: {e}"))?
                }
                _ => return Err(format!("{at}.basic: give exactly one of `password`, `password_sha256`")),
            };
            if basic.username.is_empty() || basic.username.contains(':') {
                return Err(format!("{at}.basic.username: empty or contains `:`"));
            }
            store.add_basic(&basic.username, password, index).map_err(|e| format!("{at}.basic: {e}"))?;
        }
    }
    Ok(store)
}

fn jwt_settings(config: JwtConfig) -> Result<JwtSettings, String> {
    if config.providers.is_empty() {
        return Err("jwt.providers: at least one provider".into());
    }
    if config.from_headers.is_empty() && config.from_params.is_empty() {
        return Err("jwt: no `from_headers` and no `from_params`: tokens could not be found".into());
    }
    let from_headers = config
        .from_headers
        .iter()
        .map(|h| {
            Ok(HeaderLocation {
                name: header_name(&h.name, "jwt.from_headers")?.into(),
                value_prefix: h.value_prefix.clone(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let several = config.providers.len() > 1;
    let mut providers: Vec<Provider> = Vec::new();
    for (i, p) in config.providers.into_iter().enumerate() {
        let at = format!("jwt.providers[{i}]");
        if several && p.issuer.is_none() {
            return Err(format!("{at}.issuer: required when there are several providers"));
        }
        if providers.iter().any(|o| o.name == p.name || (o.issuer.is_some() && o.issuer == p.issuer)) {
            return Err(format!("{at}: name or issuer given twice"));
        }
        let claim_to_headers = p
            .claim_to_headers
            .iter()
            .map(|c| {
                Ok(ClaimToHeader {
                    header_name: header_name(&c.header_name, &format!("{at}.claim_to_headers"))?,
                    claim_name: c.claim_name.clone(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let provider = parse_provider(p, claim_to_headers).map_err(|e| format!("{at}.{e}"))?;
        providers.push(provider);
    }
    Ok(JwtSettings {
        from_headers,
        from_params: config.from_params,
        providers,
        verified: VerifiedTokens::new(config.verified_cache_size),
    })
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
