//! [`StreamContext`]: one per TCP connection of a network filter (Envoy's
//! `envoy.filters.network.wasm`, weir's `network_filters`). Its methods and signatures are
//! those of the `proxy-wasm` crate's trait, without its panics: a refused hostcall is ignored
//! or reads as absent. Callbacks default to doing nothing and continuing.

use crate::context::Context;
use crate::host;
use crate::types::{Action, BufferType, Bytes, PeerType, StreamType};

/// A network filter's context for one TCP connection.
pub trait StreamContext: Context {
    /// The connection was accepted. Anything but Continue holds it (nothing is read, no
    /// upstream chosen) until [`StreamContext::resume_downstream`]. Set Envoy's
    /// `envoy.tcp_proxy.cluster` filter state here to pick the upstream cluster.
    fn on_new_connection(&mut self) -> Action {
        Action::Continue
    }

    /// `data_size` bytes from the client are held for the filters (everything held so far,
    /// when a filter paused before); Pause holds them until more arrive or the filter resumes.
    fn on_downstream_data(&mut self, _data_size: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    /// The client's bytes of the current callback, from `start`, at most `max`.
    fn get_downstream_data(&self, start: usize, max: usize) -> Option<Bytes> {
        host::buffer(BufferType::DownstreamData, start, max).ok().flatten().map(|v| v.0)
    }

    /// Replaces `size` bytes at `start` (0: the first `size` bytes; past the end: appends).
    fn set_downstream_data(&self, start: usize, size: usize, value: &[u8]) {
        let _ = host::set_buffer(BufferType::DownstreamData, start, size, value);
    }

    /// Lets the held client data go on (after a Pause).
    fn resume_downstream(&self) {
        let _ = host::continue_stream(StreamType::Downstream);
    }

    /// Closes the client's connection after what is already written to it.
    fn close_downstream(&self) {
        let _ = host::close_stream(StreamType::Downstream);
    }

    /// The connection ended (`peer`: who closed it).
    fn on_downstream_close(&mut self, _peer: PeerType) {}

    /// `data_size` bytes from the upstream, on their way to the client.
    fn on_upstream_data(&mut self, _data_size: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    /// The upstream's bytes of the current callback.
    fn get_upstream_data(&self, start: usize, max: usize) -> Option<Bytes> {
        host::buffer(BufferType::UpstreamData, start, max).ok().flatten().map(|v| v.0)
    }

    /// Replaces `size` bytes of the upstream's at `start`.
    fn set_upstream_data(&self, start: usize, size: usize, value: &[u8]) {
        let _ = host::set_buffer(BufferType::UpstreamData, start, size, value);
    }

    /// Closes the connection (Envoy closes the client's side for either direction).
    fn close_upstream(&self) {
        let _ = host::close_stream(StreamType::Upstream);
    }

    /// The upstream's end of stream was seen (Envoy says `Unknown`: it has no other upstream
    /// close event for network filters).
    fn on_upstream_close(&mut self, _peer: PeerType) {}

    /// The connection is over: its last callback before `on_done`/`on_delete` ends it.
    fn on_log(&mut self) {}
}
