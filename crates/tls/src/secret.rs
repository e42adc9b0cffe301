//! TLS material held in memory by name: Envoy's SDS `Secret`s (a `tls_certificate` or a
//! `validation_context`), as the control plane pushes them and listeners use them.
//! [`Secrets`] is the process-wide table; it changes whole, so a listener rebuilt from it
//! sees one consistent set.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};

use crate::error::TlsError;
use crate::pem;

/// Largest PEM text in a secret (each of chain, key and CA bundle), as for files.
pub const MAX_SECRET_PEM_BYTES: usize = pem::MAX_PEM_BYTES as usize;

/// One secret's material, PEM text.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// A certificate chain (leaf first) and its private key (Envoy's `tls_certificate`).
    TlsCertificate {
        /// The chain, PEM.
        certificate_chain: Vec<u8>,
        /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
        private_key: Vec<u8>,
    },
    /// A CA bundle for client certificates (Envoy's `validation_context.trusted_ca`).
    ValidationContext {
        /// The CAs, PEM.
        trusted_ca: Vec<u8>,
    },
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::TlsCertificate { certificate_chain, private_key } => f
                .debug_struct("TlsCertificate")
                .field("certificate_chain_bytes", &certificate_chain.len())
                .field("private_key_bytes", &private_key.len())
                .finish(),
            Secret::ValidationContext { trusted_ca } => {
                f.debug_struct("ValidationContext").field("trusted_ca_bytes", &trusted_ca.len()).finish()
            }
        }
    }
}

impl Secret {
    /// `tls_certificate` or `validation_context`.
    pub fn kind(&self) -> &'static str {
        match self {
            Secret::TlsCertificate { .. } => "tls_certificate",
            Secret::ValidationContext { .. } => "validation_context",
        }
    }

    /// Checks the secret `name` as a listener would use it: sizes within
    /// [`MAX_SECRET_PEM_BYTES`], the PEM parses, the key belongs to the certificate, every CA
    /// is a trust anchor.
    pub fn check(&self, name: &str) -> Result<(), TlsError> {
        let bad = |what: String| TlsError::Secret { name: name.to_string(), what };
        let capped = |field: &str, bytes: &[u8]| match bytes.len() > MAX_SECRET_PEM_BYTES {
            true => Err(bad(format!("{field} is over {MAX_SECRET_PEM_BYTES} bytes"))),
            false => Ok(()),
        };
        match self {
            Secret::TlsCertificate { certificate_chain, private_key } => {
                capped("certificate_chain", certificate_chain)?;
                capped("private_key", private_key)?;
                let chain = pem::parse_certificates(certificate_chain)
                    .map_err(|e| bad(format!("certificate_chain: {e}")))?;
                let key =
                    pem::parse_private_key(private_key).map_err(|e| bad(format!("private_key: {e}")))?;
                let provider = rustls::crypto::aws_lc_rs::default_provider();
                pem::pair(chain, key, &provider).map_err(|e| bad(format!("private_key: {e}")))?;
            }
            Secret::ValidationContext { trusted_ca } => {
                capped("trusted_ca", trusted_ca)?;
                pem::parse_roots(trusted_ca).map_err(|e| bad(format!("trusted_ca: {e}")))?;
            }
        }
        Ok(())
    }

    /// SHA-256 of the material (what changed, without showing it).
    pub fn digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        match self {
            Secret::TlsCertificate { certificate_chain, private_key } => {
                hash.update(b"tls_certificate\0");
                hash.update(certificate_chain);
                hash.update(b"\0");
                hash.update(private_key);
            }
            Secret::ValidationContext { trusted_ca } => {
                hash.update(b"validation_context\0");
                hash.update(trusted_ca);
            }
        }
        hash.finalize().into()
    }
}

/// Secrets by name.
pub type SecretMap = BTreeMap<String, Arc<Secret>>;

/// The process-wide secrets listeners build from; replaced whole.
#[derive(Debug, Default)]
pub struct Secrets {
    map: ArcSwap<SecretMap>,
}

impl Secrets {
    /// No secrets yet.
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// The current table.
    pub fn current(&self) -> Arc<SecretMap> {
        self.map.load_full()
    }

    /// Makes `map` the current table (after every listener accepted it: see
    /// [`ServerTls::check_with`](crate::ServerTls::check_with)).
    pub fn replace(&self, map: SecretMap) {
        self.map.store(Arc::new(map));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_pki::Pki;

    #[test]
    fn checks_pem_key_match_and_caps() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::new(dir.path(), "t").unwrap();
        let (a, b) = (pki.server("a", &["a.test"]).unwrap(), pki.server("b", &["b.test"]).unwrap());
        let read = |p: &std::path::Path| std::fs::read(p).unwrap();
        let good = Secret::TlsCertificate {
            certificate_chain: read(&a.certificate_chain),
            private_key: read(&a.private_key),
        };
        good.check("a").unwrap();
        assert!(!format!("{good:?}").contains("PRIVATE"), "{good:?}");
        let mismatch = Secret::TlsCertificate {
            certificate_chain: read(&a.certificate_chain),
            private_key: read(&b.private_key),
        };
        let e = mismatch.check("a").unwrap_err().to_string();
        assert!(e.starts_with("SDS secret `a`: private_key: does not match"), "{e}");
        let garbage =
            Secret::TlsCertificate { certificate_chain: b"nope".to_vec(), private_key: b"x".to_vec() };
        assert!(garbage.check("g").unwrap_err().to_string().contains("certificate_chain"));
        let ca = Secret::ValidationContext { trusted_ca: read(pki.ca()) };
        ca.check("ca").unwrap();
        let huge = Secret::ValidationContext { trusted_ca: vec![b'a'; MAX_SECRET_PEM_BYTES + 1] };
        assert!(huge.check("h").unwrap_err().to_string().contains("over"));
        assert_ne!(good.digest(), mismatch.digest());
    }
}
