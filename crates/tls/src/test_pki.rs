//! Certificates for tests (feature `test-pki`): a CA and the server and client certificates it
//! signs, written as PEM files into a directory the test owns. Generated at run time: no
//! private key is ever committed.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::config::CertificateFiles;

/// What goes wrong making test certificates.
pub type PkiError = Box<dyn std::error::Error + Send + Sync>;

/// A test CA writing its certificates into `dir`.
pub struct Pki {
    dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
    ca: PathBuf,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Pki {
    /// A new CA named `name` (its certificate in `dir/<name>-ca.pem`).
    pub fn new(dir: &Path, name: &str) -> Result<Pki, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        let ca = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&ca, cert.pem())?;
        Ok(Pki { dir: dir.to_path_buf(), issuer: Issuer::new(params, key), ca })
    }

    /// The CA certificate's file.
    pub fn ca(&self) -> &Path {
        &self.ca
    }

    /// A server certificate for `dns` names (CN `file`), as `dir/<file>.pem` and `.key`.
    pub fn server(&self, file: &str, dns: &[&str]) -> Result<CertificateFiles, PkiError> {
        let sans = dns.iter().map(|d| d.to_string()).collect::<Vec<_>>();
        let mut params = CertificateParams::new(sans)?;
        params.distinguished_name.push(DnType::CommonName, file);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(file, params)
    }

    /// A client certificate with subject `CN=<cn>,O=weir-tests` and the given SANs (a `://` in
    /// one makes it a URI SAN, else DNS), as `dir/<file>.pem` and `.key`.
    pub fn client(&self, file: &str, cn: &str, sans: &[&str]) -> Result<CertificateFiles, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::OrganizationName, "weir-tests");
        params.distinguished_name.push(DnType::CommonName, cn);
        for san in sans {
            params.subject_alt_names.push(match san.contains("://") {
                true => SanType::URI(san.to_string().try_into()?),
                false => SanType::DnsName(san.to_string().try_into()?),
            });
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(file, params)
    }

    fn issue(&self, file: &str, params: CertificateParams) -> Result<CertificateFiles, PkiError> {
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        let files = CertificateFiles {
            certificate_chain: self.dir.join(format!("{file}.pem")),
            private_key: self.dir.join(format!("{file}.key")),
        };
        // Key first: a watcher that sees the new certificate then finds its key.
        write_atomically(&files.private_key, &key.serialize_pem())?;
        write_atomically(&files.certificate_chain, &cert.pem())?;
        Ok(files)
    }
}

/// Writes through a temporary file and a rename, as a secret manager does.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}

/// A TLS client configuration for tests: trusts `ca`, offers `alpn`, presents `cert` if
/// given (mTLS).
pub fn client_config(
    ca: &Path,
    alpn: &[&str],
    cert: Option<&CertificateFiles>,
) -> Result<std::sync::Arc<rustls::ClientConfig>, PkiError> {
    let builder = rustls::ClientConfig::builder_with_provider(crate::provider(&[], "")?)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(crate::pem::roots(ca)?);
    let mut config = match cert {
        Some(files) => {
            let chain = std::fs::read(&files.certificate_chain)?;
            let chain = crate::pem::certificates(&files.certificate_chain, &chain)?;
            let key = std::fs::read(&files.private_key)?;
            let key = crate::pem::private_key(&files.private_key, &key)?;
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(std::sync::Arc::new(config))
}
