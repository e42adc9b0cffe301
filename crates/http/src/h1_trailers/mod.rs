//! HTTP/1.1 trailers written whatever the peer announced, as Envoy's `enable_trailers` does.
//!
//! hyper writes HTTP/1.1 trailers only to a client that sent `TE: trailers`, and only the
//! fields a `Trailer` header in the head named — which a proxy cannot know when the head
//! leaves (the upstream's trailers, or a plugin's, come at the end). With this module, a
//! message's body hands its trailers to a [`Message`] ([`TrailerTap`]) and the connection's
//! byte stream ([`SpliceIo`]) writes them after the message's last chunk, where hyper writes
//! none. Messages without chunked framing (`content-length`, HTTP/1.0) carry no trailers.

mod framing;
mod queue;
mod splice;
mod tap;
#[cfg(test)]
mod tests;

pub use framing::Role;
pub use queue::{Message, Messages};
pub use splice::SpliceIo;
pub use tap::TrailerTap;

/// A connection's trailer splicing, or none (`enable_trailers` off).
#[derive(Debug, Clone, Default)]
pub struct Splicer(Option<Messages>);

impl Splicer {
    /// Splicing when `enabled`.
    pub fn new(enabled: bool) -> Splicer {
        Splicer(enabled.then(Messages::default))
    }

    /// Whether trailers are spliced.
    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }

    /// The connection's byte stream, writing `role`'s messages.
    pub fn io<I>(&self, io: I, role: Role) -> SpliceIo<I> {
        match &self.0 {
            Some(messages) => SpliceIo::splicing(io, role, messages.clone()),
            None => SpliceIo::plain(io),
        }
    }

    /// `body` as the body of the next message written on the connection: its trailers are
    /// spliced in if the message is HTTP/1.1 (`bodiless`: a response to `HEAD`).
    pub fn tap<B>(&self, body: B, version: http::Version, bodiless: bool) -> TrailerTap<B> {
        let message = match &self.0 {
            Some(messages) if version == http::Version::HTTP_11 => {
                let message = Message::new(bodiless);
                messages.push(message.clone());
                Some(message)
            }
            _ => None,
        };
        TrailerTap::new(body, message)
    }
}
