//! Accepting downstream connections and serving HTTP/1.1 and HTTP/2 (prior knowledge) on them,
//! with header limits and timeouts; draining open connections on shutdown.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use super::LocalExec;
use super::exchange::{ConnectionInfo, Exchange, ListenerContext};

/// The current configuration of a listener on one worker; swapped on reload, while requests in
/// flight keep the snapshot they started with.
pub type ListenerHandle = Rc<RefCell<Rc<ListenerContext>>>;

/// Open connections of a worker, so shutdown can wait for them.
#[derive(Debug, Default)]
pub struct ConnectionTracker {
    open: Cell<usize>,
    closed: Notify,
}

impl ConnectionTracker {
    /// Waits until every connection closed, at most `limit`; returns how many are left.
    pub async fn drain(&self, limit: Duration) -> usize {
        let _ = tokio::time::timeout(limit, async {
            while self.open.get() > 0 {
                self.closed.notified().await;
            }
        })
        .await;
        self.open.get()
    }
}

/// Accepts connections until `shutdown` turns true; open connections then finish their
/// in-flight requests (HTTP/1.1 keep-alive connections close after the current response).
pub async fn serve_listener(
    listener: TcpListener,
    context: ListenerHandle,
    connection_ids: Arc<AtomicU64>,
    mut shutdown: watch::Receiver<bool>,
    mut serving: watch::Receiver<bool>,
    tracker: Rc<ConnectionTracker>,
) {
    // Until start-up is done (xDS initial fetch), connections wait in the listen backlog.
    tokio::select! {
        ready = serving.wait_for(|s| *s) => if ready.is_err() { return },
        _ = shutdown.changed() => return,
    }
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, remote) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(remote);
        let conn = ConnectionInfo { remote, local, id: connection_ids.fetch_add(1, Ordering::Relaxed) + 1 };
        let current = context.borrow().clone();
        let (limits, gauge) = (current.limits, current.stats.connections.clone());
        let context = context.clone();
        let mut shutdown = shutdown.clone();
        let tracker = tracker.clone();
        tracker.open.set(tracker.open.get() + 1);
        gauge.inc();
        tokio::task::spawn_local(async move {
            let service = service_fn(move |request| {
                let snapshot = context.borrow().clone();
                Exchange::serve(snapshot, conn, request)
            });
            let mut builder = auto::Builder::new(LocalExec);
            builder
                .http1()
                .timer(TokioTimer::new())
                .max_headers(limits.max_headers)
                .max_buf_size(limits.max_header_bytes.max(8192))
                .header_read_timeout(limits.headers_timeout);
            let answer = super::io::AnswerHandle::new(&stream);
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
                if super::io::is_header_timeout(&*e)
                    && let Ok(answer) = &answer
                {
                    answer.answer_and_close(super::io::HEADER_TIMEOUT_REPLY);
                }
                tracing::debug!(remote = %conn.remote, "connection ended: {e}");
            }
            gauge.dec();
            tracker.open.set(tracker.open.get().saturating_sub(1));
            tracker.closed.notify_waiters();
        });
    }
}
