//! gRPC on the wire: message framing, the statuses a response carries, and the request body
//! of a stream (the messages the guest sends).

use bytes::{Buf, Bytes, BytesMut};
use tokio::sync::mpsc;

use super::{StreamCommand, code};
use weir_http::{BoxError, HeaderMap};

/// Frames a message: flag byte 0, big-endian length, bytes.
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(message.len() + 5);
    out.extend_from_slice(&[0]);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out.freeze()
}

/// A message longer than the receiver takes.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct TooLarge(pub usize);

/// Takes the next whole message out of `buffer`; refuses one that says it is longer than
/// `max` bytes as soon as its header arrived (before buffering it).
pub(super) fn take_message(buffer: &mut BytesMut, max: usize) -> Result<Option<Bytes>, TooLarge> {
    if buffer.len() < 5 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
    if len > max {
        return Err(TooLarge(len));
    }
    if buffer.len() < 5 + len {
        return Ok(None);
    }
    buffer.advance(5);
    Ok(Some(buffer.split_to(len).freeze()))
}

/// The status message for a status the server sent, shaped as Envoy's async client reports it:
/// `via_upstream` for OK, else the raw (still percent-encoded) `grpc-message` followed by
/// `{via_upstream}`.
pub(super) fn upstream_message(status: u32, trailers: &HeaderMap) -> Bytes {
    if status == code::OK {
        return Bytes::from_static(b"via_upstream");
    }
    let mut message = trailers.get(b"grpc-message").map(|m| m.to_vec()).unwrap_or_default();
    message.extend_from_slice(b"{via_upstream}");
    Bytes::from(message)
}

/// The `grpc-status` of a response head or trailers.
pub(super) fn grpc_status(map: &HeaderMap) -> Option<u32> {
    map.get_str("grpc-status").and_then(|s| s.parse().ok())
}

/// The request body of a stream: messages the guest sends, until it half-closes. Each message
/// holds its share of the VM's in-flight budget until the connection takes it.
pub(super) struct ChannelBody {
    pub(super) rx: mpsc::UnboundedReceiver<StreamCommand>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        match self.rx.poll_recv(cx) {
            std::task::Poll::Ready(Some(StreamCommand::Send(data, _charge))) => {
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
        assert_eq!(take_message(&mut buffer, 100).unwrap().unwrap(), "hello");
        assert_eq!(take_message(&mut buffer, 100).unwrap().unwrap(), "");
        assert!(take_message(&mut buffer, 100).unwrap().is_none());
    }

    #[test]
    fn a_message_longer_than_the_limit_is_refused_from_its_header() {
        let mut buffer = BytesMut::from(&[0u8, 0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(take_message(&mut buffer, 4 << 20), Err(TooLarge(u32::MAX as usize)));
    }
}
