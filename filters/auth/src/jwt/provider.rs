//! A JWT provider, checked: its keys (inline or remote), accepted algorithms and claims
//! policy, and the choice of provider for a token.

use std::rc::Rc;
use std::time::Duration;

use crate::jwt::JwtError;
use crate::jwt::claims::{self, Claims};
use crate::jwt::config::{ClaimToHeader, ProviderConfig, RemoteJwksConfig};
use crate::jwt::jwks::{self, Alg, KeySet};

/// Where a provider's keys come from.
#[derive(Debug, Clone)]
pub enum Keys {
    /// Inline JWKS, parsed at configuration.
    Local(Rc<KeySet>),
    /// Fetched by callout.
    Remote(Remote),
}

/// A remote JWKS source, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// Cluster called.
    pub cluster: String,
    /// `:scheme` of the call, from the URI: `https` asks the host for the cluster's TLS (weir
    /// refuses the call when the cluster has none; Envoy uses whatever the cluster does).
    pub scheme: &'static str,
    /// `:authority` of the call.
    pub authority: String,
    /// `:path` of the call.
    pub path: String,
    /// Call timeout.
    pub timeout: Duration,
    /// Refresh period after a success, in ms.
    pub cache_duration_ms: u64,
    /// Retry period after a failure, in ms.
    pub failed_refetch_ms: u64,
    /// Most requests waiting for the first fetch.
    pub max_pending: usize,
    /// Extra call headers.
    pub headers: Vec<(String, String)>,
}

/// One issuer, ready for requests.
#[derive(Debug)]
pub struct Provider {
    /// Name for logs.
    pub name: String,
    /// Expected `iss` (any when `None`).
    pub issuer: Option<String>,
    /// Accepted audiences (empty: not checked).
    pub audiences: Vec<String>,
    /// Accepted algorithms.
    pub algorithms: Vec<Alg>,
    /// Keys.
    pub keys: Keys,
    /// Leeway for `exp`/`nbf`, seconds.
    pub skew: u64,
    /// Reject tokens without `exp`.
    pub require_exp: bool,
    /// Claim naming the consumer.
    pub consumer_claim: String,
    /// Claims copied to headers (lower-case names).
    pub claim_to_headers: Vec<ClaimToHeader>,
    /// Header receiving the payload.
    pub payload_header: Option<String>,
}

/// Checks one provider's configuration; errors start with the field name.
pub fn parse_provider(p: ProviderConfig, claim_to_headers: Vec<ClaimToHeader>) -> Result<Provider, String> {
    if p.name.is_empty() {
        return Err("name: must not be empty".into());
    }
    let algorithms = algorithms(&p.algorithms).map_err(|e| format!("algorithms: {e}"))?;
    let keys = match (&p.local_jwks, p.remote_jwks) {
        (Some(inline), None) => {
            Keys::Local(Rc::new(local_jwks(inline).map_err(|e| format!("local_jwks: {e}"))?))
        }
        (None, Some(remote)) => Keys::Remote(remote_source(remote).map_err(|e| format!("remote_jwks.{e}"))?),
        _ => return Err("give exactly one of `local_jwks`, `remote_jwks`".into()),
    };
    if let Keys::Local(set) = &keys
        && !set.keys.iter().any(|k| algorithms.contains(&k.alg))
    {
        return Err("local_jwks: no key for any accepted algorithm".into());
    }
    let payload_header = match p.forward_payload_header.as_deref() {
        None | Some("") => None,
        Some(name) if name.bytes().all(|b| b.is_ascii_graphic() && b != b':') => {
            Some(name.to_ascii_lowercase())
        }
        Some(name) => return Err(format!("forward_payload_header: `{name}` is not a header name")),
    };
    if p.consumer_claim.is_empty() {
        return Err("consumer_claim: must not be empty".into());
    }
    Ok(Provider {
        name: p.name,
        issuer: p.issuer,
        audiences: p.audiences,
        algorithms,
        keys,
        skew: p.clock_skew_seconds,
        require_exp: p.require_expiration,
        consumer_claim: p.consumer_claim,
        claim_to_headers,
        payload_header,
    })
}

/// Splits `http(s)://authority/path` into the call's authority and path.
fn remote_source(r: RemoteJwksConfig) -> Result<Remote, String> {
    if r.cluster.is_empty() {
        return Err("cluster: must not be empty".into());
    }
    let (scheme, rest) = match (r.uri.strip_prefix("https://"), r.uri.strip_prefix("http://")) {
        (Some(rest), _) => ("https", rest),
        (None, Some(rest)) => ("http", rest),
        (None, None) => return Err(format!("uri: `{}` must start with http:// or https://", r.uri)),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(format!("uri: `{}` has no host", r.uri));
    }
    if r.timeout_ms == 0 || r.cache_duration_seconds == 0 || r.failed_refetch_ms == 0 {
        return Err("timeout_ms, cache_duration_seconds and failed_refetch_ms must be positive".into());
    }
    Ok(Remote {
        cluster: r.cluster,
        scheme,
        authority: authority.to_string(),
        path: path.to_string(),
        timeout: Duration::from_millis(r.timeout_ms),
        cache_duration_ms: r.cache_duration_seconds.saturating_mul(1000),
        failed_refetch_ms: r.failed_refetch_ms,
        max_pending: r.max_pending_requests,
        headers: r.headers,
    })
}

/// Parses algorithm names (empty: all).
pub fn algorithms(names: &[String]) -> Result<Vec<Alg>, String> {
    if names.is_empty() {
        return Ok(Alg::ALL.to_vec());
    }
    names
        .iter()
        .map(|n| {
            Alg::parse(n).ok_or_else(|| format!("unknown algorithm `{n}` (supported: HS256, RS256, ES256)"))
        })
        .collect()
}

/// Parses an inline JWKS given as an object or as a string holding one.
pub fn local_jwks(value: &serde_json::Value) -> Result<KeySet, String> {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    jwks::parse(text.as_bytes(), true).map(|(set, _)| set)
}

/// The provider for a token: the one whose `issuer` equals the token's `iss`, else one
/// without `issuer`. Envoy answers "Jwt issuer is not configured" when none fits.
pub fn select(providers: &[Provider], claims: &Claims) -> Result<usize, JwtError> {
    let iss = claims::issuer(claims);
    providers
        .iter()
        .position(|p| p.issuer.is_some() && p.issuer.as_deref() == iss)
        .or_else(|| providers.iter().position(|p| p.issuer.is_none()))
        .ok_or(JwtError::UnknownIssuer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(extra: serde_json::Value) -> ProviderConfig {
        let mut base =
            json!({"name": "p", "remote_jwks": {"cluster": "idp", "uri": "https://idp.example.com/keys"}});
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn remote_uri_split() {
        let p = parse_provider(config(json!({})), vec![]).unwrap();
        let Keys::Remote(r) = p.keys else { panic!("remote") };
        assert_eq!((r.scheme, r.authority.as_str(), r.path.as_str()), ("https", "idp.example.com", "/keys"));
        assert_eq!(r.timeout, Duration::from_secs(5));
        let bad = config(json!({"remote_jwks": {"cluster": "idp", "uri": "idp/keys"}}));
        assert!(parse_provider(bad, vec![]).unwrap_err().starts_with("remote_jwks.uri"));
    }

    #[test]
    fn bad_provider_configs() {
        let both = config(json!({"local_jwks": {"keys": []}}));
        assert!(parse_provider(both, vec![]).unwrap_err().contains("exactly one"));
        let alg = config(json!({"algorithms": ["RS256", "PS256"]}));
        assert!(parse_provider(alg, vec![]).unwrap_err().contains("unknown algorithm `PS256`"));
        let jwks = include_str!("../../tests/keys/jwks.json");
        let local = json!({"name": "p", "local_jwks": jwks, "algorithms": ["RS256"]});
        assert!(parse_provider(serde_json::from_value(local).unwrap(), vec![]).is_ok());
        let malformed = json!({"name": "p", "local_jwks": "{\"keys\": [{\"kty\": \"RSA\"}]}"});
        let err = parse_provider(serde_json::from_value(malformed).unwrap(), vec![]).unwrap_err();
        assert!(err.starts_with("local_jwks: keys[0]"), "{err}");
    }

    #[test]
    fn provider_by_issuer() {
        let mut a = parse_provider(config(json!({"issuer": "a"})), vec![]).unwrap();
        let b = parse_provider(config(json!({"issuer": "b"})), vec![]).unwrap();
        let claims = |iss: &str| json!({"iss": iss}).as_object().cloned().unwrap();
        let list = vec![a, b];
        assert_eq!(select(&list, &claims("b")), Ok(1));
        assert_eq!(select(&list, &claims("c")), Err(JwtError::UnknownIssuer));
        a = parse_provider(config(json!({})), vec![]).unwrap();
        let list = vec![list.into_iter().nth(1).unwrap(), a];
        assert_eq!(select(&list, &claims("c")), Ok(1));
        assert_eq!(select(&list, &claims("b")), Ok(0));
    }
}
