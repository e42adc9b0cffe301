//! The decision with real tokens (signed in the test with the keys in `tests/keys/`).

use serde_json::{Value, json};

use super::*;
use crate::sign::{self, claims};
use crate::test_config::{full, request, request_with, settings, with};

const NOW: u64 = 1_800_000_000;

fn no_remote(_: usize) -> Option<Rc<KeySet>> {
    None
}

fn decide_with(config: &Value, path: &str, headers: &[(&str, &str)]) -> Outcome {
    let s = settings(config);
    decide(&s, &s.rules.default_config().policy, &request(path, headers), NOW, &no_remote)
}

fn bearer(token: &str) -> Outcome {
    decide_with(&full(), "/", &[("authorization", &format!("Bearer {token}"))])
}

fn denied(outcome: Outcome) -> Denial {
    match outcome {
        Outcome::Deny(d) => d,
        other => panic!("expected a denial, got {other:?}"),
    }
}

fn allowed(outcome: Outcome) -> Grant {
    match outcome {
        Outcome::Allow(g) => g,
        other => panic!("expected an allow, got {other:?}"),
    }
}

fn jwt_denial(outcome: Outcome) -> (u32, String) {
    let d = denied(outcome);
    assert!(d.challenges.iter().all(|c| c.starts_with("Bearer realm=\"weir-test\"")), "{:?}", d.challenges);
    (d.status, d.body)
}

fn valid() -> Value {
    claims("user-1", NOW - 10, NOW + 3600)
}

#[test]
fn valid_tokens_of_each_algorithm() {
    for token in [sign::rs256(&valid()), sign::es256(&valid()), sign::hs256(&valid())] {
        let grant = allowed(bearer(&token));
        assert_eq!(grant.consumer.as_deref(), Some("user-1"));
        assert_eq!(grant.headers, [("x-jwt-sub".to_string(), "user-1".to_string())]);
        assert_eq!(grant.strip, Some(Location::Header("authorization".into())));
    }
}

#[test]
fn time_claims() {
    let expired = sign::rs256(&claims("u", NOW - 7200, NOW - 3600));
    assert_eq!(jwt_denial(bearer(&expired)), (401, "Jwt is expired".into()));
    let early = sign::es256(&claims("u", NOW + 3600, NOW + 7200));
    assert_eq!(jwt_denial(bearer(&early)), (401, "Jwt not yet valid".into()));
    // Within the default 60 s of clock skew on both sides.
    allowed(bearer(&sign::rs256(&claims("u", NOW + 50, NOW + 100))));
    allowed(bearer(&sign::rs256(&claims("u", NOW - 100, NOW - 50))));
    let mut no_exp = valid();
    no_exp.as_object_mut().unwrap().remove("exp");
    allowed(bearer(&sign::rs256(&no_exp)));
    let mut strict = full();
    strict["jwt"]["providers"][0]["require_expiration"] = json!(true);
    strict["jwt"]["providers"][0]["clock_skew_seconds"] = json!(0);
    let out = decide_with(&strict, "/", &[("authorization", &format!("Bearer {}", sign::rs256(&no_exp)))]);
    assert_eq!(jwt_denial(out).1, "Jwt has no expiration");
    let out = decide_with(
        &strict,
        "/",
        &[("authorization", &format!("Bearer {}", sign::rs256(&claims("u", NOW - 100, NOW - 50))))],
    );
    assert_eq!(jwt_denial(out).1, "Jwt is expired");
}

#[test]
fn issuer_and_audience() {
    let mut other_issuer = valid();
    other_issuer["iss"] = json!("https://evil.test");
    assert_eq!(jwt_denial(bearer(&sign::rs256(&other_issuer))), (401, "Jwt issuer is not configured".into()));
    let mut other_audience = valid();
    other_audience["aud"] = json!(["other", "more"]);
    assert_eq!(
        jwt_denial(bearer(&sign::rs256(&other_audience))),
        (403, "Audiences in Jwt are not allowed".into())
    );
    other_audience["aud"] = json!(["other", "weir"]);
    allowed(bearer(&sign::rs256(&other_audience)));
}

#[test]
fn bad_signatures() {
    let token = sign::rs256(&valid());
    let (head, sig) = token.rsplit_once('.').unwrap();
    let mut bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).unwrap();
    bytes[10] ^= 1;
    let flipped = format!("{head}.{}", sign::b64(&bytes));
    assert_eq!(jwt_denial(bearer(&flipped)), (401, "Jwt verification fails".into()));
    // Claims changed after signing.
    let mut forged = valid();
    forged["sub"] = json!("admin");
    let forged_payload = sign::b64(forged.to_string().as_bytes());
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    assert_eq!(jwt_denial(bearer(&tampered)).1, "Jwt verification fails");
    // Signed by a key that is not in the JWKS, under a kid that is.
    let header = json!({"alg": "RS256", "kid": "rsa-1"});
    let other = sign::token(&header, &valid(), |m| sign::rsa_sign(sign::RSA_OTHER_PEM, m));
    assert_eq!(jwt_denial(bearer(&other)).1, "Jwt verification fails");
    // A kid nobody has.
    let unknown =
        sign::token(&json!({"alg": "RS256", "kid": "nope"}), &valid(), |m| sign::rsa_sign(sign::RSA_PEM, m));
    assert_eq!(jwt_denial(bearer(&unknown)).1, "Jwks doesn't have key to match kid or alg from Jwt");
    // No kid: every RS256 key is tried.
    allowed(bearer(&sign::token(&json!({"alg": "RS256"}), &valid(), |m| sign::rsa_sign(sign::RSA_PEM, m))));
    // ES256 signature of the wrong length.
    let es = sign::es256(&valid());
    let short = format!("{}.{}", es.rsplit_once('.').unwrap().0, sign::b64(&[1u8; 63]));
    assert_eq!(jwt_denial(bearer(&short)).1, "Jwt verification fails");
}

#[test]
fn alg_none_and_algorithm_confusion() {
    let none = format!(
        "{}.{}.",
        sign::b64(br#"{"alg":"none","typ":"JWT"}"#),
        sign::b64(valid().to_string().as_bytes())
    );
    assert_eq!(jwt_denial(bearer(&none)).1, "Jwt header [alg] is not supported");
    let none_upper =
        format!("{}.{}.", sign::b64(br#"{"alg":"None"}"#), sign::b64(valid().to_string().as_bytes()));
    assert_eq!(jwt_denial(bearer(&none_upper)).1, "Jwt header [alg] is not supported");
    // The RSA public key (its modulus, or the whole JWKS text) used as an HMAC secret.
    for secret in [sign::rsa_public_modulus(), sign::JWKS.as_bytes().to_vec()] {
        let with_kid =
            sign::token(&json!({"alg": "HS256", "kid": "rsa-1"}), &valid(), |m| sign::hmac_sign(&secret, m));
        assert_eq!(jwt_denial(bearer(&with_kid)).1, "Jwks doesn't have key to match kid or alg from Jwt");
        let no_kid = sign::token(&json!({"alg": "HS256"}), &valid(), |m| sign::hmac_sign(&secret, m));
        assert_eq!(jwt_denial(bearer(&no_kid)).1, "Jwt verification fails");
    }
    // A provider that only takes RS256 refuses HS256 even with the right secret.
    let mut rs_only = full();
    rs_only["jwt"]["providers"][0]["algorithms"] = json!(["RS256"]);
    let hs = sign::hs256(&valid());
    let out = decide_with(&rs_only, "/", &[("authorization", &format!("Bearer {hs}"))]);
    assert_eq!(jwt_denial(out).1, "Jwt header [alg] is not supported");
}

#[test]
fn malformed_and_oversized_tokens() {
    assert_eq!(
        jwt_denial(bearer("not-a-token")).1,
        "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"
    );
    assert_eq!(
        jwt_denial(bearer("eyJhbGciOiJSUzI1NiJ9.e30.a+b/")).1,
        "Jwt signature is an invalid Base64url encoded"
    );
    assert_eq!(jwt_denial(bearer("e#J.e30.AAAA")).1, "Jwt header is an invalid Base64url encoded");
    assert_eq!(
        jwt_denial(bearer("eyJhbGciOiJSUzI1NiJ9.e30*.AAAA")).1,
        "Jwt payload is an invalid Base64url encoded"
    );
    let mut big = valid();
    big["padding"] = json!("x".repeat(9000));
    let (status, body) = jwt_denial(bearer(&sign::rs256(&big)));
    assert_eq!((status, body.as_str()), (401, "Jwt is too long"));
    let config = with(full(), json!({"max_credential_bytes": 16384}));
    let out = decide_with(&config, "/", &[("authorization", &format!("Bearer {}", sign::rs256(&big)))]);
    allowed(out);
}

#[test]
fn api_keys_and_basic() {
    let g = allowed(decide_with(&full(), "/", &[("x-api-key", "key-alice")]));
    assert_eq!((g.method, g.consumer.as_deref()), (Method::ApiKey, Some("alice")));
    let g = allowed(decide_with(&full(), "/?api_key=secret", &[]));
    assert_eq!((g.consumer.as_deref(), g.strip), (Some("bob"), Some(Location::Query("api_key".into()))));
    let d = denied(decide_with(&full(), "/", &[("x-api-key", "key-alicf")]));
    assert_eq!(
        (d.status, d.body.as_str(), d.challenges.as_slice()),
        (401, "Invalid API key", &["ApiKey realm=\"weir-test\"".to_string()][..])
    );
    let g = allowed(decide_with(&full(), "/", &[("authorization", "Basic YWxpY2U6d29uZGVybGFuZA==")]));
    assert_eq!((g.method, g.consumer.as_deref()), (Method::Basic, Some("alice")));
    let d = denied(decide_with(&full(), "/", &[("authorization", "Basic YWxpY2U6d29uZGVy")]));
    assert_eq!(
        (d.status, d.body.as_str(), d.challenges.as_slice()),
        (401, "Invalid username or password", &["Basic realm=\"weir-test\"".to_string()][..])
    );
    let d = denied(decide_with(&full(), "/", &[("authorization", "Basic bm9jb2xvbg==")]));
    assert_eq!(d.body, "Basic credentials are malformed");
    let forwarded = with(full(), json!({"forward_credentials": true}));
    assert_eq!(allowed(decide_with(&forwarded, "/", &[("x-api-key", "key-alice")])).strip, None);
}

#[test]
fn missing_credentials_challenge_every_method() {
    let d = denied(decide_with(&full(), "/", &[]));
    assert_eq!((d.status, d.body.as_str()), (401, "Credentials are missing"));
    assert_eq!(
        d.challenges,
        ["Bearer realm=\"weir-test\"", "Basic realm=\"weir-test\"", "ApiKey realm=\"weir-test\""]
    );
    let jwt_only = json!({"jwt": full()["jwt"].clone()});
    let d = denied(decide_with(&jwt_only, "/", &[]));
    assert_eq!(
        (d.body.as_str(), d.challenges.as_slice()),
        ("Jwt is missing", &["Bearer realm=\"example.com\"".to_string()][..])
    );
}

#[test]
fn route_policy() {
    let mut config = full();
    config["policy"] = json!({"consumers": ["alice", "user-1"], "scopes": ["read"]});
    allowed(decide_with(&config, "/", &[("x-api-key", "key-alice")]));
    let d = denied(decide_with(&config, "/", &[("x-api-key", "secret")]));
    assert_eq!((d.status, d.body.as_str(), d.challenges.len()), (403, "Access denied", 0));
    allowed(decide_with(&config, "/", &[("authorization", &format!("Bearer {}", sign::rs256(&valid())))]));
    config["policy"] = json!({"scopes": ["read", "admin"]});
    let d =
        denied(decide_with(&config, "/", &[("authorization", &format!("Bearer {}", sign::es256(&valid())))]));
    assert_eq!(d.challenges, ["Bearer realm=\"weir-test\", error=\"insufficient_scope\", scope=\"admin\""]);
    config["policy"] = json!({"consumers": ["alice"]});
    let mut no_sub = valid();
    no_sub.as_object_mut().unwrap().remove("sub");
    let d =
        denied(decide_with(&config, "/", &[("authorization", &format!("Bearer {}", sign::rs256(&no_sub)))]));
    assert_eq!(d.status, 403);
}

#[test]
fn bypass_and_anonymous() {
    let mut config = full();
    config["policy"] = json!({"bypass_paths": ["/healthz", "/public/*"], "bypass_cors_preflight": true});
    let bypass = |path: &str| matches!(decide_with(&config, path, &[]), Outcome::Bypass);
    assert!(bypass("/healthz") && bypass("/healthz?full=1") && bypass("/public/a/b"));
    assert!(!bypass("/healthz/x") && !bypass("/healthzz") && !bypass("/public"));
    // Listed only when every reading of the path is: some server serves these outside /public/.
    for path in ["/public/../admin", "/public/%2e%2e/admin", "/public/..;/admin", "/public/%252e%252e/admin"]
    {
        assert!(!bypass(path), "{path}");
    }
    // Every reading of these is under /public/ (an escaped slash or a backslash inside it).
    assert!(bypass("/public/a%2Fb") && bypass("/public/.\\x"));
    let s = settings(&config);
    let policy = &s.rules.default_config().policy;
    let preflight = request_with(
        "OPTIONS",
        "/api",
        &[("origin", "https://a.test"), ("access-control-request-method", "POST")],
    );
    assert!(matches!(decide(&s, policy, &preflight, NOW, &no_remote), Outcome::Bypass));
    let options = request_with("OPTIONS", "/api", &[("origin", "https://a.test")]);
    assert!(matches!(decide(&s, policy, &options, NOW, &no_remote), Outcome::Deny(_)));
    config["policy"] = json!({"allow_missing": true});
    assert!(matches!(decide_with(&config, "/", &[]), Outcome::Anonymous));
    assert!(matches!(decide_with(&config, "/", &[("x-api-key", "bad")]), Outcome::Deny(_)));
}

#[test]
fn remote_keys_wait_then_resume() {
    let mut config = full();
    config["jwt"]["providers"][0].as_object_mut().unwrap().remove("local_jwks");
    config["jwt"]["providers"][0]["remote_jwks"] = json!({"cluster": "idp", "uri": "http://idp/jwks"});
    let s = settings(&config);
    let token = sign::rs256(&valid());
    let r = request("/", &[("authorization", &format!("Bearer {token}"))]);
    let policy = s.rules.default_config().policy.clone();
    let Outcome::Wait(waiting) = decide(&s, &policy, &r, NOW, &no_remote) else { panic!("should wait") };
    assert_eq!((waiting.provider, waiting.realm.as_str()), (0, "weir-test"));
    // Expired tokens are refused without waiting for keys.
    let expired = sign::rs256(&claims("u", NOW - 7200, NOW - 3600));
    let r2 = request("/", &[("authorization", &format!("Bearer {expired}"))]);
    assert!(matches!(decide(&s, &policy, &r2, NOW, &no_remote), Outcome::Deny(_)));
    let (keys, _) = crate::jwt::jwks::parse(sign::JWKS.as_bytes(), false).unwrap();
    let grant = allowed(resume(&s, waiting.clone(), NOW, Some(Rc::new(keys))));
    assert_eq!(grant.consumer.as_deref(), Some("user-1"));
    let (status, body) = jwt_denial(resume(&s, waiting, NOW, None));
    assert_eq!((status, body.as_str()), (401, "Jwks remote fetch is failed"));
}

#[test]
fn claims_to_headers_and_payload() {
    let mut config = full();
    config["jwt"]["providers"][0]["forward_payload_header"] = json!("X-Jwt-Payload");
    config["jwt"]["providers"][0]["consumer_claim"] = json!("org.name");
    let mut c = valid();
    c["org"] = json!({"tenant": 42, "name": "acme"});
    let token = sign::hs256(&c);
    let g = allowed(decide_with(&config, "/", &[("authorization", &format!("Bearer {token}"))]));
    assert_eq!(g.consumer.as_deref(), Some("acme"));
    let payload = token.split('.').nth(1).unwrap().to_string();
    assert_eq!(
        g.headers,
        [
            ("x-jwt-sub".into(), "user-1".into()),
            ("x-jwt-tenant".into(), "42".into()),
            ("x-jwt-payload".into(), payload)
        ]
    );
}

#[test]
fn verified_tokens_skip_decoding_and_the_signature() {
    let s = settings(&full());
    let policy = &s.rules.default_config().policy;
    let token = sign::rs256(&claims("user-1", NOW - 10, NOW + 60));
    let header = format!("Bearer {token}");
    let at = |now| decide(&s, policy, &request("/", &[("authorization", &header)]), now, &no_remote);
    let verified = &s.jwt.as_ref().unwrap().verified;
    allowed(at(NOW));
    assert_eq!(verified.len(), 1);
    allowed(at(NOW + 1));
    assert_eq!(verified.len(), 1, "the second request found the token verified");
    // Times are still checked on every request.
    assert_eq!(jwt_denial(at(NOW + 3600)), (401, "Jwt is expired".into()));
    // A token whose signature fails is never remembered.
    let (body, _) = token.rsplit_once('.').unwrap();
    let forged = format!("Bearer {body}.{}", "A".repeat(342));
    let out = decide(&s, policy, &request("/", &[("authorization", &forged)]), NOW, &no_remote);
    assert_eq!(jwt_denial(out), (401, "Jwt verification fails".into()));
    assert_eq!(verified.len(), 1);
}

#[test]
fn a_new_key_set_invalidates_verified_tokens() {
    let mut config = full();
    config["jwt"]["providers"][0].as_object_mut().unwrap().remove("local_jwks");
    config["jwt"]["providers"][0]["remote_jwks"] = json!({"cluster": "idp", "uri": "http://idp/jwks"});
    let s = settings(&config);
    let policy = s.rules.default_config().policy.clone();
    let header = format!("Bearer {}", sign::rs256(&valid()));
    let r = request("/", &[("authorization", &header)]);
    let parse = || crate::jwt::jwks::parse(sign::JWKS.as_bytes(), false).unwrap().0;
    let mut rotated = parse();
    rotated.keys.retain(|k| k.kid.as_deref() != Some("rsa-1"));
    let (before, after) = (Rc::new(parse()), Rc::new(rotated));
    allowed(decide(&s, &policy, &r, NOW, &|_| Some(before.clone())));
    allowed(decide(&s, &policy, &r, NOW, &|_| Some(before.clone())));
    assert_eq!(s.jwt.as_ref().unwrap().verified.len(), 1);
    // The JWKS was refreshed without the token's key: the cached verification no longer counts.
    let (status, _) = jwt_denial(decide(&s, &policy, &r, NOW, &|_| Some(after.clone())));
    assert_eq!(status, 401);
}

#[test]
fn a_repeated_credential_source_is_refused() {
    let mut config = full();
    config["policy"] = json!({"consumers": ["alice"]});
    let open = with(full(), json!({"policy": {"bypass_paths": ["/healthz"], "allow_missing": true}}));
    let repeated_in = |config: &Value, path: &str, headers: &[(&str, &str)]| {
        let d = denied(decide_with(config, path, headers));
        assert_eq!((d.status, d.body.as_str()), (401, "Credential is repeated"), "{path} {headers:?}");
        assert_eq!(
            d.challenges,
            [
                "Bearer realm=\"weir-test\", error=\"invalid_request\"",
                "Basic realm=\"weir-test\"",
                "ApiKey realm=\"weir-test\""
            ]
        );
    };
    let repeated = |path: &str, headers: &[(&str, &str)]| repeated_in(&config, path, headers);
    // The first value would pass, or be forbidden (403): the repeat is what is answered.
    repeated("/", &[("x-api-key", "key-alice"), ("x-api-key", "key-bob")]);
    repeated("/", &[("X-Api-Key", "secret"), ("x-api-key", "key-alice")]);
    repeated(
        "/",
        &[("authorization", "Basic YWxpY2U6d29uZGVybGFuZA=="), ("authorization", "Basic Ym9iOng=")],
    );
    repeated("/?api_key=key-alice&api_key=secret", &[]);
    repeated("/?api_key=x&api%5Fkey=y", &[("x-api-key", "key-alice")]);
    // Also a source the route does not read credentials from (the upstream may).
    let api_keys_only = with(full(), json!({"policy": {"methods": ["api_key"]}}));
    let headers = [("x-api-key", "key-alice"), ("authorization", "Basic eDp5"), ("authorization", "x")];
    let d = denied(decide_with(&api_keys_only, "/", &headers));
    assert_eq!(
        (d.status, d.body.as_str(), d.challenges.as_slice()),
        (401, "Credential is repeated", &["ApiKey realm=\"weir-test\"".to_string()][..])
    );
    // A request refused with 401 anyway keeps its refusal (the headers are not read for it).
    for headers in [
        vec![("x-api-key", ""), ("x-api-key", "key-alice")],
        vec![("x-api-key", "key-mallory"), ("x-api-key", "key-alice")],
        vec![("authorization", "Bearer a"), ("authorization", "Bearer b")],
    ] {
        let d = denied(decide_with(&config, "/", &headers));
        assert_eq!(d.status, 401, "{headers:?}");
        assert_ne!(d.body, "Credential is repeated");
    }
    // Other repeated headers and parameters are not credentials.
    let g = allowed(decide_with(
        &config,
        "/?p=1&p=2",
        &[("x-api-key", "key-alice"), ("accept", "a"), ("accept", "b")],
    ));
    assert_eq!(g.consumer.as_deref(), Some("alice"));
    // Bypassed paths are not looked at.
    let bypassed = decide_with(&open, "/healthz", &[("x-api-key", "a"), ("x-api-key", "b")]);
    assert!(matches!(bypassed, Outcome::Bypass));
    // Anonymous access would forward the second value unchecked.
    repeated_in(&open, "/", &[("x-api-key", ""), ("x-api-key", "key-alice")]);
}
