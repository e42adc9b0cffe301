//! Accepting downstream connections and serving HTTP/1.1 and HTTP/2 on them (h2c by prior
//! knowledge; over TLS, as ALPN agreed), after the TLS handshake on a TLS listener,
//! with header limits, the connection watchdog's timeouts and the listener's connection limit;
//! draining open connections on shutdown.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use super::exchange::Exchange;
use super::io::{self, ConnIo};
use super::listener::{ConnectionInfo, ConnectionLimits, ListenerContext};
use super::{ConnWatch, Verdict};
use weir_http::h1_trailers::{Role, Splicer};
use weir_http::{BoxBody, LocalExec};

/// The current configuration of a listener on one worker; swapped on reload, while requests in
/// flight keep the snapshot they started with.
pub type ListenerHandle = Rc<RefCell<Rc<ListenerContext>>>;

/// How long a connection closed for being idle, or at shutdown, may take to say goodbye
/// (HTTP/2 GOAWAY, a response being written).
const GOODBYE: Duration = Duration::from_secs(1);

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

/// One open connection, counted until its task ends (or is aborted after the drain).
struct Open {
    gauge: prometheus_client::metrics::gauge::Gauge,
    tracker: Rc<ConnectionTracker>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.gauge.dec();
        self.tracker.open.set(self.tracker.open.get().saturating_sub(1));
        self.tracker.closed.notify_waiters();
    }
}

/// Accepts connections until `shutdown` turns true (weir stops, or the listener was removed);
/// open connections then finish their in-flight requests (HTTP/1.1 keep-alive connections
/// close after the current response, HTTP/2 ones after a GOAWAY), for at most `drain`, after
/// which those left are closed.
pub async fn serve_listener(
    listener: TcpListener,
    context: ListenerHandle,
    connection_ids: Arc<AtomicU64>,
    mut shutdown: watch::Receiver<bool>,
    mut serving: watch::Receiver<bool>,
    tracker: Rc<ConnectionTracker>,
    drain: Duration,
) {
    // Until start-up is done (xDS initial fetch), connections wait in the listen backlog.
    tokio::select! {
        ready = serving.wait_for(|s| *s) => if ready.is_err() { return },
        _ = shutdown.changed() => return,
    }
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next() => continue,
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
        let current = context.borrow().clone();
        let gauge = current.stats.connections.clone();
        // The gauge counts the listener's connections on every worker.
        if gauge.inc() >= current.limits.max_connections as i64 {
            gauge.dec();
            current.stats.connections_refused.inc();
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(remote);
        let conn = ConnectionInfo {
            remote,
            local,
            id: connection_ids.fetch_add(1, Ordering::Relaxed) + 1,
            tls: None,
        };
        tracker.open.set(tracker.open.get() + 1);
        let open = Open { gauge, tracker: tracker.clone() };
        let (context, shutdown) = (context.clone(), shutdown.clone());
        connections.spawn_local(async move {
            serve_connection(stream, conn, context, current.limits, shutdown).await;
            drop(open);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(drain, async { while connections.join_next().await.is_some() {} }).await;
    if !connections.is_empty() {
        tracing::warn!(
            connections = connections.len(),
            "drain timeout: closing connections with requests in flight"
        );
        connections.abort_all();
    }
}

async fn serve_connection(
    stream: TcpStream,
    mut conn: ConnectionInfo,
    context: ListenerHandle,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let tcp = context.borrow().tcp.clone();
    if let Some(tcp) = tcp {
        let accepted = crate::tcp::Accepted { remote: conn.remote, local: conn.local, id: conn.id };
        return crate::tcp::serve(stream, accepted, tcp).await;
    }
    let stream = Rc::new(stream);
    let watch = Rc::new(ConnWatch::new());
    let io = ConnIo::new(stream.clone(), watch.clone());
    let tls = context.borrow().tls.clone();
    let Some(tls) = tls else {
        let conn = Connection { stream, watch, info: conn, context, limits };
        return conn.drive(io, shutdown).await;
    };
    // The handshake is part of the wait for the first request (`request_headers_timeout`).
    let accepted = tokio::select! {
        accepted = tls.accept(io) => accepted,
        verdict = watch.run(limits.timeouts) => {
            tracing::debug!(remote = %conn.remote, ?verdict, "closing the connection during its TLS handshake");
            return io::close(&stream);
        }
        _ = shutdown.changed() => return,
    };
    let stats = context.borrow().stats.clone();
    match accepted {
        Ok((tls_stream, info)) => {
            stats.tls_handshakes.inc();
            if info.alpn.as_deref() == Some(b"h2") {
                watch.set_h2();
            }
            conn.tls = Some(Arc::new(info));
            let conn = Connection { stream, watch, info: conn, context, limits };
            conn.drive(tls_stream, shutdown).await;
        }
        Err(e) => {
            stats.tls_handshake_errors.inc();
            tracing::debug!(remote = %conn.remote, "TLS handshake failed: {e}");
        }
    }
}

/// A downstream connection once its transport is ready (plain, or TLS after the handshake).
struct Connection {
    stream: Rc<TcpStream>,
    watch: Rc<ConnWatch>,
    info: ConnectionInfo,
    context: ListenerHandle,
    limits: ConnectionLimits,
}

impl Connection {
    /// Serves HTTP/1.1 and HTTP/2 on `io` until the client leaves, the watchdog ends the
    /// connection, or the worker shuts down.
    async fn drive<I>(self, io: I, mut shutdown: watch::Receiver<bool>)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
    {
        let Connection { stream, watch, info: conn, context, limits } = self;
        let tls = conn.tls.is_some();
        let remote = conn.remote;
        let exchanges = watch.clone();
        let trailers = Splicer::new(limits.http1_trailers);
        // Shared, so that the stream outlives hyper's hold on it when an upgrade is proxied.
        let shared = super::tunnel::SharedIo::new(io);
        let io = TokioIo::new(trailers.io(shared.clone(), Role::Server));
        let upgrades = watch.clone();
        let stream_idle = limits.timeouts.stream_idle;
        let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let snapshot = context.borrow().clone();
            let watch = exchanges.clone();
            let conn = conn.clone();
            let (version, head) = (request.version(), request.method() == http::Method::HEAD);
            let trailers = trailers.clone();
            async move {
                let response = Exchange::serve(snapshot, conn, &watch, request).await?;
                let response = match trailers.enabled() {
                    true => response.map(|body| Box::pin(trailers.tap(body, version, head)) as BoxBody),
                    false => response,
                };
                Ok::<_, weir_http::BoxError>(response)
            }
        });
        let builder = builder(&limits);
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            verdict = watch.run(limits.timeouts) => {
                tracing::debug!(%remote, ?verdict, "closing the connection");
                match verdict {
                    // Over TLS a plaintext 408 would be garbage to the client: just close.
                    Verdict::HeadersTimeout if !tls => io::answer_and_close(&stream, io::HEADER_TIMEOUT_REPLY),
                    Verdict::HeadersTimeout | Verdict::Silent | Verdict::Stuck => io::close(&stream),
                    Verdict::Idle => {
                        connection.as_mut().graceful_shutdown();
                        if tokio::time::timeout(GOODBYE, connection.as_mut()).await.is_err() {
                            io::close(&stream);
                        }
                    }
                }
                return;
            }
            _ = shutdown.changed() => {
                connection.as_mut().graceful_shutdown();
                connection.as_mut().await
            }
        };
        if let Err(e) = result {
            tracing::debug!(%remote, "connection ended: {e}");
            return;
        }
        // hyper sent a 101 and let go: the connection is the upgraded protocol's now.
        if let Some(upstream) = upgrades.take_upgrade() {
            super::tunnel::splice(shared, upstream, stream_idle).await;
        }
    }
}

/// hyper's HTTP/1.1 and HTTP/2 settings for a listener's connections.
fn builder(limits: &ConnectionLimits) -> auto::Builder<LocalExec> {
    let mut builder = auto::Builder::new(LocalExec);
    builder
        .http1()
        .timer(TokioTimer::new())
        .max_headers(limits.max_headers)
        .max_buf_size(limits.max_header_bytes.max(8192))
        // The watchdog times request heads from their first byte (hyper's timer would run
        // on idle keep-alive connections too).
        .header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .keep_alive_interval(limits.http2_keepalive_interval)
        .keep_alive_timeout(Duration::from_secs(20));
    builder
}
