//! Callouts a plugin starts (`proxy_http_call`, `proxy_grpc_call`, `proxy_grpc_stream`): the
//! tokens in flight per VM, the result being delivered, and the tasks that run them on the
//! VM's worker.

pub(crate) mod grpc;
pub(crate) mod http;

use std::collections::HashMap;

use bytes::Bytes;
use tokio::task::AbortHandle;
use weir_abi::MapType;

use weir_http::HeaderMap;

/// What kind of callout a token is.
#[derive(Debug)]
pub enum CalloutKind {
    /// `proxy_http_call`.
    Http,
    /// `proxy_grpc_call`.
    GrpcCall,
    /// `proxy_grpc_stream`.
    GrpcStream(GrpcStream),
}

/// A gRPC stream as its plugin sees it. As in Envoy, the token stays valid after the upstream
/// closed the stream, until the plugin closes or cancels it (or its context ends): Envoy
/// forgets a stream only when both sides are closed, and only `proxy_grpc_close` (not a send
/// with end of stream) closes the plugin's side.
#[derive(Debug, Default)]
pub struct GrpcStream {
    /// Its request sender (`None` once half-closed).
    pub sender: Option<tokio::sync::mpsc::UnboundedSender<grpc::StreamCommand>>,
    /// The plugin called `proxy_grpc_close`.
    pub local_closed: bool,
    /// The upstream side ended (its `proxy_on_grpc_close` is delivered or being delivered):
    /// the number it was, in order, when kept past [`MAX_CLOSED_STREAMS`].
    pub remote_closed: Option<u64>,
}

/// Streams the upstream closed that a VM keeps for its plugin to close or cancel. Envoy keeps
/// them without limit (a plugin that reopens a stream on every close and never closes the old
/// token grows the table); past this many the oldest is forgotten (its token is then
/// NotFound). They do not count as callouts in flight.
pub const MAX_CLOSED_STREAMS: usize = 1024;

/// One callout in flight.
#[derive(Debug)]
pub struct Pending {
    /// The context that started it and gets its callbacks.
    pub context: u32,
    /// Its kind.
    pub kind: CalloutKind,
    abort: Option<AbortHandle>,
}

/// The callouts of one VM, by token. Tokens are unique per VM.
#[derive(Debug, Default)]
pub struct PendingCallouts {
    next_token: u32,
    entries: HashMap<u32, Pending>,
    /// Entries that are upstream-closed streams, and the next order number for one.
    closed: usize,
    closed_seq: u64,
}

fn remote_closed(pending: &Pending) -> bool {
    matches!(&pending.kind, CalloutKind::GrpcStream(s) if s.remote_closed.is_some())
}

impl PendingCallouts {
    /// A fresh, non-zero token.
    pub fn next_token(&mut self) -> u32 {
        loop {
            self.next_token = self.next_token.wrapping_add(1);
            if self.next_token != 0 && !self.entries.contains_key(&self.next_token) {
                return self.next_token;
            }
        }
    }

    /// Records a callout.
    pub fn insert(&mut self, token: u32, context: u32, kind: CalloutKind, abort: Option<AbortHandle>) {
        self.entries.insert(token, Pending { context, kind, abort });
    }

    /// The callout of a token, if still pending.
    pub fn get(&self, token: u32) -> Option<&Pending> {
        self.entries.get(&token)
    }

    /// Mutable access to a pending callout.
    pub fn get_mut(&mut self, token: u32) -> Option<&mut Pending> {
        self.entries.get_mut(&token)
    }

    /// Removes a finished callout.
    pub fn take(&mut self, token: u32) -> Option<Pending> {
        let pending = self.entries.remove(&token)?;
        if remote_closed(&pending) {
            self.closed -= 1;
        }
        Some(pending)
    }

    /// Marks a stream closed by the upstream; it stays until the plugin closes or cancels it.
    pub fn mark_remote_closed(&mut self, token: u32) {
        let seq = self.closed_seq;
        let Some(Pending { kind: CalloutKind::GrpcStream(stream), .. }) = self.entries.get_mut(&token) else {
            return;
        };
        if stream.remote_closed.is_some() {
            return;
        }
        stream.remote_closed = Some(seq);
        self.closed_seq += 1;
        self.closed += 1;
        if self.closed > MAX_CLOSED_STREAMS {
            let oldest = self
                .entries
                .iter()
                .filter_map(|(t, p)| match &p.kind {
                    CalloutKind::GrpcStream(s) => s.remote_closed.map(|seq| (seq, *t)),
                    _ => None,
                })
                .min();
            if let Some((_, token)) = oldest {
                self.take(token);
            }
        }
    }

    /// Cancels a callout without callbacks.
    pub fn cancel(&mut self, token: u32) -> bool {
        match self.take(token) {
            Some(pending) => {
                if let Some(abort) = pending.abort {
                    abort.abort();
                }
                true
            }
            None => false,
        }
    }

    /// Cancels every callout of a context that ended (Envoy cancels them on stream end).
    pub fn forget_context(&mut self, context: u32) {
        let tokens: Vec<u32> =
            self.entries.iter().filter(|(_, p)| p.context == context).map(|(t, _)| *t).collect();
        for token in tokens {
            self.cancel(token);
        }
    }

    /// Number of callouts in flight (streams the upstream closed do not count).
    pub fn len(&self) -> usize {
        self.entries.len() - self.closed
    }

    /// Whether none are in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The VM is gone: its callouts stop (their tasks hold requests, responses and connections).
impl Drop for PendingCallouts {
    fn drop(&mut self) {
        for pending in self.entries.values() {
            if let Some(abort) = &pending.abort {
                abort.abort();
            }
        }
    }
}

/// A callout result, readable by the guest while its callback runs.
#[derive(Debug, Clone, Default)]
pub struct CalloutState {
    /// gRPC (metadata maps, receive buffer) rather than HTTP.
    pub grpc: bool,
    /// Response headers / initial metadata.
    pub headers: HeaderMap,
    /// Response body / received message.
    pub body: Bytes,
    /// Response trailers / trailing metadata.
    pub trailers: HeaderMap,
    /// gRPC status (or 0).
    pub status: u32,
    /// gRPC status message (during `proxy_on_grpc_close` only).
    pub message: Bytes,
}

impl CalloutState {
    /// The map of a call-response or gRPC map type.
    pub fn map(&self, kind: MapType) -> &HeaderMap {
        match kind {
            MapType::HttpCallResponseTrailers | MapType::GrpcReceiveTrailingMetadata => &self.trailers,
            _ => &self.headers,
        }
    }

    /// Mutable [`CalloutState::map`].
    pub fn map_mut(&mut self, kind: MapType) -> &mut HeaderMap {
        match kind {
            MapType::HttpCallResponseTrailers | MapType::GrpcReceiveTrailingMetadata => &mut self.trailers,
            _ => &mut self.headers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(callouts: &mut PendingCallouts) -> u32 {
        let token = callouts.next_token();
        callouts.insert(token, 1, CalloutKind::GrpcStream(GrpcStream::default()), None);
        token
    }

    #[test]
    fn streams_the_upstream_closed_are_kept_but_not_in_flight() {
        let mut callouts = PendingCallouts::default();
        let open = stream(&mut callouts);
        let closed = stream(&mut callouts);
        callouts.mark_remote_closed(closed);
        callouts.mark_remote_closed(closed);
        assert_eq!(callouts.len(), 1);
        assert!(callouts.get(closed).is_some());
        assert!(callouts.cancel(closed));
        assert_eq!(callouts.len(), 1);
        assert!(callouts.take(open).is_some());
        assert!(callouts.is_empty());
    }

    #[test]
    fn the_oldest_closed_stream_is_forgotten_past_the_cap() {
        let mut callouts = PendingCallouts::default();
        let first = stream(&mut callouts);
        callouts.mark_remote_closed(first);
        for _ in 0..MAX_CLOSED_STREAMS {
            let token = stream(&mut callouts);
            callouts.mark_remote_closed(token);
        }
        assert!(callouts.get(first).is_none());
        assert_eq!(callouts.entries.len(), MAX_CLOSED_STREAMS);
        assert!(callouts.is_empty());
    }
}
