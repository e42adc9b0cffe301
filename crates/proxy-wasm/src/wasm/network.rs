//! The callbacks of a network (TCP) filter's stream context, as Envoy makes them: one context
//! per connection, `proxy_on_new_connection` when it is accepted, `proxy_on_downstream_data`
//! and `proxy_on_upstream_data` with the bytes each way (readable and writable during the
//! callback, as `DownstreamData` / `UpstreamData`), and the close callbacks.
//!
//! The connection is a [`StreamShared`] whose request body is the downstream data and whose
//! response body the upstream data, so properties and filter state work as for HTTP.

use std::rc::Rc;

use weir_abi::PeerType;
use weir_http::StreamShared;

use super::{Access, Vm, VmError};

impl Vm {
    /// Creates a TCP connection's context under `root` (`proxy_on_context_create(id, root)`).
    pub fn create_network_context(&mut self, root: u32, stream: Rc<StreamShared>) -> Result<u32, VmError> {
        self.create_stream_context(root, stream, true)
    }

    /// Whether the module exports any network callback (a module with none is not a network
    /// filter: Envoy would make no call into it for a connection either).
    pub fn is_network_filter(&self) -> bool {
        let e = self.exports();
        e.on_new_connection.is_some() || e.on_downstream_data.is_some() || e.on_upstream_data.is_some()
    }

    /// `proxy_on_new_connection`: 0 continues, anything else stops reading until the context
    /// continues (`proxy_continue_stream(Downstream)`). A missing export continues.
    pub fn on_new_connection(&mut self, ctx: u32) -> Result<u32, VmError> {
        self.call(ctx, |s, e| match &e.on_new_connection {
            Some(f) => f.call(s, ctx as i32),
            None => Ok(0),
        })
        .map(|r| r as u32)
    }

    /// `proxy_on_downstream_data(size, end_of_stream)` with the downstream data open (and kept
    /// open while the context pauses it, as Envoy keeps its buffer pointer).
    pub fn on_downstream_data(&mut self, ctx: u32, size: usize, eos: bool) -> Result<u32, VmError> {
        self.windowed(ctx, open_downstream, Some(eos), |s, e| match &e.on_downstream_data {
            Some(f) => f.call(s, (ctx as i32, size as i32, i32::from(eos))),
            None => Ok(0),
        })
    }

    /// `proxy_on_upstream_data(size, end_of_stream)` with the upstream data open.
    pub fn on_upstream_data(&mut self, ctx: u32, size: usize, eos: bool) -> Result<u32, VmError> {
        self.windowed(ctx, open_upstream, Some(eos), |s, e| match &e.on_upstream_data {
            Some(f) => f.call(s, (ctx as i32, size as i32, i32::from(eos))),
            None => Ok(0),
        })
    }

    /// `proxy_on_downstream_connection_close(peer)`.
    pub fn on_downstream_connection_close(&mut self, ctx: u32, peer: PeerType) -> Result<(), VmError> {
        self.call(ctx, |s, e| match &e.on_downstream_connection_close {
            Some(f) => f.call(s, (ctx as i32, peer.raw() as i32)),
            None => Ok(()),
        })
    }

    /// `proxy_on_upstream_connection_close(peer)`.
    pub fn on_upstream_connection_close(&mut self, ctx: u32, peer: PeerType) -> Result<(), VmError> {
        self.call(ctx, |s, e| match &e.on_upstream_connection_close {
            Some(f) => f.call(s, (ctx as i32, peer.raw() as i32)),
            None => Ok(()),
        })
    }
}

impl Vm {
    /// The end of a connection's context, in Envoy's order: `proxy_on_done`, `proxy_on_log`,
    /// `proxy_on_delete`; the context is forgotten even when a call fails.
    pub fn end_network_context(&mut self, ctx: u32) -> Result<(), VmError> {
        self.set_access(ctx, |a| *a = Access { log: true, ..Access::default() });
        let result = self
            .call(ctx, |s, e| match &e.on_done {
                Some(f) => f.call(s, ctx as i32).map(|_| ()),
                None => Ok(()),
            })
            .and_then(|()| {
                self.call(ctx, |s, e| match &e.on_log {
                    Some(f) => f.call(s, ctx as i32),
                    None => Ok(()),
                })
            })
            .and_then(|()| {
                self.call(ctx, |s, e| match &e.on_delete {
                    Some(f) => f.call(s, ctx as i32),
                    None => Ok(()),
                })
            });
        self.forget_http_context(ctx);
        result
    }
}

fn open_downstream(a: &mut Access, on: bool) {
    a.request_body = on;
}

fn open_upstream(a: &mut Access, on: bool) {
    a.response_body = on;
}
