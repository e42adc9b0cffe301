//! The proxy-wasm imports, declared with plain integer types so every status reaches Rust code.
//!
//! Natively (unit tests of filter logic) the imports do not exist; every call answers
//! `Unimplemented` there.

#![allow(unsafe_code)]

/// The status native stand-ins answer.
#[cfg(not(target_arch = "wasm32"))]
const UNIMPLEMENTED: u32 = 12;

/// Declares each import once: as a Wasm import (module `env`) on wasm32, as a stand-in that
/// answers `Unimplemented` elsewhere.
macro_rules! imports {
    ($( fn $name:ident($($arg:ident: $ty:ty),* $(,)?); )*) => {
        #[cfg(target_arch = "wasm32")]
        #[link(wasm_import_module = "env")]
        unsafe extern "C" {
            $( pub fn $name($($arg: $ty),*) -> u32; )*
        }

        #[cfg(not(target_arch = "wasm32"))]
        #[allow(clippy::missing_safety_doc, clippy::too_many_arguments, missing_docs)]
        mod native {
            $(
                pub unsafe fn $name($(_: $ty),*) -> u32 {
                    super::UNIMPLEMENTED
                }
            )*
        }

        #[cfg(not(target_arch = "wasm32"))]
        pub use native::*;
    };
}

imports! {
    fn proxy_log(level: u32, mp: *const u8, ms: usize);
    fn proxy_get_log_level(level: *mut u32);
    fn proxy_get_current_time_nanoseconds(time: *mut u64);
    fn proxy_set_tick_period_milliseconds(period: u32);
    fn proxy_get_header_map_value(map: u32, kp: *const u8, ks: usize, vp: *mut *mut u8, vs: *mut usize);
    fn proxy_get_header_map_pairs(map: u32, vp: *mut *mut u8, vs: *mut usize);
    fn proxy_set_header_map_pairs(map: u32, vp: *const u8, vs: usize);
    fn proxy_add_header_map_value(map: u32, kp: *const u8, ks: usize, vp: *const u8, vs: usize);
    fn proxy_replace_header_map_value(map: u32, kp: *const u8, ks: usize, vp: *const u8, vs: usize);
    fn proxy_remove_header_map_value(map: u32, kp: *const u8, ks: usize);
    fn proxy_get_property(pp: *const u8, ps: usize, vp: *mut *mut u8, vs: *mut usize);
    fn proxy_set_property(pp: *const u8, ps: usize, vp: *const u8, vs: usize);
    fn proxy_get_buffer_bytes(kind: u32, start: usize, max: usize, vp: *mut *mut u8, vs: *mut usize);
    fn proxy_set_buffer_bytes(kind: u32, start: usize, len: usize, vp: *const u8, vs: usize);
    fn proxy_get_shared_data(kp: *const u8, ks: usize, vp: *mut *mut u8, vs: *mut usize, cas: *mut u32);
    fn proxy_set_shared_data(kp: *const u8, ks: usize, vp: *const u8, vs: usize, cas: u32);
    fn proxy_register_shared_queue(np: *const u8, ns: usize, id: *mut u32);
    fn proxy_resolve_shared_queue(vp: *const u8, vs: usize, np: *const u8, ns: usize, id: *mut u32);
    fn proxy_dequeue_shared_queue(id: u32, vp: *mut *mut u8, vs: *mut usize);
    fn proxy_enqueue_shared_queue(id: u32, vp: *const u8, vs: usize);
    fn proxy_define_metric(kind: u32, np: *const u8, ns: usize, id: *mut u32);
    fn proxy_increment_metric(id: u32, delta: i64);
    fn proxy_record_metric(id: u32, value: u64);
    fn proxy_get_metric(id: u32, value: *mut u64);
    fn proxy_send_local_response(
        status: u32,
        dp: *const u8,
        ds: usize,
        bp: *const u8,
        bs: usize,
        hp: *const u8,
        hs: usize,
        grpc_status: i32,
    );
    fn proxy_continue_stream(stream: u32);
    fn proxy_close_stream(stream: u32);
    fn proxy_set_effective_context(context_id: u32);
    fn proxy_done();
    fn proxy_http_call(
        up: *const u8,
        us: usize,
        hp: *const u8,
        hs: usize,
        bp: *const u8,
        bs: usize,
        tp: *const u8,
        ts: usize,
        timeout_ms: u32,
        token: *mut u32,
    );
    fn proxy_grpc_call(
        up: *const u8,
        us: usize,
        sp: *const u8,
        ss: usize,
        mp: *const u8,
        ms: usize,
        ip: *const u8,
        is: usize,
        bp: *const u8,
        bs: usize,
        timeout_ms: u32,
        token: *mut u32,
    );
    fn proxy_grpc_stream(
        up: *const u8,
        us: usize,
        sp: *const u8,
        ss: usize,
        mp: *const u8,
        ms: usize,
        ip: *const u8,
        is: usize,
        token: *mut u32,
    );
    fn proxy_grpc_send(token: u32, bp: *const u8, bs: usize, end_stream: u32);
    fn proxy_grpc_cancel(token: u32);
    fn proxy_grpc_close(token: u32);
    fn proxy_get_status(code: *mut u32, mp: *mut *mut u8, ms: *mut usize);
    fn proxy_call_foreign_function(np: *const u8, ns: usize, ap: *const u8, as_: usize, rp: *mut *mut u8, rs: *mut usize);
}
