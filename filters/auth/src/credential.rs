//! Finding the credential a request presents, in a fixed order: a JWT (`jwt.from_headers`,
//! then `jwt.from_params`), then HTTP Basic, then an API key (header, then query). The first
//! one present decides; a failing credential is not rescued by another one.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::rc::Rc;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use percent_encoding::percent_decode_str;
use weir_sdk::Status;

use crate::config::{Method, Policy};
use crate::settings::Settings;

/// Standard base64 as in Basic credentials (padding tolerated).
const BASIC_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The request as the filter sees it: method, path, authority and headers (names lower-case).
/// Read from the host on demand: judging a request needs a few headers (the credential's), so
/// the whole map is copied into the VM only for a request about to be let through, to check
/// that no credential is repeated ([`RequestView::repeated`]); later lookups use that copy.
#[derive(Debug, Default)]
pub struct RequestView {
    /// Every header, once known: given (tests, native use), or read from the host.
    pairs: OnceCell<Vec<(String, Vec<u8>)>>,
    /// The headers are the effective context's request headers.
    from_host: bool,
    method: OnceCell<String>,
    path: OnceCell<String>,
    authority: OnceCell<String>,
    readings: OnceCell<Vec<String>>,
}

impl RequestView {
    /// From header pairs (pseudo-headers included).
    pub fn new(pairs: Vec<(String, Vec<u8>)>) -> RequestView {
        let mut headers = pairs;
        for (name, _) in &mut headers {
            name.make_ascii_lowercase();
        }
        RequestView { pairs: OnceCell::from(headers), ..RequestView::default() }
    }

    /// The request headers of the effective context, read when first needed.
    pub fn from_host() -> RequestView {
        RequestView { from_host: true, ..RequestView::default() }
    }

    /// First value of a header (`name` lower-case). A header the host cannot give is absent.
    pub fn header(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        if let Some(pairs) = self.pairs.get() {
            return pairs.iter().find(|(k, _)| k == name).map(|(_, v)| Cow::Borrowed(v.as_slice()));
        }
        if !self.from_host {
            return None;
        }
        match weir_sdk::host::header(weir_sdk::MapType::HttpRequestHeaders, name) {
            Ok(value) => value.map(|v| Cow::Owned(v.0)),
            Err(status) => {
                log::warn!("auth: cannot read request header {name}: {status:?}");
                None
            }
        }
    }

    /// Every header, in order (read from the host on the first call).
    fn all(&self) -> Result<&[(String, Vec<u8>)], Status> {
        if let Some(pairs) = self.pairs.get() {
            return Ok(pairs);
        }
        let mut pairs: Vec<(String, Vec<u8>)> =
            weir_sdk::host::headers(weir_sdk::MapType::HttpRequestHeaders)?
                .into_iter()
                .map(|(name, value)| (name, value.0))
                .collect();
        for (name, _) in &mut pairs {
            name.make_ascii_lowercase();
        }
        Ok(self.pairs.get_or_init(|| pairs))
    }

    /// The first of `headers` (lower-case) the request carries more than once, else the first
    /// of `params` its query gives more than once: the filter would check one value while the
    /// upstream may read another. Reads the whole header map (one hostcall and a copy): the
    /// first-value lookup cannot tell, as the host gives the first value only, and an empty
    /// one as absent.
    pub fn repeated(&self, headers: &[Rc<str>], params: &[Rc<str>]) -> Result<Option<Rc<str>>, Status> {
        if !headers.is_empty() {
            let all = self.all()?;
            if let Some(name) = headers.iter().find(|h| all.iter().filter(|(k, _)| k == &***h).count() > 1) {
                return Ok(Some(name.clone()));
            }
        }
        if params.is_empty() {
            return Ok(None);
        }
        let Some((_, query)) = self.path().split_once('?') else { return Ok(None) };
        let repeated = params
            .iter()
            .find(|p| query.split('&').filter(|pair| decoded_key(pair) == p.as_bytes()).nth(1).is_some());
        Ok(repeated.cloned())
    }

    fn text<'a>(&self, cell: &'a OnceCell<String>, name: &str) -> &'a str {
        cell.get_or_init(|| self.header(name).map(|v| weir_sdk::host::text(&v)).unwrap_or_default())
    }

    /// `:method`.
    pub fn method(&self) -> &str {
        self.text(&self.method, ":method")
    }

    /// `:path`, with the query.
    pub fn path(&self) -> &str {
        self.text(&self.path, ":path")
    }

    /// `:authority`.
    pub fn authority(&self) -> &str {
        self.text(&self.authority, ":authority")
    }

    /// The readings of the path a policy must hold for ([`weir_path::views`]: normalized,
    /// then decoded as leniently as any server would; never the query).
    pub fn readings(&self) -> &[String] {
        self.readings.get_or_init(|| weir_path::views(self.path()))
    }

    /// First value of a query parameter, percent-decoded (`+` stays `+`, as in Envoy).
    pub fn query_param(&self, name: &str) -> Option<Vec<u8>> {
        let (_, query) = self.path().split_once('?')?;
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode_str(k).collect::<Vec<u8>>() == name.as_bytes())
                .then(|| percent_decode_str(v).collect())
        })
    }
}

/// The percent-decoded name of a query `pair` (`name=value` or `name`).
fn decoded_key(pair: &str) -> Vec<u8> {
    percent_decode_str(pair.split_once('=').map_or(pair, |(k, _)| k)).collect()
}

/// Where a credential was found (to remove it before forwarding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A request header.
    Header(Rc<str>),
    /// A query parameter.
    Query(Rc<str>),
}

/// A credential as presented, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A token (prefix removed), as presented: checked as text only when it is not a token
    /// verified before.
    Jwt(Vec<u8>),
    /// Basic username and password.
    Basic(Vec<u8>, Vec<u8>),
    /// `Authorization: Basic` that does not decode to `user:password`.
    BasicMalformed,
    /// An API key.
    ApiKey(Vec<u8>),
    /// Longer than `max_credential_bytes`.
    TooLong,
}

/// The credential found, its method and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    /// Its method.
    pub method: Method,
    /// The credential.
    pub credential: Credential,
    /// Where it was.
    pub location: Location,
}

/// The credential the request presents among the methods `policy` accepts, if any.
pub fn extract(request: &RequestView, settings: &Settings, policy: &Policy) -> Option<Presented> {
    let max = settings.max_credential_bytes;
    let usable = |m: Method| settings.configured(m) && policy.accepts(m);
    let found = |method, credential, location| Some(Presented { method, credential, location });
    if let Some(jwt) = settings.jwt.as_ref().filter(|_| usable(Method::Jwt)) {
        for location in &jwt.from_headers {
            let Some(value) = request.header(&location.name) else { continue };
            let Some(token) = strip_prefix(&value, &location.value_prefix) else { continue };
            let token = token.trim_ascii();
            if token.is_empty() {
                continue;
            }
            let credential =
                if token.len() > max { Credential::TooLong } else { Credential::Jwt(token.to_vec()) };
            return found(Method::Jwt, credential, Location::Header(location.name.clone()));
        }
        for param in &jwt.from_params {
            let Some(token) = request.query_param(param).filter(|t| !t.is_empty()) else { continue };
            let credential = if token.len() > max { Credential::TooLong } else { Credential::Jwt(token) };
            return found(Method::Jwt, credential, Location::Query(param.clone()));
        }
    }
    if usable(Method::Basic)
        && let Some(value) = request.header("authorization")
        && let Some(encoded) = strip_scheme(&value, b"basic")
    {
        let credential = if encoded.len() > max { Credential::TooLong } else { basic(encoded) };
        return found(Method::Basic, credential, Location::Header("authorization".into()));
    }
    if let Some(source) = settings.api_key.as_ref().filter(|_| usable(Method::ApiKey)) {
        let from_header = source
            .header
            .as_ref()
            .and_then(|h| Some((request.header(h)?.to_vec(), Location::Header(h.clone()))));
        let from_query = || {
            source.query.as_ref().and_then(|q| Some((request.query_param(q)?, Location::Query(q.clone()))))
        };
        if let Some((key, location)) =
            from_header.filter(|(k, _)| !k.is_empty()).or_else(|| from_query().filter(|(k, _)| !k.is_empty()))
        {
            let credential = if key.len() > max { Credential::TooLong } else { Credential::ApiKey(key) };
            return found(Method::ApiKey, credential, location);
        }
    }
    None
}

/// `value` without `prefix` (compared case-insensitively), or `None` when it lacks it.
fn strip_prefix<'a>(value: &'a [u8], prefix: &str) -> Option<&'a [u8]> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix.as_bytes()).then(|| &value[prefix.len()..])
}

/// The parameter of an `Authorization` value with this scheme (`Basic xyz` → `xyz`).
fn strip_scheme<'a>(value: &'a [u8], scheme: &[u8]) -> Option<&'a [u8]> {
    let value = value.trim_ascii();
    let (name, rest) = value.split_at(value.iter().position(|b| *b == b' ').unwrap_or(value.len()));
    name.eq_ignore_ascii_case(scheme).then(|| rest.trim_ascii())
}

fn basic(encoded: &[u8]) -> Credential {
    let Ok(decoded) = BASIC_B64.decode(encoded) else { return Credential::BasicMalformed };
    match decoded.iter().position(|b| *b == b':') {
        Some(i) => Credential::Basic(decoded[..i].to_vec(), decoded[i + 1..].to_vec()),
        None => Credential::BasicMalformed,
    }
}

/// `path` without the query parameter `name` (every occurrence); the `?` goes when nothing
/// is left. Other parameters keep their exact text and order.
pub fn strip_query_param(path: &str, name: &str) -> String {
    let Some((base, query)) = path.split_once('?') else { return path.to_string() };
    let kept: Vec<&str> = query.split('&').filter(|pair| decoded_key(pair) != name.as_bytes()).collect();
    if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) }
}

#[cfg(test)]
#[path = "credential_tests.rs"]
mod tests;
