//! gRPC on the wire: message framing and the request body of a stream (the messages the
//! guest sends). The HTTP-to-gRPC status mapping is `weir_http::grpc_status`.

use std::cell::RefCell;
use std::rc::Rc;

use bytes::{Buf, Bytes, BytesMut};
use tokio::sync::mpsc;

use super::StreamCommand;
use crate::wasm::Charge;
use weir_http::BoxError;

/// Frames a message: flag byte 0, big-endian length, bytes.
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(message.len() + 5);
    out.extend_from_slice(&[0]);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out.freeze()
}

/// What the next bytes of a response body hold.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// One whole message.
    Message(Bytes),
    /// Not a whole message yet.
    Incomplete,
    /// A message that says it is longer than the receiver takes (its length).
    TooLarge(usize),
    /// Not gRPC framing: a flag other than 0, or a compressed message (none was asked for).
    Malformed,
}

/// Takes the next whole message out of `buffer`; refuses one that says it is longer than
/// `max` bytes as soon as its header arrived (before buffering it), and a header whose flag
/// is not "uncompressed" (as Envoy's decoder, an empty compressed message aside).
pub(super) fn take_message(buffer: &mut BytesMut, max: usize) -> Framing {
    if buffer.len() < 5 {
        return Framing::Incomplete;
    }
    let flag = buffer[0];
    let len = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
    if flag > 1 || (flag == 1 && len > 0) {
        return Framing::Malformed;
    }
    if len > max {
        return Framing::TooLarge(len);
    }
    if buffer.len() < 5 + len {
        return Framing::Incomplete;
    }
    buffer.advance(5);
    Framing::Message(buffer.split_to(len).freeze())
}

/// The request body of a stream: messages the guest sends, until it half-closes. Each message
/// holds its share of the VM's in-flight budget until the connection has sent it: HTTP/2
/// buffers a frame it took until the peer's flow-control window lets it out, and asks for the
/// next one only then, so the last message taken stays charged (in `in_connection`) until the
/// next is taken or the stream ends (whoever runs the stream holds `in_connection` as long).
pub(super) struct ChannelBody {
    pub(super) rx: mpsc::UnboundedReceiver<StreamCommand>,
    pub(super) in_connection: Rc<RefCell<Option<Charge>>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        match self.rx.poll_recv(cx) {
            std::task::Poll::Ready(Some(StreamCommand::Send(data, charge))) => {
                *self.in_connection.borrow_mut() = Some(charge);
                std::task::Poll::Ready(Some(Ok(http_body::Frame::data(data))))
            }
            std::task::Poll::Ready(Some(StreamCommand::Close) | None) => std::task::Poll::Ready(None),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_unframes() {
        let mut buffer = BytesMut::new();
        buffer.extend_from_slice(&frame(b"hello"));
        buffer.extend_from_slice(&frame(b""));
        buffer.extend_from_slice(&frame(b"partial")[..6]);
        assert_eq!(take_message(&mut buffer, 100), Framing::Message(Bytes::from_static(b"hello")));
        assert_eq!(take_message(&mut buffer, 100), Framing::Message(Bytes::new()));
        assert_eq!(take_message(&mut buffer, 100), Framing::Incomplete);
    }

    #[test]
    fn a_message_longer_than_the_limit_is_refused_from_its_header() {
        let mut buffer = BytesMut::from(&[0u8, 0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(take_message(&mut buffer, 4 << 20), Framing::TooLarge(u32::MAX as usize));
    }

    #[test]
    fn text_is_not_grpc_framing() {
        let mut buffer = BytesMut::from(&b"http 200"[..]);
        assert_eq!(take_message(&mut buffer, 4 << 20), Framing::Malformed);
        let mut compressed = BytesMut::from(&[1u8, 0, 0, 0, 1, b'x'][..]);
        assert_eq!(take_message(&mut compressed, 4 << 20), Framing::Malformed);
        let mut empty_compressed = BytesMut::from(&[1u8, 0, 0, 0, 0][..]);
        assert_eq!(take_message(&mut empty_compressed, 4 << 20), Framing::Message(Bytes::new()));
    }
}
