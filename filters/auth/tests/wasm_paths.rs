//! The built filter in weir: every spelling of `/admin` gets the admin rule, none bypasses as
//! `/public/*`, and a repeated credential header is refused. The filter holds whether or not
//! the host normalizes paths first (the `auth-path-matrix` conformance cases pin both, in
//! Envoy and weir).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/filter.rs"]
mod filter;

use filter::start;
use serde_json::json;
use weir_testing::TestResponse;

/// Every spelling of `/admin` some server serves as `/admin` (issue 19).
const ADMIN: &[&str] = &[
    "/admin",
    "//admin",
    "/./admin",
    "/%61dmin",
    "/x/../admin",
    "/public/../admin",
    "/x/..;/admin",
    "/x/%252e%252e/admin",
    "/x%2f..%2fadmin",
    "/admin;jsessionid=1",
];

fn config() -> serde_json::Value {
    json!({
        "api_key": {"header": "x-api-key"},
        "consumers": [
            {"name": "alice", "api_keys": ["key-alice"]},
            {"name": "bob", "api_keys": ["key-bob"]}
        ],
        "policy": {"bypass_paths": ["/public/*"]},
        "rules": [{"match": {"path_prefix": "/admin"}, "config": {"policy": {"consumers": ["alice"]}}}]
    })
}

/// `GET path`; a host that redirects the spelling before any filter runs (weir's default for
/// escaped slashes) must send it to `/admin` without forwarding it.
fn get_or_redirected(h: &weir_testing::Harness, path: &str, key: Option<&str>) -> Option<TestResponse> {
    let headers: Vec<(&str, &str)> = key.map(|k| ("x-api-key", k)).into_iter().collect();
    let r = h.get(path, &headers).unwrap();
    if (300..400).contains(&r.status) {
        assert_eq!(r.header("location"), Some("/admin"), "{path}");
        assert!(r.upstream.is_none(), "{path}");
        return None;
    }
    Some(r)
}

#[test]
fn every_spelling_of_admin_is_judged_as_admin() {
    let h = start(&config());
    for path in ADMIN {
        if let Some(r) = get_or_redirected(&h, path, Some("key-bob")) {
            assert_eq!((r.status, r.text().as_str()), (403, "Access denied"), "bob on {path}");
            assert!(r.upstream.is_none());
        }
        if let Some(r) = get_or_redirected(&h, path, Some("key-alice")) {
            assert_eq!(r.status, 200, "alice on {path}: {}", r.text());
            assert_eq!(r.upstream.unwrap().header("x-auth-consumer"), Some("alice"));
        }
        if let Some(r) = get_or_redirected(&h, path, None) {
            assert_eq!(r.status, 401, "nobody on {path}: bypassed as /public/*?");
        }
    }
    assert_eq!(h.get("/orders", &[("x-api-key", "key-bob")]).unwrap().status, 200);
    let r = h.get("/public/logo.png", &[]).unwrap();
    assert_eq!((r.status, r.upstream.unwrap().path.as_str()), (200, "/public/logo.png"));
}

#[test]
fn a_repeated_credential_header_is_refused() {
    let h = start(&config());
    let r = h.get("/orders", &[("x-api-key", "key-alice"), ("x-api-key", "key-bob")]).unwrap();
    assert_eq!((r.status, r.text().as_str()), (401, "Credential is repeated"));
    assert!(r.upstream.is_none());
    // Forbidden on /admin with the first value: the repeat is still what is answered.
    let r = h.get("/admin", &[("x-api-key", "key-bob"), ("x-api-key", "key-alice")]).unwrap();
    assert_eq!((r.status, r.text().as_str()), (401, "Credential is repeated"));
    // Refused anyway (an empty first value reads as no key): that refusal stands.
    let r = h.get("/orders", &[("x-api-key", ""), ("x-api-key", "key-bob")]).unwrap();
    assert_eq!((r.status, r.text().as_str()), (401, "Credentials are missing"));
    let r = h.get("/orders", &[("x-api-key", "key-alice"), ("accept", "a"), ("accept", "b")]).unwrap();
    assert_eq!(r.status, 200);
}
