//! The body type of every request and response weir sends, and its constructors. Bodies are
//! not `Send`: they run plugin callbacks and stay on their worker.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http_body_util::BodyExt;

/// Errors carried by bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type used for every request and response weir sends.
pub type BoxBody = Pin<Box<dyn http_body::Body<Data = Bytes, Error = BoxError>>>;

/// Boxes a body.
pub fn boxed<B>(body: B) -> BoxBody
where
    B: http_body::Body<Data = Bytes, Error = BoxError> + 'static,
{
    Box::pin(body)
}

/// A body with no data.
pub fn empty_body() -> BoxBody {
    boxed(http_body_util::Empty::new().map_err(|never| match never {}))
}

/// A body with one chunk.
pub fn full_body(data: impl Into<Bytes>) -> BoxBody {
    boxed(http_body_util::Full::new(data.into()).map_err(|never| match never {}))
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
