//! Reading PEM files and PEM text (SDS secrets): certificate chains, private keys and CA
//! bundles. Each file is read whole once (a few KiB), so a rotation sees either the old or the
//! new content.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use crate::config::CertificateFiles;
use crate::error::TlsError;

/// Largest PEM file read (a chain with many intermediates is ~20 KiB).
pub const MAX_PEM_BYTES: u64 = 1 << 20;

/// The bytes of a file, at most [`MAX_PEM_BYTES`].
pub fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read = |source| TlsError::Read { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(read)?;
    if meta.len() > MAX_PEM_BYTES {
        return Err(TlsError::Pem { path: path.to_path_buf(), what: format!("over {MAX_PEM_BYTES} bytes") });
    }
    std::fs::read(path).map_err(read)
}

/// Every certificate of a PEM file, in order.
pub fn certificates(path: &Path, bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    parse_certificates(bytes).map_err(|what| TlsError::Pem { path: path.to_path_buf(), what })
}

/// The private key of a PEM file.
pub fn private_key(path: &Path, bytes: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    parse_private_key(bytes).map_err(|what| TlsError::Pem { path: path.to_path_buf(), what })
}

/// A chain and its key, checked to belong together.
pub fn certified_key(files: &CertificateFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let chain = certificates(&files.certificate_chain, &read(&files.certificate_chain)?)?;
    let key = private_key(&files.private_key, &read(&files.private_key)?)?;
    pair(chain, key, provider).map_err(|what| TlsError::Key {
        path: files.private_key.clone(),
        what: what.replace("certificate_chain", &files.certificate_chain.display().to_string()),
    })
}

/// A CA bundle as a root store; every certificate in it must parse as a trust anchor.
pub fn roots(path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    parse_roots(&read(path)?).map_err(|what| TlsError::Pem { path: path.to_path_buf(), what })
}

/// Every certificate of PEM text, in order; at least one.
pub fn parse_certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs =
        CertificateDer::pem_slice_iter(bytes).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate in the PEM text".into());
    }
    Ok(certs)
}

/// The (first) private key of PEM text.
pub fn parse_private_key(bytes: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(bytes).map_err(|e| format!("no private key: {e}"))
}

/// A chain and its key, checked to belong together (errors name the chain
/// `certificate_chain`).
pub fn pair(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, String> {
    let signing = provider.key_provider.load_private_key(key).map_err(|e| e.to_string())?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| format!("does not match certificate_chain: {e}"))?;
    Ok(certified)
}

/// A CA bundle (PEM text) as a root store; every certificate must parse as a trust anchor.
pub fn parse_roots(bytes: &[u8]) -> Result<Arc<RootCertStore>, String> {
    let mut store = RootCertStore::empty();
    for cert in parse_certificates(bytes)? {
        store.add(cert).map_err(|e| format!("not a CA: {e}"))?;
    }
    Ok(Arc::new(store))
}
