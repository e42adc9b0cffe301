//! A cluster's TLS: the rustls client configuration built once from [`UpstreamTls`] (per
//! configuration generation), the server name each endpoint is asked for, and the handshake
//! that yields what the exchanges on the connection see ([`TlsInfo`]).

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::ServerName;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;
use weir_http::{CertSummary, TlsInfo};

use crate::config::UpstreamTls;
use crate::error::TlsError;
use crate::{pem, provider, server_verify, summary};

/// A cluster's TLS, shared by every worker.
pub struct ClientTls {
    config: Arc<ClientConfig>,
    sni: Option<ServerName<'static>>,
    local: Option<CertSummary>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls").field("sni", &self.sni).finish_non_exhaustive()
    }
}

impl ClientTls {
    /// Loads `settings` for a cluster (`http2`: whether it speaks HTTP/2, for the default
    /// ALPN); `field` (`clusters[0].tls`) prefixes errors.
    pub fn new(settings: &UpstreamTls, http2: bool, field: &str) -> Result<ClientTls, TlsError> {
        let provider = provider::provider(&settings.cipher_suites, field)?;
        let versions = provider::versions(settings.min_version, settings.max_version, field)?;
        let sni = match &settings.sni {
            Some(name) => Some(
                ServerName::try_from(name.clone())
                    .map_err(|e| TlsError::setting(format!("{field}.sni"), format!("{name:?}: {e}")))?,
            ),
            None => None,
        };
        let verifier = server_verify::server_verifier(settings, &provider, field)?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| TlsError::setting(format!("{field}.cipher_suites"), e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let (mut config, local) = match &settings.client_certificate {
            Some(files) => {
                let key = pem::certified_key(files, &provider)
                    .map_err(|e| TlsError::setting(format!("{field}.client_certificate"), e.to_string()))?;
                let local = key.cert.first().and_then(|c| summary::summarize(c));
                (builder.with_client_cert_resolver(Arc::new(OwnCertificate(Arc::new(key)))), local)
            }
            None => (builder.with_no_client_auth(), None),
        };
        let alpn = match &settings.alpn_protocols {
            Some(list) => list.clone(),
            None if http2 => vec!["h2".to_string()],
            None => vec!["http/1.1".to_string()],
        };
        if alpn.iter().any(|p| p.is_empty() || p.len() > 255) {
            return Err(TlsError::setting(
                format!("{field}.alpn_protocols"),
                "a protocol name has 1 to 255 bytes",
            ));
        }
        config.alpn_protocols = alpn.into_iter().map(String::into_bytes).collect();
        Ok(ClientTls { config: Arc::new(config), sni, local })
    }

    /// The name asked for when connecting to an endpoint written as `host` (a hostname or an
    /// IP address) at `ip`: the configured `sni`, else the hostname, else the IP address (no
    /// SNI is sent for an address; the certificate must name it).
    pub fn server_name(&self, host: Option<&str>, ip: IpAddr) -> ServerName<'static> {
        if let Some(sni) = &self.sni {
            return sni.clone();
        }
        host.filter(|h| h.parse::<IpAddr>().is_err())
            .and_then(|h| ServerName::try_from(h.to_string()).ok())
            .unwrap_or(ServerName::IpAddress(ip.into()))
    }

    /// The handshake on `io` for `server_name`; the stream and what its exchanges see.
    pub async fn connect<IO>(
        &self,
        server_name: ServerName<'static>,
        io: IO,
    ) -> std::io::Result<(TlsStream<IO>, TlsInfo)>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let sent = match &server_name {
            ServerName::DnsName(name) => Some(name.as_ref().to_string()),
            _ => None,
        };
        let stream = tokio_rustls::TlsConnector::from(self.config.clone()).connect(server_name, io).await?;
        let (_, conn) = stream.get_ref();
        let info = TlsInfo {
            version: provider::version_name(conn.protocol_version()),
            server_name: sent,
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            local: self.local.clone(),
            peer: conn.peer_certificates().and_then(|c| c.first()).and_then(|c| summary::summarize(c)),
        };
        Ok((stream, info))
    }
}

/// A digest of the files `settings` names (trusted CAs, client certificate and key): what
/// changes when they are rotated.
pub fn files_digest(settings: &UpstreamTls) -> Result<[u8; 32], TlsError> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    let client = settings.client_certificate.iter().flat_map(|f| [&f.certificate_chain, &f.private_key]);
    for path in settings.trusted_ca.iter().chain(client) {
        hash.update(pem::read(path)?);
        hash.update([0]);
    }
    Ok(hash.finalize().into())
}

/// The client certificate, presented to every server that asks for one.
#[derive(Debug)]
struct OwnCertificate(Arc<CertifiedKey>);

impl ResolvesClientCert for OwnCertificate {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
