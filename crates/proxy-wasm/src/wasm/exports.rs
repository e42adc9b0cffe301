//! The guest's exported callbacks, resolved once per instance. Every call from the host into a
//! guest goes through a handle in [`GuestExports`].

use wasmtime::{AsContextMut, Instance, Store, TypedFunc, WasmParams, WasmResults};
use weir_abi::HttpCallbacks;

use super::HostState;

/// `proxy_on_request_headers` / `proxy_on_response_headers`: 0.1.0 passes (context, headers),
/// 0.2.x adds `end_of_stream`.
#[derive(Clone)]
pub(crate) enum HeadersFn {
    /// ABI 0.1.0 arity.
    Two(TypedFunc<(i32, i32), i32>),
    /// ABI 0.2.x arity.
    Three(TypedFunc<(i32, i32, i32), i32>),
}

impl HeadersFn {
    pub(crate) fn call(
        &self,
        store: impl AsContextMut<Data = HostState>,
        ctx: i32,
        count: i32,
        end_of_stream: bool,
    ) -> wasmtime::Result<i32> {
        match self {
            HeadersFn::Two(f) => f.call(store, (ctx, count)),
            HeadersFn::Three(f) => f.call(store, (ctx, count, i32::from(end_of_stream))),
        }
    }
}

type F<P, R> = Option<TypedFunc<P, R>>;

/// Handles to every callback a proxy-wasm module may export. Missing exports are `None` and
/// treated as Envoy treats them (the default action).
#[derive(Default)]
pub struct GuestExports {
    pub(crate) initialize: F<(), ()>,
    pub(crate) start: F<(), ()>,
    pub(crate) malloc: F<i32, i32>,
    pub(crate) on_context_create: F<(i32, i32), ()>,
    pub(crate) on_vm_start: F<(i32, i32), i32>,
    pub(crate) on_configure: F<(i32, i32), i32>,
    pub(crate) on_tick: F<i32, ()>,
    pub(crate) on_queue_ready: F<(i32, i32), ()>,
    pub(crate) on_request_headers: Option<HeadersFn>,
    pub(crate) on_request_body: F<(i32, i32, i32), i32>,
    pub(crate) on_request_trailers: F<(i32, i32), i32>,
    pub(crate) on_response_headers: Option<HeadersFn>,
    pub(crate) on_response_body: F<(i32, i32, i32), i32>,
    pub(crate) on_response_trailers: F<(i32, i32), i32>,
    pub(crate) on_new_connection: F<i32, i32>,
    pub(crate) on_downstream_data: F<(i32, i32, i32), i32>,
    pub(crate) on_upstream_data: F<(i32, i32, i32), i32>,
    pub(crate) on_downstream_connection_close: F<(i32, i32), ()>,
    pub(crate) on_upstream_connection_close: F<(i32, i32), ()>,
    pub(crate) on_log: F<i32, ()>,
    pub(crate) on_done: F<i32, i32>,
    pub(crate) on_delete: F<i32, ()>,
    pub(crate) on_http_call_response: F<(i32, i32, i32, i32, i32), ()>,
    pub(crate) on_grpc_receive_initial_metadata: F<(i32, i32, i32), ()>,
    pub(crate) on_grpc_receive: F<(i32, i32, i32), ()>,
    pub(crate) on_grpc_receive_trailing_metadata: F<(i32, i32, i32), ()>,
    pub(crate) on_grpc_close: F<(i32, i32, i32), ()>,
    /// weir's extension: the HTTP callbacks the module implements ([`weir_abi::callbacks`]).
    pub(crate) http_callbacks: F<(), i32>,
}

impl GuestExports {
    /// Forgets the HTTP-only callbacks outside `declared`: the module does not need them, so
    /// they are treated as not exported (the default action, no call into the VM).
    pub(crate) fn keep_http(&mut self, declared: HttpCallbacks) {
        let keep = |callback| declared.contains(callback);
        if !keep(HttpCallbacks::REQUEST_HEADERS) {
            self.on_request_headers = None;
        }
        if !keep(HttpCallbacks::REQUEST_BODY) {
            self.on_request_body = None;
        }
        if !keep(HttpCallbacks::REQUEST_TRAILERS) {
            self.on_request_trailers = None;
        }
        if !keep(HttpCallbacks::RESPONSE_HEADERS) {
            self.on_response_headers = None;
        }
        if !keep(HttpCallbacks::RESPONSE_BODY) {
            self.on_response_body = None;
        }
        if !keep(HttpCallbacks::RESPONSE_TRAILERS) {
            self.on_response_trailers = None;
        }
    }
}

impl std::fmt::Debug for GuestExports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestExports").finish_non_exhaustive()
    }
}

impl GuestExports {
    /// Resolves every known export; a known export with the wrong signature is an error naming
    /// it.
    pub(crate) fn resolve(instance: &Instance, store: &mut Store<HostState>) -> Result<GuestExports, String> {
        let mut r = Resolver { instance, store };
        Ok(GuestExports {
            initialize: r.get("_initialize")?,
            start: r.get("_start")?,
            malloc: match r.get("proxy_on_memory_allocate")? {
                Some(f) => Some(f),
                None => r.get("malloc")?,
            },
            on_context_create: r.get("proxy_on_context_create")?,
            on_vm_start: r.get("proxy_on_vm_start")?,
            on_configure: r.get("proxy_on_configure")?,
            on_tick: r.get("proxy_on_tick")?,
            on_queue_ready: r.get("proxy_on_queue_ready")?,
            on_request_headers: r.headers("proxy_on_request_headers")?,
            on_request_body: r.get("proxy_on_request_body")?,
            on_request_trailers: r.get("proxy_on_request_trailers")?,
            on_response_headers: r.headers("proxy_on_response_headers")?,
            on_response_body: r.get("proxy_on_response_body")?,
            on_response_trailers: r.get("proxy_on_response_trailers")?,
            on_new_connection: r.get("proxy_on_new_connection")?,
            on_downstream_data: r.get("proxy_on_downstream_data")?,
            on_upstream_data: r.get("proxy_on_upstream_data")?,
            on_downstream_connection_close: r.get("proxy_on_downstream_connection_close")?,
            on_upstream_connection_close: r.get("proxy_on_upstream_connection_close")?,
            on_log: r.get("proxy_on_log")?,
            on_done: r.get("proxy_on_done")?,
            on_delete: r.get("proxy_on_delete")?,
            on_http_call_response: r.get("proxy_on_http_call_response")?,
            on_grpc_receive_initial_metadata: r.get("proxy_on_grpc_receive_initial_metadata")?,
            on_grpc_receive: r.get("proxy_on_grpc_receive")?,
            on_grpc_receive_trailing_metadata: r.get("proxy_on_grpc_receive_trailing_metadata")?,
            on_grpc_close: r.get("proxy_on_grpc_close")?,
            http_callbacks: r.get(weir_abi::callbacks::EXPORT)?,
        })
    }
}

struct Resolver<'a> {
    instance: &'a Instance,
    store: &'a mut Store<HostState>,
}

impl Resolver<'_> {
    fn get<P: WasmParams, R: WasmResults>(&mut self, name: &str) -> Result<F<P, R>, String> {
        match self.instance.get_func(&mut *self.store, name) {
            None => Ok(None),
            Some(func) => func
                .typed::<P, R>(&*self.store)
                .map(Some)
                .map_err(|e| format!("export `{name}` has the wrong signature: {e}")),
        }
    }

    fn headers(&mut self, name: &str) -> Result<Option<HeadersFn>, String> {
        let Some(func) = self.instance.get_func(&mut *self.store, name) else {
            return Ok(None);
        };
        let arity = func.ty(&*self.store).params().len();
        let typed = if arity == 2 {
            func.typed(&*self.store).map(HeadersFn::Two)
        } else {
            func.typed(&*self.store).map(HeadersFn::Three)
        };
        typed.map(Some).map_err(|e| format!("export `{name}` has the wrong signature: {e}"))
    }
}
