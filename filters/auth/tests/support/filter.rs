//! Running the built `auth.wasm` in weir (in-process harness).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use weir_testing::{Harness, TestResponse};

/// `target/filters/auth.wasm`; fails with the command to build it.
pub fn wasm() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/filters/auth.wasm");
    if !path.exists() {
        panic!("{} is missing: run `cargo xtask build-filters` first", path.display());
    }
    path
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// weir with the auth filter configured with `config`.
pub fn start(config: &Value) -> Harness {
    Harness::builder(wasm()).configuration(&config.to_string()).start().expect("weir starts")
}

/// A JWT provider for the test issuer with the given key source.
pub fn provider(keys: Value) -> Value {
    let mut p = json!({
        "name": "test",
        "issuer": "https://issuer.test",
        "audiences": ["weir"],
        "claim_to_headers": [{"header_name": "x-jwt-sub", "claim_name": "sub"}]
    });
    for (k, v) in keys.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

/// Every `WWW-Authenticate` value of a response.
pub fn challenges(response: &TestResponse) -> Vec<&str> {
    response.headers.iter().filter(|(k, _)| k == "www-authenticate").map(|(_, v)| v.as_str()).collect()
}
