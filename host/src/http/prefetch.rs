//! The request body while plugins hold the request headers: read and kept by the host, as
//! Envoy buffers a body while a Wasm filter pauses on its headers (stop-all-and-watermark):
//! up to the listener's `buffer_limit_bytes`, then reading stops (backpressure on the client)
//! until the headers go on. What was kept is then handed over as one chunk, ahead of the rest
//! of the body: a body that arrived whole during the pause reaches the plugins in one body
//! callback with `end_of_stream`, as in Envoy.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use weir_http::{BoxBody, BoxError};

/// A request body, possibly partly read ahead.
pub(crate) struct Prefetch {
    /// What is left to read (`None` once handed over or ended).
    body: Option<Incoming>,
    held: BytesMut,
    trailers: Option<http::HeaderMap>,
    ended: bool,
    limit: usize,
}

impl Prefetch {
    /// A body not read yet; at most `limit` bytes are held.
    pub(crate) fn new(body: Incoming, limit: usize) -> Prefetch {
        Prefetch { body: Some(body), held: BytesMut::new(), trailers: None, ended: false, limit }
    }

    /// Whether the whole body was read.
    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// Whether more should be read ahead: the body has not ended and less than the limit is
    /// held (a frame may take it past the limit by its own size).
    pub(crate) fn wants_more(&self) -> bool {
        !self.ended && self.body.is_some() && self.held.len() < self.limit
    }

    /// Whether nothing was read ahead.
    pub(crate) fn is_untouched(&self) -> bool {
        self.held.is_empty() && self.trailers.is_none() && !self.ended
    }

    /// Reads one more frame and keeps it. Cancel-safe: a frame is kept once read.
    pub(crate) async fn fill(&mut self) {
        let Some(body) = self.body.as_mut() else {
            return std::future::pending().await;
        };
        match body.frame().await {
            None | Some(Err(_)) => self.ended = true,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    self.held.extend_from_slice(&data);
                    self.ended = body.is_end_stream();
                }
                Err(frame) => {
                    self.trailers = frame.into_trailers().ok();
                    self.ended = true;
                }
            },
        }
    }

    /// The body to forward: what was held, then the rest. Taken once.
    pub(crate) fn take_body(&mut self) -> BoxBody {
        let rest = self.body.take().map(|b| weir_http::boxed(b.map_err(|e| Box::new(e) as BoxError)));
        let mut ahead = VecDeque::new();
        if !self.held.is_empty() {
            ahead.push_back(Frame::data(std::mem::take(&mut self.held).freeze()));
        }
        if let Some(trailers) = self.trailers.take() {
            ahead.push_back(Frame::trailers(trailers));
        }
        match (ahead.is_empty(), rest) {
            (true, Some(rest)) => rest,
            (_, rest) => weir_http::boxed(Replay { ahead, rest: rest.filter(|_| !self.ended) }),
        }
    }
}

/// Frames read ahead, then the rest of the body.
pub(crate) struct Replay {
    ahead: VecDeque<Frame<Bytes>>,
    rest: Option<BoxBody>,
}

impl Replay {
    /// `first` (a frame already taken from `rest`, if any), then `rest`.
    pub(crate) fn new(first: Option<Frame<Bytes>>, rest: BoxBody) -> Replay {
        Replay { ahead: first.into_iter().collect(), rest: Some(rest) }
    }
}

impl Body for Replay {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(frame) = self.ahead.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        match self.rest.as_mut() {
            Some(rest) => rest.as_mut().poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ahead.is_empty() && self.rest.as_ref().is_none_or(|r| r.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let ahead: u64 = self.ahead.iter().filter_map(|f| f.data_ref()).map(|d| d.len() as u64).sum();
        let rest = self.rest.as_ref().map(|r| r.size_hint()).unwrap_or_else(|| SizeHint::with_exact(0));
        let mut hint = SizeHint::new();
        hint.set_lower(ahead + rest.lower());
        if let Some(upper) = rest.upper() {
            hint.set_upper(ahead + upper);
        }
        hint
    }
}
