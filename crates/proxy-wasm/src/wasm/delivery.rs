//! Delivering asynchronous results into a VM: callout responses and queue notifications. After
//! a delivery to an HTTP context its stream is woken, so a paused stream sees what the callback
//! asked for (continue, local reply) or that the VM failed.

use crate::callout::grpc::GrpcEvent;
use crate::callout::{CalloutKind, CalloutState};
use crate::wasm::{ContextEntry, Vm, VmError};

impl Vm {
    /// `proxy_on_http_call_response` for `token`; `None` is a failed call (no headers, no body).
    /// A token whose context has ended is dropped silently (the callout was cancelled).
    pub fn on_http_call_response(
        &mut self,
        token: u32,
        response: Option<CalloutState>,
    ) -> Result<(), VmError> {
        let Some(pending) = self.state_mut().callouts.take(token) else {
            return Ok(());
        };
        let ctx = pending.context;
        if !self.state().contexts.contains_key(&ctx) {
            return Ok(());
        }
        let response = response.unwrap_or_default();
        let counts = (response.headers.len(), response.body.len(), response.trailers.len());
        self.state_mut().callout_response = Some(response);
        let args = (ctx as i32, token as i32, counts.0 as i32, counts.1 as i32, counts.2 as i32);
        let result = self.call(ctx, |s, e| match &e.on_http_call_response {
            Some(f) => f.call(s, args),
            None => Ok(()),
        });
        self.state_mut().callout_response = None;
        self.wake_stream(ctx);
        result
    }

    /// Wakes the stream of an HTTP context (no-op for root contexts).
    pub(crate) fn wake_stream(&self, ctx: u32) {
        if let Some(ContextEntry::Stream { stream, .. }) = self.state().contexts.get(&ctx) {
            stream.wake.notify_one();
        }
    }
}

impl Vm {
    /// Delivers one gRPC event for `token` to the context that started the callout.
    pub fn on_grpc_event(&mut self, token: u32, event: GrpcEvent) -> Result<(), VmError> {
        let Some(pending) = self.state().callouts.get(token) else {
            return Ok(());
        };
        let ctx = pending.context;
        let unary = matches!(pending.kind, CalloutKind::GrpcCall);
        if !self.state().contexts.contains_key(&ctx) {
            self.state_mut().callouts.take(token);
            return Ok(());
        }
        let (state, size) = match &event {
            GrpcEvent::InitialMetadata(map) => {
                (CalloutState { grpc: true, headers: map.clone(), ..Default::default() }, map.len())
            }
            GrpcEvent::Message(body) => {
                (CalloutState { grpc: true, body: body.clone(), ..Default::default() }, body.len())
            }
            GrpcEvent::TrailingMetadata(map) => {
                (CalloutState { grpc: true, trailers: map.clone(), ..Default::default() }, map.len())
            }
            GrpcEvent::Close { status, message } => (
                CalloutState { grpc: true, status: *status, message: message.clone(), ..Default::default() },
                *status as usize,
            ),
        };
        // The token stays valid while its last callback runs (the plugin may cancel or close
        // it there); a stream's stays until the plugin closes or cancels it.
        let closing = matches!(event, GrpcEvent::Close { .. });
        let last = closing || (unary && matches!(event, GrpcEvent::Message(_)));
        if let GrpcEvent::Close { status, .. } = &event {
            if let Some(root) = self.state_mut().root_of_mut(ctx) {
                root.grpc_status = *status;
            }
            if !unary {
                self.state_mut().callouts.mark_remote_closed(token);
            }
        }
        self.state_mut().callout_response = Some(state);
        let args = (ctx as i32, token as i32, size as i32);
        let result = self.call(ctx, |s, e| {
            let f = match event {
                GrpcEvent::InitialMetadata(_) => &e.on_grpc_receive_initial_metadata,
                GrpcEvent::Message(_) => &e.on_grpc_receive,
                GrpcEvent::TrailingMetadata(_) => &e.on_grpc_receive_trailing_metadata,
                GrpcEvent::Close { .. } => &e.on_grpc_close,
            };
            match f {
                Some(f) => f.call(s, args),
                None => Ok(()),
            }
        });
        self.state_mut().callout_response = None;
        let callouts = &mut self.state_mut().callouts;
        let forget = match callouts.get(token).map(|p| &p.kind) {
            Some(CalloutKind::GrpcCall) => last,
            Some(CalloutKind::GrpcStream(stream)) => closing && stream.local_closed,
            _ => false,
        };
        if forget {
            callouts.take(token);
        }
        self.wake_stream(ctx);
        result
    }
}
