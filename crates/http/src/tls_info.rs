//! What a TLS connection tells the exchanges on it (and their filters, as Envoy's
//! `connection.*` and `upstream.*` properties): the version, the server name asked for, the
//! negotiated protocol, and the two certificates.

/// A certificate as filters see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertSummary {
    /// The subject as an RFC 2253 string (`CN=client,O=Example`), as Envoy prints it.
    pub subject: String,
    /// DNS subject alternative names, in certificate order.
    pub dns_sans: Vec<String>,
    /// URI subject alternative names (SPIFFE ids among them), in certificate order.
    pub uri_sans: Vec<String>,
    /// SHA-256 of the DER certificate, lowercase hex.
    pub sha256: String,
}

/// A TLS connection once its handshake is done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: &'static str,
    /// The SNI the client sent (downstream) or the one sent (upstream).
    pub server_name: Option<String>,
    /// The ALPN protocol agreed on (`h2`, `http/1.1`).
    pub alpn: Option<Vec<u8>>,
    /// This side's certificate.
    pub local: Option<CertSummary>,
    /// The peer's certificate, when it presented one (always upstream; with mTLS downstream).
    pub peer: Option<CertSummary>,
}

impl TlsInfo {
    /// Whether the peer presented a certificate that was verified (Envoy's `connection.mtls`).
    pub fn mtls(&self) -> bool {
        self.peer.is_some()
    }
}
