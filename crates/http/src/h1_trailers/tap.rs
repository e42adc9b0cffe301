//! A message body whose trailers go to the connection's writer ([`Message`]) instead of to
//! hyper, which writes HTTP/1.1 trailers only when the peer announced them (a request's
//! `TE: trailers`, a response's `Trailer` field naming each).

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};

use super::queue::Message;

/// `B` with its trailers diverted to a [`Message`] (or `B` as it is, without one).
#[derive(Debug)]
pub struct TrailerTap<B> {
    inner: B,
    message: Option<Message>,
}

impl<B> TrailerTap<B> {
    /// Diverts `inner`'s trailers to `message`; `None`: passes them on.
    pub fn new(inner: B, message: Option<Message>) -> TrailerTap<B> {
        TrailerTap { inner, message }
    }
}

impl<B: Body + Unpin> Body for TrailerTap<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) if self.message.is_some() => match frame.into_trailers() {
                Ok(trailers) => {
                    if let Some(message) = &self.message {
                        message.set_trailers(trailers);
                    }
                    // Trailers end a body: what the source may still yield is not read.
                    Poll::Ready(None)
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
