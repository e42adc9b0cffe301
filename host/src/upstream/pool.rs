//! Connections to one endpoint: idle HTTP/1.1 connections reused, or one multiplexed HTTP/2
//! connection.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::UpstreamError;
use crate::http::{BoxBody, LocalExec};

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
    /// Sends a request; the connection goes back to its pool once response headers arrived
    /// (an HTTP/1.1 connection is reused only once its response body is read).
    pub async fn send(self, request: Request<BoxBody>) -> Result<Response<Incoming>, UpstreamError> {
        let Connection { inner, pool } = self;
        match inner {
            Sender::H1(mut sender) => {
                let response = sender.send_request(request).await;
                if let Some(pool) = pool {
                    pool.release(sender);
                }
                response.map_err(|e| UpstreamError::Reset(e.to_string()))
            }
            Sender::H2(mut sender) => {
                sender.send_request(request).await.map_err(|e| UpstreamError::Reset(e.to_string()))
            }
        }
    }
}

/// The pool of one endpoint.
#[derive(Debug)]
pub struct Pool {
    addr: SocketAddr,
    http2: bool,
    connect_timeout: Duration,
    idle: RefCell<Vec<http1::SendRequest<BoxBody>>>,
    shared_h2: RefCell<Option<http2::SendRequest<BoxBody>>>,
}

impl Pool {
    pub(super) fn new(addr: SocketAddr, http2: bool, connect_timeout: Duration) -> Pool {
        Pool { addr, http2, connect_timeout, idle: RefCell::new(Vec::new()), shared_h2: RefCell::new(None) }
    }

    /// The endpoint address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A ready connection: an idle one if any, else a new one.
    pub async fn acquire(self: Rc<Self>) -> Result<Connection, UpstreamError> {
        if self.http2 {
            return self.acquire_h2().await;
        }
        let reusable = {
            let mut idle = self.idle.borrow_mut();
            idle.retain(|s| !s.is_closed());
            idle.iter().position(|s| s.is_ready()).map(|i| idle.swap_remove(i))
        };
        let sender = match reusable {
            Some(sender) => sender,
            None => self.connect_h1().await?,
        };
        Ok(Connection { inner: Sender::H1(sender), pool: Some(self) })
    }

    /// A multiplexed HTTP/2 connection (shared by every request to this endpoint), whatever
    /// the cluster's protocol (gRPC needs HTTP/2).
    pub async fn acquire_h2(&self) -> Result<Connection, UpstreamError> {
        let existing = self.shared_h2.borrow().clone();
        if let Some(mut sender) = existing
            && !sender.is_closed()
            && sender.ready().await.is_ok()
        {
            return Ok(Connection { inner: Sender::H2(sender), pool: None });
        }
        let sender = self.connect_h2().await?;
        *self.shared_h2.borrow_mut() = Some(sender.clone());
        Ok(Connection { inner: Sender::H2(sender), pool: None })
    }

    fn release(&self, sender: http1::SendRequest<BoxBody>) {
        if !sender.is_closed() {
            self.idle.borrow_mut().push(sender);
        }
    }

    async fn tcp(&self) -> Result<TokioIo<TcpStream>, UpstreamError> {
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect(self.addr))
            .await
            .map_err(|_| UpstreamError::ConnectTimeout)?
            .map_err(|e| UpstreamError::ConnectFailure(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        Ok(TokioIo::new(stream))
    }

    async fn connect_h1(&self) -> Result<http1::SendRequest<BoxBody>, UpstreamError> {
        let io = self.tcp().await?;
        let (sender, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|e| UpstreamError::ConnectFailure(e.to_string()))?;
        tokio::task::spawn_local(async move {
            if let Err(e) = conn.await {
                tracing::debug!("upstream HTTP/1.1 connection ended: {e}");
            }
        });
        Ok(sender)
    }

    async fn connect_h2(&self) -> Result<http2::SendRequest<BoxBody>, UpstreamError> {
        let io = self.tcp().await?;
        let (sender, conn) = http2::Builder::new(LocalExec)
            .handshake(io)
            .await
            .map_err(|e| UpstreamError::ConnectFailure(e.to_string()))?;
        tokio::task::spawn_local(async move {
            if let Err(e) = conn.await {
                tracing::debug!("upstream HTTP/2 connection ended: {e}");
            }
        });
        Ok(sender)
    }
}
