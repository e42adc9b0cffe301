//! Reading PEM files: certificate chains, private keys and CA bundles. Each file is read
//! whole once (a few KiB), so a rotation sees either the old or the new content.

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
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { path: path.to_path_buf(), what: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::Pem { path: path.to_path_buf(), what: "no certificate in the file".into() });
    }
    Ok(certs)
}

/// The private key of a PEM file.
pub fn private_key(path: &Path, bytes: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(bytes)
        .map_err(|e| TlsError::Pem { path: path.to_path_buf(), what: format!("no private key: {e}") })
}

/// A chain and its key, checked to belong together.
pub fn certified_key(files: &CertificateFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let chain = certificates(&files.certificate_chain, &read(&files.certificate_chain)?)?;
    let key = private_key(&files.private_key, &read(&files.private_key)?)?;
    let key_error = |what: String| TlsError::Key { path: files.private_key.clone(), what };
    let signing = provider.key_provider.load_private_key(key).map_err(|e| key_error(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| key_error(format!("does not match {}: {e}", files.certificate_chain.display())))?;
    Ok(certified)
}

/// A CA bundle as a root store; every certificate in it must parse as a trust anchor.
pub fn roots(path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in certificates(path, &read(path)?)? {
        store
            .add(cert)
            .map_err(|e| TlsError::Pem { path: path.to_path_buf(), what: format!("not a CA: {e}") })?;
    }
    Ok(Arc::new(store))
}
