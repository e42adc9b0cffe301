//! The downstream socket as hyper serves it: a shared handle on the `TcpStream`, so that the
//! connection's watchdog can still answer (Envoy's `408` when request headers did not arrive
//! in time) or shut the socket down while hyper owns the connection, without a second file
//! descriptor; and the connection's activity as the watchdog needs it (bytes read, the
//! HTTP/2 preface).

use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::watchdog::ConnWatch;

/// The HTTP/2 connection preface's first bytes.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// The socket hyper reads and writes.
#[derive(Debug)]
pub struct ConnIo {
    stream: Rc<TcpStream>,
    watch: Rc<ConnWatch>,
}

impl ConnIo {
    /// Wraps `stream`, reporting reads to `watch`.
    pub fn new(stream: Rc<TcpStream>, watch: Rc<ConnWatch>) -> ConnIo {
        ConnIo { stream, watch }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.stream.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match self.stream.try_read(unfilled) {
                Ok(n) => {
                    if n > 0 {
                        let first = self.watch.bytes_read() == 0;
                        if first && unfilled[..n].starts_with(&H2_PREFACE[..n.min(H2_PREFACE.len())]) {
                            self.watch.set_h2();
                        }
                        self.watch.on_read(n);
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            match self.stream.try_write(data) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            match self.stream.try_write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(socket2::SockRef::from(&*self.stream).shutdown(std::net::Shutdown::Write))
    }
}

/// Best-effort write of a final answer on `stream` (what does not fit in the send buffer is
/// dropped), then the connection is shut down both ways, which also ends hyper's reads.
pub fn answer_and_close(stream: &TcpStream, bytes: &[u8]) {
    let _ = stream.try_write(bytes);
    close(stream);
}

/// Shuts the connection down both ways: hyper's next read or write fails and it lets go.
pub fn close(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Both);
}

/// What Envoy sends when the request headers did not arrive within `request_headers_timeout`.
pub const HEADER_TIMEOUT_REPLY: &[u8] =
    b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 15\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nrequest timeout";
