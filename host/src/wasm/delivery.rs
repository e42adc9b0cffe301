//! Delivering asynchronous results into a VM: callout responses and queue notifications. After
//! a delivery to an HTTP context its stream is woken, so a paused stream sees what the callback
//! asked for (continue, local reply) or that the VM failed.

use crate::callout::CalloutState;
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
        if let Some(ContextEntry::Http { stream, .. }) = self.state().contexts.get(&ctx) {
            stream.wake.notify_one();
        }
    }
}
