//! The HTTP data path: listeners, the per-exchange plugin chain, bodies, local replies and
//! the conversions between hyper's types and the header maps plugins see.

mod body;
mod byte_view;
mod chain;
mod chunk;
mod convert;
mod exchange;
mod forward;
mod forwarded;
mod header_name;
mod headers;
mod io;
mod local_reply;
mod path;
mod prefetch;
mod request_phase;
mod server;
mod stream;
mod watchdog;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

pub use body::{BodyHalted, FilteredBody};
pub use byte_view::ByteView;
pub use chain::{Chain, Direction, Halt};
pub use convert::{
    add_service_time, header_map_from_http, http_trailers_from_map, request_map, response_map,
    upstream_request,
};
pub use exchange::{ConnectionInfo, ConnectionLimits, Exchange, ListenerContext};
pub use headers::{HeaderMap, Name, NameCache};
pub use local_reply::local_reply_response;
pub use server::{ConnectionTracker, ListenerHandle, serve_listener};
pub use stream::{HttpStream, LocalReply, Phase, StreamInfo, StreamShared};
pub use watchdog::{Activity, ConnWatch, Timeouts, Verdict};

/// Errors carried by bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type used for every request and response weir sends. Not `Send`: bodies run
/// plugin callbacks and stay on their worker.
pub type BoxBody = Pin<Box<dyn http_body::Body<Data = Bytes, Error = BoxError>>>;

/// Boxes a body.
pub fn boxed<B>(body: B) -> BoxBody
where
    B: http_body::Body<Data = Bytes, Error = BoxError> + 'static,
{
    Box::pin(body)
}

/// Runs hyper's background tasks (HTTP/2 streams) on the current worker's `LocalSet`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: Future + 'static,
{
    fn execute(&self, future: F) {
        tokio::task::spawn_local(future);
    }
}

/// A body with no data.
pub fn empty_body() -> BoxBody {
    use http_body_util::BodyExt;
    boxed(http_body_util::Empty::new().map_err(|never| match never {}))
}

/// A body with one chunk.
pub fn full_body(data: impl Into<Bytes>) -> BoxBody {
    use http_body_util::BodyExt;
    boxed(http_body_util::Full::new(data.into()).map_err(|never| match never {}))
}
