//! A downstream socket that hyper serves while the listener keeps a handle on it, so weir can
//! still answer on the connection after hyper gave up on it (Envoy's `408` when the request
//! headers did not arrive in time; hyper itself just closes).

use std::io::{self, Write};

use tokio::net::TcpStream;

/// A second handle (a duplicated descriptor) on a downstream socket that hyper owns, kept so
/// weir can still write a final answer after hyper gave up on the connection. hyper reads and
/// writes the `TcpStream` itself, without any wrapper in between.
#[derive(Debug)]
pub struct AnswerHandle(std::net::TcpStream);

impl AnswerHandle {
    /// Duplicates the socket's descriptor.
    pub fn new(stream: &TcpStream) -> io::Result<AnswerHandle> {
        Ok(AnswerHandle(socket2::SockRef::from(stream).try_clone()?.into()))
    }

    /// Best-effort write of a final answer (the socket is non-blocking: what does not fit in
    /// the send buffer is dropped), then the connection is shut down.
    pub fn answer_and_close(&self, bytes: &[u8]) {
        let _ = (&self.0).write(bytes);
        let _ = self.0.shutdown(std::net::Shutdown::Both);
    }
}

/// Whether a connection error is hyper giving up on slow request headers.
pub fn is_header_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    error.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_timeout)
}

/// What Envoy sends when the request headers did not arrive within `request_headers_timeout`.
pub const HEADER_TIMEOUT_REPLY: &[u8] =
    b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 15\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nrequest timeout";
