//! Accepting downstream connections and serving HTTP/1.1 and HTTP/2 (prior knowledge) on them.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::LocalExec;
use super::exchange::{ConnectionInfo, Exchange, ListenerContext};

/// The current configuration of a listener on one worker; swapped on reload, while requests in
/// flight keep the snapshot they started with.
pub type ListenerHandle = Rc<RefCell<Rc<ListenerContext>>>;

/// Accepts connections until `shutdown` turns true, then lets open connections finish their
/// in-flight requests.
pub async fn serve_listener(
    listener: TcpListener,
    context: ListenerHandle,
    connection_ids: Arc<AtomicU64>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, remote) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(remote);
        let conn = ConnectionInfo { remote, local, id: connection_ids.fetch_add(1, Ordering::Relaxed) + 1 };
        let context = context.clone();
        let mut shutdown = shutdown.clone();
        tokio::task::spawn_local(async move {
            let service = service_fn(move |request| {
                let snapshot = context.borrow().clone();
                Exchange::serve(snapshot, conn, request)
            });
            let builder = auto::Builder::new(LocalExec);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = shutdown.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.as_mut().await
                }
            };
            if let Err(e) = result {
                tracing::debug!(remote = %conn.remote, "connection ended: {e}");
            }
        });
    }
}
