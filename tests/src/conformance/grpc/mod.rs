//! A tonic gRPC server for callout tests, speaking raw bytes (no protobuf needed):
//!
//! - `/weir.test.Echo/Unary`: answers the request message; a message `fail:<code>` is answered
//!   with that gRPC status and the message `requested failure`; `status:<code>:<message>` with
//!   that status and message (no `grpc-message` when empty); `sleep:<ms>` is answered after
//!   that many milliseconds; `headers` with the sorted names of the request headers it
//!   received, `header:<name>` with that header's value (or `<absent>`).
//! - `/weir.test.Echo/Stream`: answers every message with `echo:<message>`, then status OK
//!   when the client half-closes; a message `status:<code>:<message>` ends the stream with
//!   that status instead.
//! - `/weir.test.Reset/BeforeHeaders`: resets the stream (RST_STREAM) without answering;
//!   `/weir.test.Reset/AfterMessage`: sends headers and one message (`partial`), then (100 ms
//!   later) resets.
//! - `/weir.test.Empty/Ok`: HTTP 200, `application/grpc`, no message and no `grpc-status`.
//! - `/weir.test.Http/<code>`: answers that HTTP status, `text/plain`, no gRPC status.
//! - anything else: UNIMPLEMENTED.

mod codec;
mod services;

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::oneshot;
use tonic::Status;
use tonic::server::Grpc;

use codec::BytesCodec;
use services::{Echo, Unary};

type Reply = http::Response<tonic::body::Body>;

/// A response that sends `frames`, waits a little (so they leave), then fails, so the server
/// resets the stream. With no frames the reset comes before any response headers do.
fn resetting(frames: Vec<Bytes>) -> Reply {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
    tokio::spawn(async move {
        for frame in frames {
            let _ = tx.send(Ok(Frame::data(frame))).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let _ = tx.send(Err(std::io::Error::other("reset requested by the test"))).await;
    });
    let body = tonic::body::Body::new(StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx)));
    let mut reply = http::Response::new(body);
    reply.headers_mut().insert("content-type", http::HeaderValue::from_static("application/grpc"));
    reply
}

/// A plain HTTP answer with `status` and no gRPC status.
fn http_status(code: &str) -> Reply {
    let status = code.parse::<u16>().ok().and_then(|c| http::StatusCode::from_u16(c).ok());
    let mut reply = http::Response::new(tonic::body::Body::new(http_body_util::Full::new(Bytes::from(
        format!("http {code}"),
    ))));
    *reply.status_mut() = status.unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    reply.headers_mut().insert("content-type", http::HeaderValue::from_static("text/plain"));
    reply
}

/// HTTP 200 with the gRPC content type, no message and no `grpc-status` anywhere.
fn empty_ok() -> Reply {
    let mut reply = http::Response::new(tonic::body::Body::empty());
    reply.headers_mut().insert("content-type", http::HeaderValue::from_static("application/grpc"));
    reply
}

async fn route(request: http::Request<Incoming>) -> Result<Reply, std::io::Error> {
    let mut grpc = Grpc::new(BytesCodec);
    let path = request.uri().path().to_string();
    let request = request.map(|b| b.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>));
    Ok(match path.as_str() {
        "/weir.test.Echo/Unary" => grpc.unary(Unary, request).await,
        "/weir.test.Echo/Stream" => grpc.streaming(Echo, request).await,
        "/weir.test.Reset/BeforeHeaders" => return Err(std::io::Error::other("reset requested by the test")),
        "/weir.test.Reset/AfterMessage" => resetting(vec![Bytes::from_static(b"\0\0\0\0\x07partial")]),
        other => match other.strip_prefix("/weir.test.Http/") {
            Some(code) => http_status(code),
            None if other == "/weir.test.Empty/Ok" => empty_ok(),
            None => Status::unimplemented("no such method").into_http(),
        },
    })
}

/// A running gRPC server; stops on drop.
pub struct GrpcServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GrpcServer {
    /// Starts on 127.0.0.1 with an ephemeral port (HTTP/2 prior knowledge).
    pub fn start() -> anyhow::Result<GrpcServer> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("grpc-test".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("grpc runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("grpc listener");
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            tokio::spawn(async move {
                                let builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                                let _ = builder.serve_connection(TokioIo::new(stream), service_fn(route)).await;
                            });
                        }
                        _ = &mut stop_rx => break,
                    }
                }
            });
        })?;
        Ok(GrpcServer { addr, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
