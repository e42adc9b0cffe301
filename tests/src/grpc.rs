//! A tonic gRPC server for callout tests, speaking raw bytes (no protobuf needed):
//!
//! - `/weir.test.Echo/Unary`: answers the request message; a message `fail:<code>` is answered
//!   with that gRPC status and the message `requested failure`; `sleep:<ms>` is answered
//!   after that many milliseconds.
//! - `/weir.test.Echo/Stream`: answers every message with `echo:<message>`, then status OK
//!   when the client half-closes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;

use bytes::{Buf, BufMut, Bytes};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::oneshot;
use tokio_stream::{Stream, StreamExt};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{Grpc, StreamingService, UnaryService};
use tonic::{Request, Response, Status, Streaming};

/// Raw-bytes codec.
#[derive(Debug, Clone, Copy, Default)]
struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesCodec;
    type Decoder = BytesCodec;

    fn encoder(&mut self) -> Self::Encoder {
        BytesCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesCodec
    }
}

impl Encoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

struct Unary;

impl UnaryService<Bytes> for Unary {
    type Response = Bytes;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Response<Bytes>, Status>> + Send>>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let message = request.into_inner();
        Box::pin(async move {
            let text = String::from_utf8_lossy(&message);
            if let Some(code) = text.strip_prefix("fail:").and_then(|c| c.parse::<i32>().ok()) {
                return Err(Status::new(tonic::Code::from(code), "requested failure"));
            }
            if let Some(ms) = text.strip_prefix("sleep:").and_then(|c| c.parse::<u64>().ok()) {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            Ok(Response::new(message))
        })
    }
}

type EchoStream = Pin<Box<dyn Stream<Item = Result<Bytes, Status>> + Send>>;

struct Echo;

impl StreamingService<Bytes> for Echo {
    type Response = Bytes;
    type ResponseStream = EchoStream;
    type Future = std::future::Ready<Result<Response<EchoStream>, Status>>;

    fn call(&mut self, request: Request<Streaming<Bytes>>) -> Self::Future {
        let stream = request.into_inner().map(|m| {
            m.map(|bytes| {
                let mut out = b"echo:".to_vec();
                out.extend_from_slice(&bytes);
                Bytes::from(out)
            })
        });
        std::future::ready(Ok(Response::new(Box::pin(stream) as EchoStream)))
    }
}

async fn route(request: http::Request<Incoming>) -> Result<http::Response<tonic::body::Body>, Infallible> {
    let mut grpc = Grpc::new(BytesCodec);
    let request = request.map(|b| b.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>));
    Ok(match request.uri().path() {
        "/weir.test.Echo/Unary" => grpc.unary(Unary, request).await,
        "/weir.test.Echo/Stream" => grpc.streaming(Echo, request).await,
        _ => Status::unimplemented("no such method").into_http(),
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
