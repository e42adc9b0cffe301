//! Connections to one endpoint on one worker: idle HTTP/1.1 connections reused once their
//! response is fully read, or one multiplexed HTTP/2 connection. Opening a connection takes a
//! slot of the cluster's `max_connections` breaker; without a free slot the request waits (as
//! a pending request) for one or for an idle connection.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit};

use super::UpstreamError;
use super::state::ClusterState;
use weir_http::{BoxBody, LocalExec};

/// A connection ready to send one request.
pub struct Connection {
    inner: Sender,
    pool: Option<Rc<Pool>>,
}

enum Sender {
    H1(http1::SendRequest<BoxBody>),
    H2(http2::SendRequest<BoxBody>),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

impl Connection {
    /// Sends a request. An HTTP/1.1 connection goes back to its pool once the response body
    /// has been read to the end.
    pub async fn send(self, request: Request<BoxBody>) -> Result<Response<UpstreamBody>, UpstreamError> {
        let Connection { inner, pool } = self;
        match inner {
            Sender::H1(mut sender) => {
                let response = sender
                    .send_request(request)
                    .await
                    .map_err(|e| UpstreamError::Reset(super::error_chain(&e)))?;
                let release = pool.map(|p| (p, sender));
                Ok(response.map(|body| {
                    let mut body = UpstreamBody { inner: body, release };
                    body.release_if_ended();
                    body
                }))
            }
            Sender::H2(mut sender) => {
                let response = sender
                    .send_request(request)
                    .await
                    .map_err(|e| UpstreamError::Reset(super::error_chain(&e)))?;
                Ok(response.map(|body| UpstreamBody { inner: body, release: None }))
            }
        }
    }
}

/// An upstream response body; returns its HTTP/1.1 connection to the pool at the end.
pub struct UpstreamBody {
    inner: Incoming,
    release: Option<(Rc<Pool>, http1::SendRequest<BoxBody>)>,
}

impl UpstreamBody {
    /// Returns the connection to the pool once the body is read to its end. hyper's server
    /// stops polling a body as soon as `is_end_stream` says so (after the last data frame, or
    /// at once for an empty body), so waiting for `Ready(None)` alone would close every
    /// connection instead of reusing it.
    fn release_if_ended(&mut self) {
        if self.inner.is_end_stream() {
            self.release_now();
        }
    }

    fn release_now(&mut self) {
        if let Some((pool, sender)) = self.release.take() {
            pool.release(sender);
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match polled {
            Poll::Ready(None) => self.release_now(),
            Poll::Ready(Some(Ok(_))) => self.release_if_ended(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The pool of one endpoint on one worker.
pub struct Pool {
    addr: SocketAddr,
    http2: bool,
    connect_timeout: Duration,
    cluster: Arc<ClusterState>,
    idle: RefCell<Vec<http1::SendRequest<BoxBody>>>,
    shared_h2: RefCell<Option<http2::SendRequest<BoxBody>>>,
    released: Notify,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Pool {
    pub(super) fn new(addr: SocketAddr, cluster: Arc<ClusterState>) -> Pool {
        Pool {
            addr,
            http2: cluster.config.http2,
            connect_timeout: cluster.config.connect_timeout,
            cluster,
            idle: RefCell::new(Vec::new()),
            shared_h2: RefCell::new(None),
            released: Notify::new(),
        }
    }

    fn take_idle(&self) -> Option<http1::SendRequest<BoxBody>> {
        let mut idle = self.idle.borrow_mut();
        idle.retain(|s| !s.is_closed());
        idle.iter().position(|s| s.is_ready()).map(|i| idle.swap_remove(i))
    }

    /// A connection slot: free now, or after waiting as a pending request (an idle connection
    /// released meanwhile is returned instead).
    async fn slot(&self) -> Result<Result<OwnedSemaphorePermit, http1::SendRequest<BoxBody>>, UpstreamError> {
        loop {
            if let Some(sender) = self.take_idle() {
                return Ok(Err(sender));
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
        if self.http2 {
            return self.acquire_h2().await;
        }
        let sender = match self.slot().await? {
            Err(idle) => idle,
            Ok(permit) => self.connect_h1(permit).await?,
        };
        Ok(Connection { inner: Sender::H1(sender), pool: Some(self) })
    }

    /// The multiplexed HTTP/2 connection (opened if needed), whatever the cluster's protocol
    /// (gRPC needs HTTP/2).
    pub async fn acquire_h2(&self) -> Result<Connection, UpstreamError> {
        let existing = self.shared_h2.borrow().clone();
        if let Some(mut sender) = existing
            && !sender.is_closed()
            && sender.ready().await.is_ok()
        {
            return Ok(Connection { inner: Sender::H2(sender), pool: None });
        }
        let permit = match self.cluster.breakers.try_connection() {
            Some(p) => p,
            None => self.cluster.breakers.wait_connection(self.connect_timeout).await?,
        };
        let sender = self.connect_h2(permit).await?;
        *self.shared_h2.borrow_mut() = Some(sender.clone());
        Ok(Connection { inner: Sender::H2(sender), pool: None })
    }

    fn release(&self, sender: http1::SendRequest<BoxBody>) {
        if !sender.is_closed() {
            self.idle.borrow_mut().push(sender);
            self.released.notify_one();
        }
    }

    async fn tcp(&self) -> Result<TokioIo<TcpStream>, UpstreamError> {
        let connected = tokio::time::timeout(self.connect_timeout, TcpStream::connect(self.addr)).await;
        let stream = match connected {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                self.cluster.stats.connect_failures.inc();
                return Err(UpstreamError::ConnectFailure(e.to_string()));
            }
            Err(_) => {
                self.cluster.stats.connect_failures.inc();
                return Err(UpstreamError::ConnectTimeout);
            }
        };
        let _ = stream.set_nodelay(true);
        Ok(TokioIo::new(stream))
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

    async fn connect_h1(
        &self,
        permit: OwnedSemaphorePermit,
    ) -> Result<http1::SendRequest<BoxBody>, UpstreamError> {
        let io = self.tcp().await?;
        let (sender, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|e| UpstreamError::ConnectFailure(e.to_string()))?;
        self.drive(conn, permit);
        Ok(sender)
    }

    async fn connect_h2(
        &self,
        permit: OwnedSemaphorePermit,
    ) -> Result<http2::SendRequest<BoxBody>, UpstreamError> {
        let io = self.tcp().await?;
        let (sender, conn) = http2::Builder::new(LocalExec)
            .handshake(io)
            .await
            .map_err(|e| UpstreamError::ConnectFailure(e.to_string()))?;
        self.drive(conn, permit);
        Ok(sender)
    }
}
