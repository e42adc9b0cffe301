//! Where a listener's certificate comes from: PEM files, or an SDS secret pushed by the
//! control plane. In `weir.yaml` one mapping: `{certificate_chain, private_key}` or `{sds}`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A certificate chain and its private key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateFiles {
    /// PEM file with the certificate first, then its intermediates (Envoy's `certificate_chain`).
    pub certificate_chain: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1; RSA, ECDSA or Ed25519).
    pub private_key: PathBuf,
}

/// One entry of a listener's `certificates`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawSource", into = "RawSource")]
pub enum CertificateSource {
    /// A chain and its key as PEM files, re-read every `watch_interval`.
    Files(CertificateFiles),
    /// The name of an SDS secret holding a `tls_certificate` (Envoy's
    /// `tls_certificate_sds_secret_configs[].name`), replaced whenever the control plane
    /// pushes a new version.
    Sds(String),
}

impl CertificateSource {
    /// The SDS secret name, for an SDS certificate.
    pub fn sds(&self) -> Option<&str> {
        match self {
            CertificateSource::Sds(name) => Some(name),
            CertificateSource::Files(_) => None,
        }
    }
}

impl From<CertificateFiles> for CertificateSource {
    fn from(files: CertificateFiles) -> CertificateSource {
        CertificateSource::Files(files)
    }
}

/// The YAML shape: either both files or `sds`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    /// PEM file with the certificate first, then its intermediates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    certificate_chain: Option<PathBuf>,
    /// PEM file with the private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    private_key: Option<PathBuf>,
    /// SDS secret name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sds: Option<String>,
}

impl TryFrom<RawSource> for CertificateSource {
    type Error = String;

    fn try_from(raw: RawSource) -> Result<CertificateSource, String> {
        match raw {
            RawSource { certificate_chain: Some(chain), private_key: Some(key), sds: None } => {
                Ok(CertificateSource::Files(CertificateFiles { certificate_chain: chain, private_key: key }))
            }
            RawSource { certificate_chain: None, private_key: None, sds: Some(name) } => {
                if name.is_empty() {
                    return Err("`sds` must name a secret".into());
                }
                Ok(CertificateSource::Sds(name))
            }
            _ => Err("a certificate is either `certificate_chain` and `private_key` (PEM files) or \
                      `sds` (the name of a secret from the control plane), not both"
                .into()),
        }
    }
}

impl From<CertificateSource> for RawSource {
    fn from(source: CertificateSource) -> RawSource {
        match source {
            CertificateSource::Files(f) => RawSource {
                certificate_chain: Some(f.certificate_chain),
                private_key: Some(f.private_key),
                sds: None,
            },
            CertificateSource::Sds(name) => RawSource { sds: Some(name), ..RawSource::default() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_or_sds_not_both() {
        let files: CertificateSource =
            serde_norway::from_str("{certificate_chain: a.pem, private_key: a.key}").unwrap();
        assert!(matches!(files, CertificateSource::Files(_)));
        let sds: CertificateSource = serde_norway::from_str("{sds: web}").unwrap();
        assert_eq!(sds, CertificateSource::Sds("web".into()));
        assert_eq!(serde_norway::to_string(&sds).unwrap().trim(), "sds: web");
        for bad in ["{sds: web, private_key: a.key}", "{certificate_chain: a.pem}", "{sds: ''}", "{x: 1}"] {
            assert!(serde_norway::from_str::<CertificateSource>(bad).is_err(), "{bad}");
        }
        let e = serde_norway::from_str::<CertificateSource>("{sds: a, certificate_chain: b}").unwrap_err();
        assert!(e.to_string().contains("not both"), "{e}");
    }
}
