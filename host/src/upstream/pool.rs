//! Connections to one endpoint on one worker: idle HTTP/1.1 connections reused once their
//! response is fully read, or one multiplexed HTTP/2 connection. Opening a connection takes a
//! slot of the cluster's `max_connections` breaker; without a free slot the request waits (as
//! a pending request) for one or for an idle connection. Over TLS, a connection whose ALPN
//! agreed on `h2` speaks HTTP/2 (and the endpoint's later requests share it).

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Notify, OwnedSemaphorePermit};

use super::body::{Release, UpstreamBody};
use super::state::ClusterState;
use super::transport::{self, Connected};
use super::{Endpoint, UpstreamError};
use weir_http::h1_trailers::{Role, Splicer};
use weir_http::{BoxBody, LocalExec, TlsInfo};

/// A connection ready to send one request.
pub struct Connection {
    inner: Sender,
    tls: Option<Arc<TlsInfo>>,
    pool: Option<Rc<Pool>>,
}

enum Sender {
    /// HTTP/1.1, and how trailers are written on it.
    H1(http1::SendRequest<BoxBody>, Splicer),
    H2(http2::SendRequest<BoxBody>),
}

/// An idle HTTP/1.1 connection and its TLS.
struct Idle {
    sender: http1::SendRequest<BoxBody>,
    trailers: Splicer,
    tls: Option<Arc<TlsInfo>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("tls", &self.tls.is_some()).finish_non_exhaustive()
    }
}

impl Connection {
    /// The connection's TLS (`None`: cleartext), for the exchange's `upstream.*` properties.
    pub fn tls(&self) -> Option<Arc<TlsInfo>> {
        self.tls.clone()
    }

    /// Sends a request. An HTTP/1.1 connection goes back to its pool once the response body
    /// has been read to the end.
    pub async fn send(self, request: Request<BoxBody>) -> Result<Response<UpstreamBody>, UpstreamError> {
        let Connection { inner, tls, pool } = self;
        match inner {
            Sender::H1(mut sender, trailers) => {
                let request = match trailers.enabled() {
                    true => request
                        .map(|body| Box::pin(trailers.tap(body, http::Version::HTTP_11, false)) as BoxBody),
                    false => request,
                };
                let response = sender
                    .send_request(request)
                    .await
                    .map_err(|e| UpstreamError::Reset(super::error_chain(&e)))?;
                let release = pool.map(|pool| {
                    let idle = Idle { sender, trailers, tls };
                    Box::new(move || pool.release(idle)) as Release
                });
                Ok(response.map(|body| UpstreamBody::new(body, release)))
            }
            Sender::H2(mut sender) => {
                let response = sender
                    .send_request(absolute(request))
                    .await
                    .map_err(|e| UpstreamError::Reset(super::error_chain(&e)))?;
                Ok(response.map(|body| UpstreamBody::new(body, None)))
            }
        }
    }
}

/// A request made for HTTP/1.1 (origin-form target, `host` header) sent on a connection that
/// agreed on `h2` by ALPN: HTTP/2 wants `:scheme` and `:authority`.
fn absolute(mut request: Request<BoxBody>) -> Request<BoxBody> {
    if request.uri().scheme().is_some() {
        return request;
    }
    let host = request.headers_mut().remove(http::header::HOST);
    let authority = host.as_ref().and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    if let Ok(uri) = http::Uri::try_from(format!("https://{authority}{target}")) {
        *request.uri_mut() = uri;
    }
    *request.version_mut() = http::Version::HTTP_2;
    request
}

/// The endpoint's multiplexed HTTP/2 connection and its TLS.
type Shared = (http2::SendRequest<BoxBody>, Option<Arc<TlsInfo>>);

/// The pool of one endpoint on one worker.
pub struct Pool {
    addr: SocketAddr,
    host: Option<Arc<str>>,
    /// HTTP/2: the cluster's protocol, or what ALPN agreed on.
    http2: Cell<bool>,
    connect_timeout: Duration,
    cluster: Arc<ClusterState>,
    idle: RefCell<Vec<Idle>>,
    shared_h2: RefCell<Option<Shared>>,
    released: Notify,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Pool {
    pub(super) fn new(endpoint: &Endpoint, cluster: Arc<ClusterState>) -> Pool {
        Pool {
            addr: endpoint.addr,
            host: endpoint.host.clone(),
            http2: Cell::new(cluster.config.http2),
            connect_timeout: cluster.config.connect_timeout,
            cluster,
            idle: RefCell::new(Vec::new()),
            shared_h2: RefCell::new(None),
            released: Notify::new(),
        }
    }

    fn take_idle(&self) -> Option<Idle> {
        let mut idle = self.idle.borrow_mut();
        idle.retain(|i| !i.sender.is_closed());
        idle.iter().position(|i| i.sender.is_ready()).map(|i| idle.swap_remove(i))
    }

    /// A connection slot: free now, or after waiting as a pending request (an idle connection
    /// released meanwhile is returned instead).
    async fn slot(&self) -> Result<Result<OwnedSemaphorePermit, Idle>, UpstreamError> {
        loop {
            if let Some(idle) = self.take_idle() {
                return Ok(Err(idle));
            }
            if let Some(permit) = self.cluster.breakers.try_connection() {
                return Ok(Ok(permit));
            }
            tokio::select! {
                permit = self.cluster.breakers.wait_connection(self.connect_timeout) => return permit.map(Ok),
                _ = self.released.notified() => continue,
            }
        }
    }

    /// A ready connection: an idle one if any, else a new one.
    pub async fn acquire(self: Rc<Self>) -> Result<Connection, UpstreamError> {
        if self.http2.get() {
            return self.acquire_h2().await;
        }
        let (inner, tls) = match self.slot().await? {
            Err(Idle { sender, trailers, tls }) => (Sender::H1(sender, trailers), tls),
            Ok(permit) => self.open(permit, false).await?,
        };
        Ok(Connection { inner, tls, pool: Some(self) })
    }

    /// The multiplexed HTTP/2 connection (opened if needed), whatever the cluster's protocol
    /// (gRPC needs HTTP/2).
    pub async fn acquire_h2(&self) -> Result<Connection, UpstreamError> {
        let existing = self.shared_h2.borrow().clone();
        if let Some((mut sender, tls)) = existing
            && !sender.is_closed()
            && sender.ready().await.is_ok()
        {
            return Ok(Connection { inner: Sender::H2(sender), tls, pool: None });
        }
        let permit = match self.cluster.breakers.try_connection() {
            Some(p) => p,
            None => self.cluster.breakers.wait_connection(self.connect_timeout).await?,
        };
        let (inner, tls) = self.open(permit, true).await?;
        Ok(Connection { inner, tls, pool: None })
    }

    fn release(&self, idle: Idle) {
        if !idle.sender.is_closed() {
            self.idle.borrow_mut().push(idle);
            self.released.notify_one();
        }
    }

    /// TCP and, for a TLS cluster, the handshake; failures are counted as connect failures.
    async fn transport(&self) -> Result<Connected, UpstreamError> {
        let state = &self.cluster;
        let connected = transport::connect(
            self.addr,
            self.host.as_deref(),
            state.tls(),
            state.tls_required(),
            self.connect_timeout,
        )
        .await;
        if let Err(e) = &connected {
            state.stats.connect_failures.inc();
            tracing::debug!(cluster = %state.name(), endpoint = %self.addr, "upstream connect failed: {e}");
        }
        connected
    }

    /// Opens a connection: HTTP/2 when `h2`, when the cluster speaks it or when ALPN agreed on
    /// it (then kept as the endpoint's shared connection), else HTTP/1.1.
    async fn open(
        &self,
        permit: OwnedSemaphorePermit,
        h2: bool,
    ) -> Result<(Sender, Option<Arc<TlsInfo>>), UpstreamError> {
        let connected = self.transport().await?;
        let negotiated = connected.alpn_h2();
        let tls = connected.tls.clone();
        if h2 || self.http2.get() || negotiated {
            let mut builder = http2::Builder::new(LocalExec);
            if let Some(keepalive) = self.cluster.config.http2_keepalive {
                builder
                    .timer(TokioTimer::new())
                    .keep_alive_interval(keepalive.interval)
                    .keep_alive_timeout(keepalive.timeout)
                    .keep_alive_while_idle(true);
            }
            let (sender, conn) = builder
                .handshake(TokioIo::new(connected.stream))
                .await
                .map_err(|e| UpstreamError::ConnectFailure(e.to_string()))?;
            self.drive(conn, permit);
            self.http2.set(self.http2.get() || negotiated);
            *self.shared_h2.borrow_mut() = Some((sender.clone(), tls.clone()));
            return Ok((Sender::H2(sender), tls));
        }
        let trailers = Splicer::new(self.cluster.http1_trailers());
        let io = TokioIo::new(trailers.io(connected.stream, Role::Client));
        let (sender, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|e| UpstreamError::ConnectFailure(e.to_string()))?;
        self.drive(conn, permit);
        Ok((Sender::H1(sender, trailers), tls))
    }

    /// Runs a connection until it closes, holding its breaker slot and counting it.
    fn drive<F>(&self, connection: F, permit: OwnedSemaphorePermit)
    where
        F: std::future::Future<Output = Result<(), hyper::Error>> + 'static,
    {
        let gauge = self.cluster.stats.connections.clone();
        gauge.inc();
        self.cluster.stats.connections_opened.inc();
        tokio::task::spawn_local(async move {
            if let Err(e) = connection.await {
                tracing::debug!("upstream connection ended: {e}");
            }
            gauge.dec();
            drop(permit);
        });
    }
}
