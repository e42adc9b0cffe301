//! Client certificate verification for a listener: the chain against the configured CAs
//! (rustls's WebPKI verifier), then the pins.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error, RootCertStore, SignatureScheme,
    client::danger::HandshakeSignatureValid, crypto::CryptoProvider,
};

use crate::config::ClientCertificates;
use crate::error::TlsError;
use crate::pins::Pins;

/// The verifier of `settings` with the CAs `roots`; `field` prefixes errors.
pub fn client_verifier(
    settings: &ClientCertificates,
    roots: Arc<RootCertStore>,
    provider: &Arc<CryptoProvider>,
    field: &str,
) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    let mut builder = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
    if !settings.require {
        builder = builder.allow_unauthenticated();
    }
    let inner = builder
        .build()
        .map_err(|e| TlsError::setting(format!("{field}.client_certificates"), e.to_string()))?;
    let pins = Pins::new(
        &settings.match_subject_alt_names,
        &settings.verify_certificate_spki,
        &settings.verify_certificate_hash,
    );
    if pins.is_empty() {
        return Ok(inner);
    }
    Ok(Arc::new(PinnedClients { inner, pins }))
}

#[derive(Debug)]
struct PinnedClients {
    inner: Arc<dyn ClientCertVerifier>,
    pins: Pins,
}

impl ClientCertVerifier for PinnedClients {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let verified = self.inner.verify_client_cert(end_entity, intermediates, now)?;
        if let Some(why) = self.pins.check(end_entity) {
            tracing::debug!("client certificate refused: {why}");
            return Err(Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure));
        }
        Ok(verified)
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
