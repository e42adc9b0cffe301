//! Configurations shared by the unit tests.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::credential::RequestView;
use crate::settings::Settings;

/// Every method: API keys (header `x-api-key`, query `api_key`), Basic, and one JWT provider
/// with the test JWKS inline.
pub fn full() -> Value {
    json!({
        "realm": "weir-test",
        "api_key": {"header": "x-api-key", "query": "api_key"},
        "consumers": [
            {"name": "alice", "api_keys": ["key-alice"], "basic": {"username": "alice", "password": "wonderland"}, "scopes": ["read"]},
            {"name": "bob", "api_key_sha256": ["2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"]}
        ],
        "jwt": {
            "from_params": ["access_token"],
            "providers": [{
                "name": "test",
                "issuer": "https://issuer.test",
                "audiences": ["weir"],
                "local_jwks": crate::sign::JWKS,
                "claim_to_headers": [{"header_name": "x-jwt-sub", "claim_name": "sub"}, {"header_name": "x-jwt-tenant", "claim_name": "org.tenant"}]
            }]
        }
    })
}

/// `base` with top-level fields replaced.
pub fn with(base: Value, over: Value) -> Value {
    let mut base = base;
    for (k, v) in over.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

/// Checked settings from JSON.
pub fn settings(config: &Value) -> Settings {
    Settings::parse(config.to_string().as_bytes()).unwrap()
}

/// The error for a configuration.
pub fn error(config: &Value) -> String {
    Settings::parse(config.to_string().as_bytes()).unwrap_err()
}

/// A GET for `path` on `example.com:8080` with headers.
pub fn request(path: &str, headers: &[(&str, &str)]) -> RequestView {
    request_with("GET", path, headers)
}

/// A request with a method.
pub fn request_with(method: &str, path: &str, headers: &[(&str, &str)]) -> RequestView {
    let mut pairs = vec![
        (":method".to_string(), method.as_bytes().to_vec()),
        (":path".to_string(), path.as_bytes().to_vec()),
        (":authority".to_string(), b"example.com:8080".to_vec()),
    ];
    pairs.extend(headers.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())));
    RequestView::new(pairs)
}
