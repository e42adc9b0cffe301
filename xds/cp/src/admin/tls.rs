//! The admin API over TLS: the handshake (HTTP/1.1 by ALPN, client certificates when
//! configured) within a time limit, then the same HTTP/1.1 service as over plain TCP.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::debug;
use weir_admin_guard::{Guard, Transport};
use weir_tls::{DownstreamTls, ServerTls};

use super::spawn_connection;
use crate::error::StartError;
use crate::shared::Shared;

/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The admin port's TLS (`None`: plaintext), its certificate files watched for rotation.
pub(super) fn server(settings: Option<&DownstreamTls>) -> Result<Option<Arc<ServerTls>>, StartError> {
    let Some(settings) = settings else { return Ok(None) };
    // The admin API speaks HTTP/1.1 only.
    let settings = DownstreamTls { alpn_protocols: vec!["http/1.1".into()], ..settings.clone() };
    let tls = Arc::new(ServerTls::new(&settings, "admin_tls")?);
    ServerTls::spawn_watcher(&tls, settings.watch_interval);
    Ok(Some(tls))
}

/// Completes the handshake on `stream` off the accept loop, then serves it.
pub(super) fn spawn(
    tls: Arc<ServerTls>,
    stream: TcpStream,
    peer: String,
    shared: &Arc<Shared>,
    guard: &Arc<Guard>,
    shutdown: &watch::Receiver<bool>,
) {
    let (shared, guard, shutdown) = (shared.clone(), guard.clone(), shutdown.clone());
    tokio::spawn(async move {
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
            Ok(Ok((stream, _))) => {
                spawn_connection(TokioIo::new(stream), Transport::Tcp, peer, &shared, &guard, &shutdown);
            }
            Ok(Err(e)) => debug!(%peer, error = %e, "admin TLS handshake failed"),
            Err(_) => debug!(%peer, "admin TLS handshake timed out"),
        }
    });
}
