//! A listener's TLS material gathered from where the settings say it is: PEM files (read now)
//! or SDS secrets (looked up in a [`SecretMap`]). The digest over all of it tells a rotation
//! whether anything changed; an SDS secret not received yet leaves the material incomplete.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};

use crate::config::{CertificateSource, DownstreamTls};
use crate::error::TlsError;
use crate::pem;
use crate::secret::{Secret, SecretMap};

/// Where some PEM text came from, to name it in errors.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A file.
    File(PathBuf),
    /// An SDS secret, by name.
    Secret(String),
}

impl Origin {
    fn error(&self, what: String) -> TlsError {
        match self {
            Origin::File(path) => TlsError::Pem { path: path.clone(), what },
            Origin::Secret(name) => TlsError::Secret { name: name.clone(), what },
        }
    }
}

/// One certificate's PEM text: chain and key.
#[derive(Debug)]
pub struct CertMaterial {
    origin: Origin,
    key_origin: Origin,
    chain: Vec<u8>,
    key: Vec<u8>,
}

impl CertMaterial {
    /// The chain and key parsed, checked to belong together.
    pub fn certified_key(&self, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
        let chain = pem::parse_certificates(&self.chain).map_err(|e| self.origin.error(e))?;
        let key = pem::parse_private_key(&self.key).map_err(|e| self.key_origin.error(e))?;
        pem::pair(chain, key, provider).map_err(|what| match (&self.key_origin, &self.origin) {
            (Origin::File(key), Origin::File(chain)) => TlsError::Key {
                path: key.clone(),
                what: what.replace("certificate_chain", &chain.display().to_string()),
            },
            (other, _) => other.error(format!("private_key: {what}")),
        })
    }
}

/// Everything a listener's TLS is built from.
#[derive(Debug)]
pub struct Material {
    /// The certificates, in the settings' order.
    pub certs: Vec<CertMaterial>,
    trusted_ca: Option<(Origin, Vec<u8>)>,
    /// SHA-256 over all of it.
    pub digest: [u8; 32],
}

impl Material {
    /// The client CA bundle, when the settings ask for client certificates.
    pub fn roots(&self) -> Result<Option<Arc<RootCertStore>>, TlsError> {
        match &self.trusted_ca {
            Some((origin, bytes)) => pem::parse_roots(bytes).map(Some).map_err(|e| origin.error(e)),
            None => Ok(None),
        }
    }
}

/// The material, or the SDS secrets it still waits for.
#[derive(Debug)]
pub enum Gathered {
    /// Complete.
    Ready(Material),
    /// These secrets have not arrived.
    Missing(Vec<String>),
}

/// Reads the files and looks the secrets up. `field` (`listeners[0].tls`) prefixes errors
/// about the settings themselves; a secret of the wrong kind is an error.
pub fn gather(settings: &DownstreamTls, secrets: &SecretMap, field: &str) -> Result<Gathered, TlsError> {
    let mut hash = Sha256::new();
    let mut missing = Vec::new();
    let mut certs = Vec::with_capacity(settings.certificates.len());
    for (i, source) in settings.certificates.iter().enumerate() {
        match source {
            CertificateSource::Files(f) => {
                let (chain, key) = (pem::read(&f.certificate_chain)?, pem::read(&f.private_key)?);
                hash.update(&chain);
                hash.update(&key);
                let (origin, key_origin) =
                    (Origin::File(f.certificate_chain.clone()), Origin::File(f.private_key.clone()));
                certs.push(CertMaterial { origin, key_origin, chain, key });
            }
            CertificateSource::Sds(name) => match secrets.get(name).map(|s| &**s) {
                None => missing.push(name.clone()),
                Some(Secret::TlsCertificate { certificate_chain, private_key }) => {
                    hash.update(certificate_chain);
                    hash.update(private_key);
                    certs.push(CertMaterial {
                        origin: Origin::Secret(name.clone()),
                        key_origin: Origin::Secret(name.clone()),
                        chain: certificate_chain.clone(),
                        key: private_key.clone(),
                    });
                }
                Some(other) => return Err(wrong_kind(format!("{field}.certificates[{i}].sds"), name, other)),
            },
        }
    }
    let mut trusted_ca = None;
    if let Some(clients) = &settings.client_certificates {
        let at = format!("{field}.client_certificates");
        match (&clients.trusted_ca, &clients.trusted_ca_sds) {
            (Some(path), None) => trusted_ca = Some((Origin::File(path.clone()), pem::read(path)?)),
            (None, Some(name)) => match secrets.get(name).map(|s| &**s) {
                None => missing.push(name.clone()),
                Some(Secret::ValidationContext { trusted_ca: bytes }) => {
                    trusted_ca = Some((Origin::Secret(name.clone()), bytes.clone()));
                }
                Some(other) => return Err(wrong_kind(format!("{at}.trusted_ca_sds"), name, other)),
            },
            _ => {
                return Err(TlsError::setting(
                    at,
                    "exactly one of `trusted_ca` and `trusted_ca_sds` is needed",
                ));
            }
        }
        if let Some((_, bytes)) = &trusted_ca {
            hash.update(bytes);
        }
    }
    if !missing.is_empty() {
        return Ok(Gathered::Missing(missing));
    }
    Ok(Gathered::Ready(Material { certs, trusted_ca, digest: hash.finalize().into() }))
}

fn wrong_kind(field: String, name: &str, secret: &Secret) -> TlsError {
    TlsError::setting(field, format!("secret `{name}` holds a {}, not what this field needs", secret.kind()))
}
