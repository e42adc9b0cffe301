//! Signs real test tokens with the fixed test keys in `tests/keys/` (generated once with
//! openssl for these tests only; never use them anywhere else). Shared by the unit tests
//! (`#[path]`) and the wasm-level tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use p256::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Value, json};
use sha2::Sha256;

/// RSA 2048 private key, kid `rsa-1` in the JWKS.
pub const RSA_PEM: &str = include_str!("../keys/rsa.pem");
/// Another RSA key, in no JWKS.
pub const RSA_OTHER_PEM: &str = include_str!("../keys/rsa-other.pem");
/// P-256 private key, kid `ec-1`.
pub const EC_PEM: &str = include_str!("../keys/ec.pem");
/// The public JWKS: `rsa-1` (RS256), `ec-1` (ES256), `hs-1` (HS256 secret).
pub const JWKS: &str = include_str!("../keys/jwks.json");
/// The HS256 secret, base64url.
pub const HS_SECRET_B64: &str = include_str!("../keys/hs256.secret");

/// Base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The HS256 secret's bytes.
pub fn hs_secret() -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(HS_SECRET_B64.trim()).unwrap()
}

/// A compact JWS with any header and claims, signed by `sign` over `header.payload`.
pub fn token(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

/// RS256 signature with a PKCS#8 PEM key.
pub fn rsa_sign(pem: &str, message: &[u8]) -> Vec<u8> {
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem).unwrap();
    rsa::pkcs1v15::SigningKey::<Sha256>::new(key).sign(message).to_vec()
}

/// ES256 signature (r || s) with a PKCS#8 PEM key.
pub fn ec_sign(pem: &str, message: &[u8]) -> Vec<u8> {
    let key = p256::ecdsa::SigningKey::from_pkcs8_pem(pem).unwrap();
    let signature: p256::ecdsa::Signature = key.sign(message);
    signature.to_bytes().to_vec()
}

/// HS256 tag.
pub fn hmac_sign(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn header(alg: &str, kid: Option<&str>) -> Value {
    match kid {
        Some(kid) => json!({"alg": alg, "typ": "JWT", "kid": kid}),
        None => json!({"alg": alg, "typ": "JWT"}),
    }
}

/// RS256 token with the `rsa-1` key.
pub fn rs256(claims: &Value) -> String {
    token(&header("RS256", Some("rsa-1")), claims, |m| rsa_sign(RSA_PEM, m))
}

/// ES256 token with the `ec-1` key.
pub fn es256(claims: &Value) -> String {
    token(&header("ES256", Some("ec-1")), claims, |m| ec_sign(EC_PEM, m))
}

/// HS256 token with the `hs-1` secret.
pub fn hs256(claims: &Value) -> String {
    token(&header("HS256", Some("hs-1")), claims, |m| hmac_sign(&hs_secret(), m))
}

/// Claims for the test issuer and audience, valid from `nbf` to `exp`.
pub fn claims(sub: &str, nbf: u64, exp: u64) -> Value {
    json!({"iss": "https://issuer.test", "aud": "weir", "sub": sub, "nbf": nbf, "exp": exp, "scope": "read write"})
}

/// The RSA public key's modulus bytes (as an attacker would find it in the JWKS).
pub fn rsa_public_modulus() -> Vec<u8> {
    let jwks: Value = serde_json::from_str(JWKS).unwrap();
    URL_SAFE_NO_PAD.decode(jwks["keys"][0]["n"].as_str().unwrap()).unwrap()
}
