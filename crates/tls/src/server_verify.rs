//! Verification of an upstream server's certificate: the chain against the configured CAs or
//! the system's roots, then either the server name (rustls's WebPKI verifier) or, when
//! `verify_subject_alt_name` is set, those names instead; then the key and certificate pins.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

use crate::config::UpstreamTls;
use crate::error::TlsError;
use crate::pem;
use crate::pins::Pins;

/// The verifier of `settings`; `field` (`clusters[0].tls`) prefixes errors.
pub fn server_verifier(
    settings: &UpstreamTls,
    provider: &Arc<CryptoProvider>,
    field: &str,
) -> Result<Arc<dyn ServerCertVerifier>, TlsError> {
    let roots = match &settings.trusted_ca {
        Some(path) => {
            pem::roots(path).map_err(|e| TlsError::setting(format!("{field}.trusted_ca"), e.to_string()))?
        }
        None => system_roots(field)?,
    };
    let inner = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .map_err(|e| TlsError::setting(format!("{field}.trusted_ca"), e.to_string()))?;
    let pins = Pins::new(
        &settings.verify_subject_alt_name,
        &settings.verify_certificate_spki,
        &settings.verify_certificate_hash,
    );
    if pins.is_empty() {
        return Ok(inner);
    }
    Ok(Arc::new(PinnedServer { inner, roots, provider: provider.clone(), pins }))
}

/// The system's CA certificates (`SSL_CERT_FILE` / `SSL_CERT_DIR` or the platform's store);
/// those that do not parse are skipped, none at all is an error.
fn system_roots(field: &str) -> Result<Arc<RootCertStore>, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found.errors.first().map(|e| format!(" ({e})")).unwrap_or_default();
        return Err(TlsError::setting(
            format!("{field}.trusted_ca"),
            format!("omitted, and no system CA certificate could be loaded{why}: name a CA bundle"),
        ));
    }
    tracing::debug!("upstream TLS: {added} system CA certificates");
    Ok(Arc::new(store))
}

/// The chain, then the pins (the SAN list replacing the server name check).
#[derive(Debug)]
struct PinnedServer {
    inner: Arc<WebPkiServerVerifier>,
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    pins: Pins,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if self.pins.alt_names.is_empty() {
            self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        } else {
            let cert = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                &self.roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        if let Some(why) = self.pins.check(end_entity) {
            tracing::debug!("upstream certificate refused: {why}");
            return Err(Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(
                Refused(why),
            )))));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Why a pinned check refused a certificate (in the handshake error's text).
#[derive(Debug)]
struct Refused(&'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Refused {}
