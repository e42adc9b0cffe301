//! SDS resources: TLS material by name, served as Envoy's
//! `envoy.extensions.transport_sockets.tls.v3.Secret` with inline PEM: a `tls_certificate`
//! (chain and private key) or a `validation_context` (`trusted_ca`).
//!
//! Checked before it is stored (the PEM parses, the key belongs to the certificate, every CA
//! is a trust anchor) with the same code weir uses, and capped at [`MAX_SECRET_BYTES`].
//! Private keys are kept in the state file (mode 0600) and never shown by the admin API.

use envoy_types::pb::envoy::config::core::v3::{DataSource, data_source};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateValidationContext, Secret as PbSecret, TlsCertificate, secret,
};
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::keys;

/// Largest secret (all its PEM text together), in bytes. A chain with several intermediates
/// and its key is ~10 KiB.
pub const MAX_SECRET_BYTES: usize = 256 * 1024;

/// One SDS secret as operators give it (`PUT /secrets/{name}`, `weir-cp secret set`): either
/// `certificate_chain` and `private_key`, or `trusted_ca`; PEM text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretConfig {
    /// The certificate chain, leaf first (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_chain: Option<String>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// A CA bundle for client certificates (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_ca: Option<String>,
}

impl std::fmt::Debug for SecretConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretConfig")
            .field("certificate_chain", &self.certificate_chain.as_ref().map(String::len))
            .field("private_key", &self.private_key.as_ref().map(|_| "<redacted>"))
            .field("trusted_ca", &self.trusted_ca.as_ref().map(String::len))
            .finish()
    }
}

impl SecretConfig {
    /// A certificate and its key.
    pub fn certificate(certificate_chain: String, private_key: String) -> SecretConfig {
        SecretConfig {
            certificate_chain: Some(certificate_chain),
            private_key: Some(private_key),
            trusted_ca: None,
        }
    }

    /// A CA bundle.
    pub fn trusted_ca(trusted_ca: String) -> SecretConfig {
        SecretConfig { certificate_chain: None, private_key: None, trusted_ca: Some(trusted_ca) }
    }

    /// `tls_certificate` or `validation_context`, or why it is neither.
    pub fn material(&self, name: &str) -> Result<weir_tls::Secret, StoreError> {
        let bad = |reason: String| StoreError::InvalidSecret { name: name.to_string(), reason };
        match (&self.certificate_chain, &self.private_key, &self.trusted_ca) {
            (Some(chain), Some(key), None) => Ok(weir_tls::Secret::TlsCertificate {
                certificate_chain: chain.as_bytes().to_vec(),
                private_key: key.as_bytes().to_vec(),
            }),
            (None, None, Some(ca)) => {
                Ok(weir_tls::Secret::ValidationContext { trusted_ca: ca.as_bytes().to_vec() })
            }
            _ => Err(bad(
                "give `certificate_chain` and `private_key` (a certificate) or `trusted_ca` (a CA bundle)"
                    .into(),
            )),
        }
    }

    /// The size of all its PEM text.
    pub fn bytes(&self) -> usize {
        [&self.certificate_chain, &self.private_key, &self.trusted_ca]
            .into_iter()
            .flatten()
            .map(String::len)
            .sum()
    }

    /// Checks what even an unchecked secret must be: the name, the size, the shape.
    pub fn check_shape(&self, name: &str) -> Result<weir_tls::Secret, StoreError> {
        keys::check_name("secret", name)?;
        if self.bytes() > MAX_SECRET_BYTES {
            let reason = format!("{} bytes of PEM is over the {MAX_SECRET_BYTES}-byte cap", self.bytes());
            return Err(StoreError::InvalidSecret { name: name.to_string(), reason });
        }
        self.material(name)
    }

    /// Checks the secret before it is stored under `name`: the name, the size, the shape, and
    /// the material as a proxy would load it.
    pub fn check(&self, name: &str) -> Result<(), StoreError> {
        let bad = |reason: String| StoreError::InvalidSecret { name: name.to_string(), reason };
        self.check_shape(name)?.check(name).map_err(|e| match e {
            weir_tls::TlsError::Secret { what, .. } => bad(what),
            other => bad(other.to_string()),
        })
    }

    /// The resource served over SDS.
    pub fn to_resource(&self, name: &str) -> PbSecret {
        let inline = |text: &String| DataSource {
            watched_directory: None,
            specifier: Some(data_source::Specifier::InlineString(text.clone())),
        };
        let kind = match &self.trusted_ca {
            Some(ca) => secret::Type::ValidationContext(CertificateValidationContext {
                trusted_ca: Some(inline(ca)),
                ..CertificateValidationContext::default()
            }),
            None => secret::Type::TlsCertificate(TlsCertificate {
                certificate_chain: self.certificate_chain.as_ref().map(inline),
                private_key: self.private_key.as_ref().map(inline),
                ..TlsCertificate::default()
            }),
        };
        PbSecret { name: name.to_string(), r#type: Some(kind) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_tls::test_pki::Pki;

    fn read(path: &std::path::Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn checks_shape_pem_key_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::new(dir.path(), "cp").unwrap();
        let (a, b) = (pki.server("a", &["a.test"]).unwrap(), pki.server("b", &["b.test"]).unwrap());
        let good = SecretConfig::certificate(read(&a.certificate_chain), read(&a.private_key));
        good.check("web").unwrap();
        assert!(!format!("{good:?}").contains("PRIVATE KEY"));
        SecretConfig::trusted_ca(read(pki.ca())).check("ca").unwrap();
        let mismatch = SecretConfig::certificate(read(&a.certificate_chain), read(&b.private_key));
        let e = mismatch.check("web").unwrap_err().to_string();
        assert!(e.contains("secret `web`") && e.contains("does not match"), "{e}");
        let garbage = SecretConfig::certificate("not pem".into(), read(&a.private_key));
        assert!(garbage.check("web").unwrap_err().to_string().contains("certificate_chain"));
        let both = SecretConfig { trusted_ca: Some(read(pki.ca())), ..good.clone() };
        assert!(both.check("web").unwrap_err().to_string().contains("give `certificate_chain`"));
        let huge = SecretConfig::trusted_ca("x".repeat(MAX_SECRET_BYTES + 1));
        assert!(huge.check("ca").unwrap_err().to_string().contains("cap"));
        assert!(good.check("a b").is_err());
    }

    #[test]
    fn builds_envoy_secrets() {
        let cert = SecretConfig::certificate("C".into(), "K".into()).to_resource("web");
        let Some(secret::Type::TlsCertificate(tls)) = cert.r#type else { panic!("not a certificate") };
        let text = |d: Option<DataSource>| match d.and_then(|d| d.specifier) {
            Some(data_source::Specifier::InlineString(s)) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!((text(tls.certificate_chain), text(tls.private_key)), ("C".into(), "K".into()));
        let ca = SecretConfig::trusted_ca("A".into()).to_resource("ca");
        let Some(secret::Type::ValidationContext(v)) = ca.r#type else { panic!("not a CA") };
        assert_eq!(text(v.trusted_ca), "A");
    }
}
