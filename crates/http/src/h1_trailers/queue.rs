//! The hand-over between a message's body and the connection's writer: one [`Message`] per
//! HTTP/1.1 message, queued in the order hyper writes them, holding the trailers its body
//! ended with until the writer reaches the message's last chunk.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// More messages queued than this means the queue no longer matches what is written (an
/// HTTP/1.1 connection has one message in flight): it is cleared and stops taking messages, so
/// trailers are dropped rather than given to the wrong message.
const MAX_QUEUED: usize = 16;

/// Framing, routing and hop-by-hop fields, never written as trailers (RFC 9110 §6.5.1): a
/// recipient that merged them into the head could misread the next message.
const NOT_TRAILERS: [&str; 8] =
    ["content-length", "transfer-encoding", "trailer", "host", "te", "connection", "keep-alive", "upgrade"];

/// One message's trailers slot.
#[derive(Debug, Clone, Default)]
pub struct Message {
    bodiless: bool,
    trailers: Arc<Mutex<Option<http::HeaderMap>>>,
}

impl Message {
    /// A message; `bodiless` for the response to a `HEAD` request (its head may announce a
    /// body that is never written).
    pub fn new(bodiless: bool) -> Message {
        Message { bodiless, trailers: Arc::default() }
    }

    /// Whether no body follows the head whatever it says.
    pub fn bodiless(&self) -> bool {
        self.bodiless
    }

    /// Keeps the trailers the body ended with.
    pub fn set_trailers(&self, trailers: http::HeaderMap) {
        *locked(&self.trailers) = Some(trailers);
    }

    /// The trailer section's fields, `name: value\r\n` each (`None`: no trailers).
    pub fn take_trailers(&self) -> Option<Vec<u8>> {
        let trailers = locked(&self.trailers).take()?;
        let mut out = Vec::new();
        for (name, value) in &trailers {
            if NOT_TRAILERS.contains(&name.as_str()) {
                tracing::debug!(%name, "not written as an HTTP/1.1 trailer");
                continue;
            }
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        (!out.is_empty()).then_some(out)
    }
}

#[derive(Debug, Default)]
struct Queue {
    messages: VecDeque<Message>,
    broken: bool,
}

/// The messages of one connection, in write order (shared by the service and the writer).
#[derive(Debug, Clone, Default)]
pub struct Messages(Arc<Mutex<Queue>>);

impl Messages {
    /// Queues the next message to be written.
    pub fn push(&self, message: Message) {
        let mut queue = locked(&self.0);
        if queue.broken {
            return;
        }
        if queue.messages.len() >= MAX_QUEUED {
            tracing::debug!("HTTP/1.1 trailer hand-over out of step; trailers off for this connection");
            queue.messages.clear();
            queue.broken = true;
            return;
        }
        queue.messages.push_back(message);
    }

    /// The message whose head was just written.
    pub fn pop(&self) -> Option<Message> {
        locked(&self.0).messages.pop_front()
    }
}

/// The lock (never held across a call that could panic, so never poisoned in practice).
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
