//! The built filter in weir: API keys, Basic, inline-JWKS tokens, routes, bad configuration.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/filter.rs"]
mod filter;
#[path = "support/sign.rs"]
mod sign;

use filter::{challenges, now, provider, start};
use serde_json::json;
use weir_testing::Harness;

fn config() -> serde_json::Value {
    json!({
        "api_key": {"header": "x-api-key", "query": "api_key"},
        "consumers": [
            {"name": "alice", "api_keys": ["key-alice"], "basic": {"username": "alice", "password": "wonderland"}},
            {"name": "bob", "api_keys": ["key-bob"]}
        ],
        "jwt": {"providers": [provider(json!({"local_jwks": sign::JWKS}))]},
        "policy": {"bypass_paths": ["/healthz"]},
        "rules": [{"match": {"path_prefix": "/admin"}, "config": {"policy": {"consumers": ["alice"]}}}]
    })
}

#[test]
fn api_keys_identify_consumers_and_are_hidden() {
    let h = start(&config());
    let r = h.get("/orders", &[("x-api-key", "key-alice"), ("x-auth-consumer", "forged")]).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let up = r.upstream.unwrap();
    assert_eq!(up.header("x-auth-consumer"), Some("alice"));
    assert_eq!(up.header("x-api-key"), None);
    let r = h.get("/orders?a=1&api_key=key-bob&b=2", &[]).unwrap();
    let up = r.upstream.unwrap();
    assert_eq!((up.path.as_str(), up.header("x-auth-consumer")), ("/orders?a=1&b=2", Some("bob")));
    let r = h.get("/orders", &[("x-api-key", "key-carol")]).unwrap();
    assert_eq!((r.status, r.text().as_str()), (401, "Invalid API key"));
    assert_eq!(challenges(&r), ["ApiKey realm=\"example.com\""]);
    assert!(r.upstream.is_none());
}

#[test]
fn missing_and_basic() {
    let h = start(&config());
    let r = h.get("/orders", &[("x-auth-consumer", "forged")]).unwrap();
    assert_eq!((r.status, r.text().as_str()), (401, "Credentials are missing"));
    assert_eq!(
        challenges(&r),
        ["Bearer realm=\"example.com\"", "Basic realm=\"example.com\"", "ApiKey realm=\"example.com\""]
    );
    let r = h.get("/orders", &[("authorization", "Basic YWxpY2U6d29uZGVybGFuZA==")]).unwrap();
    let up = r.upstream.unwrap();
    assert_eq!((up.header("x-auth-consumer"), up.header("authorization")), (Some("alice"), None));
    let r = h.get("/orders", &[("authorization", "Basic YWxpY2U6bm9wZQ==")]).unwrap();
    assert_eq!((r.status, challenges(&r)), (401, vec!["Basic realm=\"example.com\""]));
    let r = h.get("/healthz", &[("x-auth-consumer", "forged")]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.upstream.unwrap().header("x-auth-consumer"), None);
}

#[test]
fn tokens() {
    let h = start(&config());
    let bearer = |t: &str| format!("Bearer {t}");
    let t = now();
    for token in
        [sign::rs256(&sign::claims("u-1", t - 5, t + 600)), sign::es256(&sign::claims("u-1", t - 5, t + 600))]
    {
        let r = h.get("/orders", &[("authorization", &bearer(&token))]).unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let up = r.upstream.unwrap();
        assert_eq!(
            (up.header("x-jwt-sub"), up.header("x-auth-consumer"), up.header("authorization")),
            (Some("u-1"), Some("u-1"), None)
        );
    }
    let expired = sign::hs256(&sign::claims("u-1", t - 7200, t - 3600));
    let r = h.get("/orders", &[("authorization", &bearer(&expired))]).unwrap();
    assert_eq!((r.status, r.text().as_str()), (401, "Jwt is expired"));
    assert_eq!(challenges(&r), ["Bearer realm=\"example.com\", error=\"invalid_token\""]);
    let mut wrong_aud = sign::claims("u-1", t - 5, t + 600);
    wrong_aud["aud"] = json!("elsewhere");
    let r = h.get("/orders", &[("authorization", &bearer(&sign::rs256(&wrong_aud)))]).unwrap();
    assert_eq!((r.status, r.text().as_str()), (403, "Audiences in Jwt are not allowed"));
    let huge = "a".repeat(9000);
    let r = h.get("/orders", &[("authorization", &bearer(&huge))]).unwrap();
    assert_eq!((r.status, r.text().as_str()), (401, "Jwt is too long"));
}

#[test]
fn routes_allow_listed_consumers_only() {
    let h = start(&config());
    assert_eq!(h.get("/admin/x", &[("x-api-key", "key-alice")]).unwrap().status, 200);
    let r = h.get("/admin/x", &[("x-api-key", "key-bob")]).unwrap();
    assert_eq!((r.status, r.text().as_str()), (403, "Access denied"));
    assert!(challenges(&r).is_empty());
    assert_eq!(h.get("/other", &[("x-api-key", "key-bob")]).unwrap().status, 200);
}

#[test]
fn bad_configurations_are_refused() {
    let bad = [
        json!({"jwt": {"providers": [provider(json!({"local_jwks": "{\"keys\": [{\"kty\": \"RSA\", \"n\": \"xx\"}]}"}))]}}),
        json!({"jwt": {"providers": [provider(json!({"local_jwks": sign::JWKS, "algorithms": ["none"]}))]}}),
        json!({"api_key": {"header": "x-api-key"}, "consumers": [{"name": "a", "api_keys": ["k"]}], "typo": 1}),
    ];
    for config in bad {
        let started = Harness::builder(filter::wasm()).configuration(&config.to_string()).start();
        assert!(started.is_err(), "{config} should be refused");
    }
}
