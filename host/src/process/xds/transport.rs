//! The xDS connection over TLS: the control plane's cluster's `tls` (its CA, SAN checks and
//! client certificate: mTLS to weir-cp) applied to the ADS stream's connection.

use std::sync::Arc;

use weir_tls::ClientTls;
use weir_xds::client::{Connecting, Io, Transport};

/// Connects with TCP, then the cluster's TLS handshake. When the cluster's TLS files cannot be
/// loaded (validation read them moments before), every attempt fails with the reason rather
/// than connect in cleartext.
#[derive(Debug)]
pub struct TlsTransport(Result<Arc<ClientTls>, String>);

impl TlsTransport {
    /// The transport of the control plane's cluster `cluster` with TLS `settings`.
    pub fn new(cluster: &crate::config::ClusterConfig, settings: &weir_tls::UpstreamTls) -> TlsTransport {
        let field = format!("clusters[{}].tls", cluster.name);
        TlsTransport(ClientTls::new(settings, true, &field).map(Arc::new).map_err(|e| e.to_string()))
    }
}

impl Transport for TlsTransport {
    fn connect(&self, endpoint: String) -> Connecting {
        let tls = self.0.clone();
        Box::pin(async move {
            let tls = tls.map_err(std::io::Error::other)?;
            let tcp = tokio::net::TcpStream::connect(&endpoint).await?;
            let _ = tcp.set_nodelay(true);
            let ip = tcp.peer_addr()?.ip();
            let host =
                endpoint.rsplit_once(':').map(|(host, _)| host.trim_start_matches('[').trim_end_matches(']'));
            let (stream, _) = tls.connect(tls.server_name(host, ip), tcp).await?;
            Ok(Box::new(stream) as Box<dyn Io>)
        })
    }
}
