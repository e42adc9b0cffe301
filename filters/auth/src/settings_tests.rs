use serde_json::json;

use super::*;
use crate::test_config::{error, full, settings, with};

#[test]
fn the_full_config_is_accepted() {
    let s = settings(&full());
    assert!(s.configured(Method::ApiKey) && s.configured(Method::Basic) && s.configured(Method::Jwt));
    assert_eq!(s.identity_headers, ["x-auth-consumer", "x-jwt-sub", "x-jwt-tenant"]);
    assert!(!s.has_remote_jwks());
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (json!({}), "nothing to authenticate with"),
        (json!({"colour": 1}), "unknown field `colour`"),
        (with(full(), json!({"api_key": {}})), "api_key: give `header`, `query` or both"),
        (json!({"api_key": {"header": "x-k"}}), "no consumer has an API key"),
        (
            json!({"consumers": [{"name": "a", "api_keys": ["k"]}]}),
            "`api_key` (where to read them) is not configured",
        ),
        (
            with(full(), json!({"consumers": [{"name": "a", "api_keys": ["k"]}, {"name": "a"}]})),
            "consumers[1].name",
        ),
        (
            with(
                full(),
                json!({"consumers": [{"name": "a", "api_keys": ["k"]}, {"name": "b", "api_keys": ["k"]}]}),
            ),
            "given twice (also for consumer `a`)",
        ),
        (
            with(
                full(),
                json!({"consumers": [{"name": "a", "api_keys": ["k"], "basic": {"username": "u"}}]}),
            ),
            "consumers[0].basic: give exactly one",
        ),
        (
            with(full(), json!({"consumers": [{"name": "a", "api_key_sha256": ["xyz"]}]})),
            "consumers[0].api_key_sha256",
        ),
        (with(full(), json!({"realm": "a\"b"})), "realm"),
        (with(full(), json!({"consumer_header": "bad header"})), "consumer_header"),
        (
            with(full(), json!({"consumer_header": "Authorization"})),
            "`authorization` is both a header this filter sets for the upstream",
        ),
        (with(full(), json!({"policy": {"methods": ["jwt"], "colour": 1}})), "unknown field `colour`"),
        (json!({"jwt": {"providers": []}}), "jwt.providers: at least one"),
        (
            json!({"jwt": {"providers": [{"name": "p", "local_jwks": "{\"keys\": [{\"kty\": \"EC\"}]}"}]}}),
            "jwt.providers[0].local_jwks: keys[0]",
        ),
        (
            json!({"jwt": {"providers": [{"name": "p", "local_jwks": "not json"}]}}),
            "jwt.providers[0].local_jwks: not a JWKS",
        ),
        (
            json!({"jwt": {"providers": [{"name": "p", "algorithms": ["HS384"], "local_jwks": crate::sign::JWKS}]}}),
            "unknown algorithm `HS384`",
        ),
        (
            json!({"jwt": {"providers": [{"name": "p", "algorithms": ["ES256"], "local_jwks": {"keys": [{"kty": "oct", "k": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE"}]}}]}}),
            "no key for any accepted algorithm",
        ),
        (
            json!({"jwt": {"providers": [{"name": "a", "local_jwks": crate::sign::JWKS}, {"name": "b", "issuer": "x", "local_jwks": crate::sign::JWKS}]}}),
            "providers[0].issuer: required",
        ),
        (
            json!({"jwt": {"providers": [{"name": "a", "local_jwks": crate::sign::JWKS}], "from_headers": []}}),
            "tokens could not be found",
        ),
        (
            json!({"jwt": {"providers": [{"name": "a", "local_jwks": crate::sign::JWKS}]}, "policy": {"methods": ["basic"]}}),
            "policy.methods: `basic` is not configured",
        ),
        (
            with(full(), json!({"rules": [{"match": {"path_prefix": "/a"}, "config": {"realm": "x"}}]})),
            "rules[0].config: `realm` cannot be set per route",
        ),
        (
            with(
                full(),
                json!({"rules": [{"match": {"path_prefix": "/a"}, "config": {"policy": {"methods": ["nope"]}}}]}),
            ),
            "rules[0].config: unknown variant `nope`",
        ),
        (with(full(), json!({"rules": [{"when": {}}]})), "rules[0]: unknown field `when`"),
        (with(full(), json!({"rules": [{"match": {"host": "a"}}]})), "rules[0].match"),
    ];
    for (config, want) in cases {
        let err = error(&config);
        assert!(err.contains(want), "{config}: {err:?} lacks {want:?}");
    }
}

#[test]
fn rules_override_the_policy() {
    let config = with(
        full(),
        json!({
            "policy": {"bypass_paths": ["/healthz"], "scopes": ["read"]},
            "rules": [{"match": {"path_prefix": "/admin"}, "config": {"policy": {"consumers": ["alice"]}}}]
        }),
    );
    let s = settings(&config);
    let key = |path: &str| weir_sdk::rules::RequestKey {
        route: "r".into(),
        authority: "a".into(),
        path: path.into(),
    };
    let admin = &s.rules.select(&key("/admin/x")).policy;
    assert_eq!(
        (admin.consumers.as_slice(), admin.scopes.as_slice()),
        (&["alice".to_string()][..], &["read".to_string()][..])
    );
    assert_eq!(admin.bypass_paths, ["/healthz"]);
    assert!(s.rules.select(&key("/other")).policy.consumers.is_empty());
}

#[test]
fn header_names_are_lower_cased() {
    let config = with(full(), json!({"consumer_header": "X-Consumer", "api_key": {"header": "X-Api-Key"}}));
    let s = settings(&config);
    assert_eq!(s.consumer_header.as_deref(), Some("x-consumer"));
    assert_eq!(s.api_key.unwrap().header.as_deref(), Some("x-api-key"));
}
