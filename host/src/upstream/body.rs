//! An upstream response body, which returns its HTTP/1.1 connection to the pool once read to
//! its end.

use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::pool::{Idle, Pool};

/// An upstream response body; returns its HTTP/1.1 connection to the pool at the end.
pub struct UpstreamBody {
    pub(super) inner: Incoming,
    pub(super) release: Option<(Rc<Pool>, Idle)>,
}

impl UpstreamBody {
    /// Returns the connection to the pool once the body is read to its end. hyper's server
    /// stops polling a body as soon as `is_end_stream` says so (after the last data frame, or
    /// at once for an empty body), so waiting for `Ready(None)` alone would close every
    /// connection instead of reusing it.
    pub(super) fn release_if_ended(&mut self) {
        if self.inner.is_end_stream() {
            self.release_now();
        }
    }

    fn release_now(&mut self) {
        if let Some((pool, idle)) = self.release.take() {
            pool.release(idle);
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
