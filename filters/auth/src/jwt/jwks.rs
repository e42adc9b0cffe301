//! JSON Web Key Sets: parsing keys once into ready-to-use verifiers, and checking a signature
//! with a key.
//!
//! Each key is bound to exactly one algorithm by its type: `oct` ↔ HS256, `RSA` ↔ RS256, `EC`
//! on P-256 ↔ ES256 (and its `alg`, when given, must agree). A token's `alg` only selects
//! among keys of that type, so an RSA public key can never be used as an HMAC secret
//! (algorithm confusion) and `alg: none` matches nothing.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Verifier as _;
use serde::Deserialize;
use sha2::Sha256;

use crate::jwt::rs256::RsaKey;

/// Base64url as found in JWKs: padding tolerated.
const JWK_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Smallest accepted RSA modulus (bits) and HMAC secret (bytes, RFC 7518 §3.2).
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;
const MIN_HMAC_BYTES: usize = 32;

/// A supported signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// HMAC with SHA-256.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
}

impl Alg {
    /// Every supported algorithm.
    pub const ALL: [Alg; 3] = [Alg::Hs256, Alg::Rs256, Alg::Es256];

    /// Parses a JOSE `alg` name; `None` for anything unsupported (including `none`).
    pub fn parse(name: &str) -> Option<Alg> {
        match name {
            "HS256" => Some(Alg::Hs256),
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }
}

enum Material {
    Hmac(Vec<u8>),
    Rsa(RsaKey),
    Ec(p256::ecdsa::VerifyingKey),
}

/// A verification key.
pub struct Key {
    /// Its `kid`, if any.
    pub kid: Option<String>,
    /// The one algorithm it verifies.
    pub alg: Alg,
    material: Material,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("kid", &self.kid).field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl Key {
    /// Whether `signature` is this key's signature of `message`. HMAC tags are compared in
    /// constant time (`hmac`'s `verify_slice`).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            Material::Hmac(secret) => match Hmac::<Sha256>::new_from_slice(secret) {
                Ok(mut mac) => {
                    mac.update(message);
                    mac.verify_slice(signature).is_ok()
                }
                Err(_) => false,
            },
            Material::Rsa(key) => key.verify(message, signature),
            Material::Ec(key) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
        }
    }
}

/// The keys of one provider.
#[derive(Debug, Default)]
pub struct KeySet {
    /// The keys, in JWKS order.
    pub keys: Vec<Key>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawKey {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    usage: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    k: Option<String>,
}

/// Parses a JWKS. `strict` (inline configuration): any unusable key is an error. Otherwise
/// (fetched): unusable keys are skipped and named in the returned notes; an error only when
/// no key is usable. Keys marked `"use": "enc"` are always skipped.
pub fn parse(text: &[u8], strict: bool) -> Result<(KeySet, Vec<String>), String> {
    let raw: RawSet =
        serde_json::from_slice(text).map_err(|e| format!("not a JWKS (`{{\"keys\": [...]}}`): {e}"))?;
    let mut set = KeySet::default();
    let mut notes = Vec::new();
    for (i, value) in raw.keys.into_iter().enumerate() {
        let parsed = serde_json::from_value::<RawKey>(value).map_err(|e| e.to_string()).and_then(|raw| {
            if raw.usage.as_deref().is_some_and(|u| u != "sig") {
                return Ok(None);
            }
            key(raw).map(Some)
        });
        match parsed {
            Ok(Some(key)) => set.keys.push(key),
            Ok(None) => notes.push(format!("keys[{i}]: not a signature key, skipped")),
            Err(e) if strict => return Err(format!("keys[{i}]: {e}")),
            Err(e) => notes.push(format!("keys[{i}]: {e}, skipped")),
        }
    }
    if set.keys.is_empty() {
        return Err(format!(
            "the JWKS has no usable key{}",
            notes.first().map(|n| format!(" ({n})")).unwrap_or_default()
        ));
    }
    Ok((set, notes))
}

fn field(value: &Option<String>, name: &str, kty: &str) -> Result<Vec<u8>, String> {
    let text = value.as_deref().ok_or_else(|| format!("`{kty}` key without `{name}`"))?;
    JWK_B64.decode(text).map_err(|e| format!("`{name}` is not base64url: {e}"))
}

fn key(raw: RawKey) -> Result<Key, String> {
    let alg = match raw.kty.as_str() {
        "oct" => Alg::Hs256,
        "RSA" => Alg::Rs256,
        "EC" => Alg::Es256,
        other => return Err(format!("unsupported key type `{other}` (supported: oct, RSA, EC)")),
    };
    if let Some(name) = raw.alg.as_deref() {
        match Alg::parse(name) {
            Some(a) if a == alg => {}
            Some(_) => return Err(format!("`alg` {name} does not fit a `{}` key", raw.kty)),
            None => return Err(format!("unsupported algorithm `{name}` (supported: HS256, RS256, ES256)")),
        }
    }
    let material = match alg {
        Alg::Hs256 => {
            let secret = field(&raw.k, "k", "oct")?;
            if secret.len() < MIN_HMAC_BYTES {
                return Err(format!(
                    "HS256 secret of {} bytes; at least {MIN_HMAC_BYTES} needed",
                    secret.len()
                ));
            }
            Material::Hmac(secret)
        }
        Alg::Rs256 => {
            let (n, e) = (field(&raw.n, "n", "RSA")?, field(&raw.e, "e", "RSA")?);
            Material::Rsa(RsaKey::new(&n, &e, MIN_RSA_BITS, MAX_RSA_BITS)?)
        }
        Alg::Es256 => {
            if raw.crv.as_deref() != Some("P-256") {
                return Err(format!(
                    "unsupported curve {:?} (supported: P-256)",
                    raw.crv.as_deref().unwrap_or("")
                ));
            }
            let (x, y) = (field(&raw.x, "x", "EC")?, field(&raw.y, "y", "EC")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("P-256 coordinates must be 32 bytes".into());
            }
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|_| "not a point on P-256".to_string())?;
            Material::Ec(key)
        }
    };
    Ok(Key { kid: raw.kid, alg, material })
}

#[cfg(test)]
#[path = "jwks_tests.rs"]
mod tests;
