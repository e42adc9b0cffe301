//! `abi-probe`: a test filter written directly against the `proxy-wasm` crate (no weir-sdk).
//! Its configuration (the `Program` type) lists hostcalls to make in each callback; results
//! come back as `x-probe-<id>` response headers, so a conformance case can compare exactly what
//! Envoy and weir return.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ops;
mod program;
mod raw;

use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use ops::Scope;
use program::Program;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { program: Rc::default(), scope: Scope::default(), done_pending: false })
    });
}}

struct Root {
    program: Rc<Program>,
    scope: Scope,
    done_pending: bool,
}

impl Context for Root {
    fn on_done(&mut self) -> bool {
        if self.program.root_done_later {
            self.done_pending = true;
            let _ = proxy_wasm::hostcalls::set_tick_period(std::time::Duration::from_millis(10));
            return false;
        }
        true
    }
}

impl RootContext for Root {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        true
    }

    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = proxy_wasm::hostcalls::get_buffer(
            proxy_wasm::types::BufferType::PluginConfiguration,
            0,
            usize::MAX,
        )
        .ok()
        .flatten()
        .unwrap_or_default();
        let program: Program = if bytes.is_empty() {
            Program::default()
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(p) => p,
                Err(e) => {
                    log::error!("abi-probe: bad program: {e}");
                    return false;
                }
            }
        };
        ops::run(&program.vm_start, &mut self.scope);
        ops::run(&program.configure, &mut self.scope);
        let reject = program.reject_configuration;
        self.program = Rc::new(program);
        !reject
    }

    fn on_tick(&mut self) {
        if self.done_pending {
            self.done_pending = false;
            raw::done();
            return;
        }
        let program = self.program.clone();
        ops::run(&program.tick, &mut self.scope);
    }

    fn on_queue_ready(&mut self, _queue_id: u32) {
        let program = self.program.clone();
        ops::run(&program.queue_ready, &mut self.scope);
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Probe { program: self.program.clone(), scope: Scope::default() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Probe {
    program: Rc<Program>,
    scope: Scope,
}

impl Probe {
    fn phase(&mut self, ops: fn(&Program) -> &Vec<program::Op>, size: usize, eos: bool) -> Action {
        let program = self.program.clone();
        self.scope.size = size;
        self.scope.eos = eos;
        ops::run(ops(&program), &mut self.scope);
        self.flush_report();
        self.scope.action.take().unwrap_or(Action::Continue)
    }

    /// Moves recorded results into response headers when this context can write them.
    fn flush_report(&mut self) {
        let report = std::mem::take(&mut self.scope.report);
        for (id, value) in report {
            if raw::replace_header(2, &format!("x-probe-{id}"), &value) != 0 {
                self.scope.report.push((id, value));
            }
        }
    }
}

impl Context for Probe {
    fn on_http_call_response(&mut self, _token: u32, headers: usize, body: usize, _trailers: usize) {
        self.scope.report.push(("call-counts".into(), format!("{headers}/{body}")));
        self.phase(|p| &p.http_call_response, body, true);
    }

    fn on_grpc_call_response(&mut self, _token: u32, status: u32, size: usize) {
        if status == 0 {
            self.phase(|p| &p.grpc_message, size, false);
        } else {
            self.phase(|p| &p.grpc_close, status as usize, true);
        }
    }

    fn on_grpc_stream_message(&mut self, _token: u32, size: usize) {
        self.phase(|p| &p.grpc_message, size, false);
    }

    fn on_grpc_stream_initial_metadata(&mut self, _token: u32, entries: u32) {
        self.phase(|p| &p.grpc_initial_metadata, entries as usize, false);
    }

    fn on_grpc_stream_trailing_metadata(&mut self, _token: u32, entries: u32) {
        self.phase(|p| &p.grpc_trailing_metadata, entries as usize, false);
    }

    fn on_grpc_stream_close(&mut self, _token: u32, status: u32) {
        self.phase(|p| &p.grpc_close, status as usize, true);
    }

    fn on_done(&mut self) -> bool {
        self.phase(|p| &p.done, 0, true);
        true
    }
}

impl HttpContext for Probe {
    fn on_http_request_headers(&mut self, headers: usize, eos: bool) -> Action {
        self.phase(|p| &p.request_headers, headers, eos)
    }

    fn on_http_request_body(&mut self, size: usize, eos: bool) -> Action {
        self.phase(|p| &p.request_body, size, eos)
    }

    fn on_http_request_trailers(&mut self, trailers: usize) -> Action {
        self.phase(|p| &p.request_trailers, trailers, true)
    }

    fn on_http_response_headers(&mut self, headers: usize, eos: bool) -> Action {
        self.phase(|p| &p.response_headers, headers, eos)
    }

    fn on_http_response_body(&mut self, size: usize, eos: bool) -> Action {
        self.phase(|p| &p.response_body, size, eos)
    }

    fn on_http_response_trailers(&mut self, trailers: usize) -> Action {
        self.phase(|p| &p.response_trailers, trailers, true)
    }

    fn on_log(&mut self) {
        self.phase(|p| &p.log, 0, true);
    }
}
