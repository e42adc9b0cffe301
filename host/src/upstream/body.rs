//! An upstream response body, which gives its HTTP/1.1 connection back (to the pool that
//! lent it) once read to its end.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

/// What gives a connection back once its response is read.
pub(super) type Release = Box<dyn FnOnce()>;

/// An upstream response body; gives its HTTP/1.1 connection back at the end.
pub struct UpstreamBody {
    inner: Incoming,
    release: Option<Release>,
}

impl std::fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamBody").field("release", &self.release.is_some()).finish_non_exhaustive()
    }
}

impl UpstreamBody {
    /// `inner`, calling `release` (if any) once it is read to its end.
    pub(super) fn new(inner: Incoming, release: Option<Release>) -> UpstreamBody {
        let mut body = UpstreamBody { inner, release };
        body.release_if_ended();
        body
    }

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
        if let Some(release) = self.release.take() {
            release();
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
