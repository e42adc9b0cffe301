//! The methods of the gRPC test server (see the module docs of [`super`]).

use std::pin::Pin;

use bytes::Bytes;
use http::HeaderMap;
use tokio_stream::{Stream, StreamExt};
use tonic::server::{StreamingService, UnaryService};
use tonic::{Code, Request, Response, Status, Streaming};

/// A status a message asks for: `status:<code>:<message>` (an empty message sends no
/// `grpc-message`).
fn requested_status(text: &str) -> Option<Status> {
    let (code, message) = text.strip_prefix("status:")?.split_once(':')?;
    Some(Status::new(Code::from(code.parse::<i32>().ok()?), message.to_string()))
}

/// What the request headers show for `headers` (sorted names) and `header:<name>` (the value
/// or `<absent>`).
fn header_report(text: &str, headers: &HeaderMap) -> Option<Bytes> {
    if text == "headers" {
        let mut names: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        return Some(Bytes::from(names.join(",")));
    }
    let name = text.strip_prefix("header:")?;
    let value = headers.get(name).map_or(b"<absent>".to_vec(), |v| v.as_bytes().to_vec());
    Some(Bytes::from(value))
}

/// `/weir.test.Echo/Unary`.
pub(super) struct Unary;

impl UnaryService<Bytes> for Unary {
    type Response = Bytes;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Response<Bytes>, Status>> + Send>>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let headers = request.metadata().clone().into_headers();
        let message = request.into_inner();
        Box::pin(async move {
            let text = String::from_utf8_lossy(&message);
            if let Some(code) = text.strip_prefix("fail:").and_then(|c| c.parse::<i32>().ok()) {
                return Err(Status::new(Code::from(code), "requested failure"));
            }
            if let Some(status) = requested_status(&text) {
                return Err(status);
            }
            if let Some(report) = header_report(&text, &headers) {
                return Ok(Response::new(report));
            }
            if let Some(ms) = text.strip_prefix("sleep:").and_then(|c| c.parse::<u64>().ok()) {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            Ok(Response::new(message))
        })
    }
}

pub(super) type EchoStream = Pin<Box<dyn Stream<Item = Result<Bytes, Status>> + Send>>;

/// `/weir.test.Echo/Stream`: `echo:<message>` per message; a message `status:<code>:<text>`
/// ends the stream with that status instead.
pub(super) struct Echo;

impl StreamingService<Bytes> for Echo {
    type Response = Bytes;
    type ResponseStream = EchoStream;
    type Future = std::future::Ready<Result<Response<EchoStream>, Status>>;

    fn call(&mut self, request: Request<Streaming<Bytes>>) -> Self::Future {
        let stream = request.into_inner().map(|m| {
            let bytes = m?;
            if let Some(status) = requested_status(&String::from_utf8_lossy(&bytes)) {
                return Err(status);
            }
            let mut out = b"echo:".to_vec();
            out.extend_from_slice(&bytes);
            Ok(Bytes::from(out))
        });
        // The first error ends the stream (tonic sends it as the trailers).
        let mut failed = false;
        let stream = stream.take_while(move |item| {
            let keep = !failed;
            failed |= item.is_err();
            keep
        });
        std::future::ready(Ok(Response::new(Box::pin(stream) as EchoStream)))
    }
}
