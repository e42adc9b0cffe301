//! Prints the tokens embedded in `tests/conformance/auth-jwt-*/case.yaml` (RS256 and HS256 are
//! deterministic, ES256 uses RFC 6979 nonces, so the output is stable):
//!
//! ```sh
//! cargo test -p weir-filter-auth --test conformance_tokens -- --ignored --nocapture
//! ```
//!
//! Valid tokens expire on 2100-01-01 (4102444800); expired ones expired on 2020-09-13
//! (1600000000); the "not yet valid" one starts on 2100-01-01.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

#[path = "support/sign.rs"]
mod sign;

use serde_json::{Value, json};

const FOREVER: u64 = 4_102_444_800;

fn claims(exp: u64, nbf: u64) -> Value {
    json!({"iss": "https://issuer.test", "aud": "weir", "sub": "conformance-user", "scope": "read write",
           "nbf": nbf, "exp": exp, "org": {"tenant": "acme"}})
}

/// Every conformance token, by name.
fn tokens() -> Vec<(&'static str, String)> {
    let valid = claims(FOREVER, 1_500_000_000);
    let rs = sign::rs256(&valid);
    let (head, sig) = rs.rsplit_once('.').unwrap();
    let mut sig = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).unwrap();
    sig[0] ^= 0x80;
    let mut other_aud = valid.clone();
    other_aud["aud"] = json!("another-service");
    let none = format!(
        "{}.{}.",
        sign::b64(br#"{"alg":"none","typ":"JWT"}"#),
        sign::b64(valid.to_string().as_bytes())
    );
    let confused = sign::token(&json!({"alg": "HS256", "kid": "rsa-1"}), &valid, |m| {
        sign::hmac_sign(&sign::rsa_public_modulus(), m)
    });
    vec![
        ("rs256_valid", rs.clone()),
        ("es256_valid", sign::es256(&valid)),
        ("hs256_valid", sign::hs256(&valid)),
        ("rs256_expired", sign::rs256(&claims(1_600_000_000, 1_500_000_000))),
        ("rs256_not_yet_valid", sign::rs256(&claims(FOREVER + 3600, FOREVER))),
        ("rs256_bad_signature", format!("{head}.{}", sign::b64(&sig))),
        ("rs256_other_audience", sign::rs256(&other_aud)),
        ("alg_none", none),
        ("hs256_with_rsa_public_key", confused),
    ]
}

#[test]
#[ignore = "prints the conformance tokens"]
fn print() {
    for (name, token) in tokens() {
        println!("{name}: {token}");
    }
    println!("jwks: {}", serde_json::from_str::<Value>(sign::JWKS).unwrap());
}

#[test]
fn tokens_are_stable() {
    let first = tokens();
    assert_eq!(first, tokens(), "signatures must be deterministic so the case files stay valid");
}
