//! Extra checks on a peer certificate beyond its chain: subject alternative names, key
//! (SPKI) and certificate digests, as Envoy's `match_subject_alt_names`,
//! `verify_certificate_spki` and `verify_certificate_hash`.

use sha2::{Digest, Sha256};

use crate::summary;

/// What a peer certificate must also satisfy; an empty list accepts anything.
#[derive(Debug, Clone, Default)]
pub struct Pins {
    /// One of these SANs (exact).
    pub alt_names: Vec<String>,
    /// One of these SPKI SHA-256 digests (base64).
    pub spki: Vec<String>,
    /// One of these certificate SHA-256 digests (lowercase hex, no colons).
    pub hashes: Vec<String>,
}

impl Pins {
    /// Pins as configured (hashes may be written with colons and in any case).
    pub fn new(alt_names: &[String], spki: &[String], hashes: &[String]) -> Pins {
        Pins {
            alt_names: alt_names.to_vec(),
            spki: spki.to_vec(),
            hashes: hashes.iter().map(|h| h.replace(':', "").to_ascii_lowercase()).collect(),
        }
    }

    /// Whether no check is configured.
    pub fn is_empty(&self) -> bool {
        self.alt_names.is_empty() && self.spki.is_empty() && self.hashes.is_empty()
    }

    /// Why `der` fails the checks, or `None` when it passes.
    pub fn check(&self, der: &[u8]) -> Option<&'static str> {
        if !self.alt_names.is_empty() {
            let names = summary::alt_name_strings(der);
            if !names.iter().any(|n| self.alt_names.contains(n)) {
                return Some("no subject alternative name matches");
            }
        }
        if !self.spki.is_empty() && !summary::spki_sha256(der).is_some_and(|d| self.spki.contains(&d)) {
            return Some("the public key is not pinned");
        }
        if !self.hashes.is_empty() && !self.hashes.contains(&hex::encode(Sha256::digest(der))) {
            return Some("the certificate is not pinned");
        }
        None
    }
}
