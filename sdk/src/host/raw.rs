//! The proxy-wasm imports, declared with plain integer types so every status reaches Rust code
//! (the `proxy-wasm` crate's own wrappers panic on statuses they do not expect).
//!
//! Natively (unit tests of filter logic) the imports do not exist; every call answers
//! `Unimplemented` there.

#![allow(unsafe_code)]

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "env")]
unsafe extern "C" {
    pub fn proxy_get_header_map_value(
        map: u32,
        kp: *const u8,
        ks: usize,
        vp: *mut *mut u8,
        vs: *mut usize,
    ) -> u32;
    pub fn proxy_get_header_map_pairs(map: u32, vp: *mut *mut u8, vs: *mut usize) -> u32;
    pub fn proxy_add_header_map_value(map: u32, kp: *const u8, ks: usize, vp: *const u8, vs: usize) -> u32;
    pub fn proxy_replace_header_map_value(
        map: u32,
        kp: *const u8,
        ks: usize,
        vp: *const u8,
        vs: usize,
    ) -> u32;
    pub fn proxy_remove_header_map_value(map: u32, kp: *const u8, ks: usize) -> u32;
    pub fn proxy_get_property(pp: *const u8, ps: usize, vp: *mut *mut u8, vs: *mut usize) -> u32;
    pub fn proxy_set_property(pp: *const u8, ps: usize, vp: *const u8, vs: usize) -> u32;
    pub fn proxy_get_buffer_bytes(
        kind: u32,
        start: usize,
        max: usize,
        vp: *mut *mut u8,
        vs: *mut usize,
    ) -> u32;
    pub fn proxy_set_buffer_bytes(kind: u32, start: usize, len: usize, vp: *const u8, vs: usize) -> u32;
    pub fn proxy_get_shared_data(
        kp: *const u8,
        ks: usize,
        vp: *mut *mut u8,
        vs: *mut usize,
        cas: *mut u32,
    ) -> u32;
    pub fn proxy_set_shared_data(kp: *const u8, ks: usize, vp: *const u8, vs: usize, cas: u32) -> u32;
    pub fn proxy_define_metric(kind: u32, np: *const u8, ns: usize, id: *mut u32) -> u32;
    pub fn proxy_increment_metric(id: u32, delta: i64) -> u32;
    pub fn proxy_record_metric(id: u32, value: u64) -> u32;
    pub fn proxy_get_metric(id: u32, value: *mut u64) -> u32;
    pub fn proxy_send_local_response(
        status: u32,
        dp: *const u8,
        ds: usize,
        bp: *const u8,
        bs: usize,
        hp: *const u8,
        hs: usize,
        grpc_status: i32,
    ) -> u32;
    pub fn proxy_get_current_time_nanoseconds(time: *mut u64) -> u32;
    pub fn proxy_continue_stream(stream: u32) -> u32;
    pub fn proxy_set_effective_context(context_id: u32) -> u32;
    pub fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    pub fn proxy_get_log_level(level: *mut u32) -> u32;
}

/// Native stand-ins: there is no host outside wasm.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::missing_safety_doc, missing_docs)]
mod native {
    const UNIMPLEMENTED: u32 = 12;
    pub unsafe fn proxy_get_header_map_value(
        _: u32,
        _: *const u8,
        _: usize,
        _: *mut *mut u8,
        _: *mut usize,
    ) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_header_map_pairs(_: u32, _: *mut *mut u8, _: *mut usize) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_add_header_map_value(_: u32, _: *const u8, _: usize, _: *const u8, _: usize) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_replace_header_map_value(
        _: u32,
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
    ) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_remove_header_map_value(_: u32, _: *const u8, _: usize) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_property(_: *const u8, _: usize, _: *mut *mut u8, _: *mut usize) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_set_property(_: *const u8, _: usize, _: *const u8, _: usize) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_buffer_bytes(_: u32, _: usize, _: usize, _: *mut *mut u8, _: *mut usize) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_set_buffer_bytes(_: u32, _: usize, _: usize, _: *const u8, _: usize) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_shared_data(
        _: *const u8,
        _: usize,
        _: *mut *mut u8,
        _: *mut usize,
        _: *mut u32,
    ) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_set_shared_data(_: *const u8, _: usize, _: *const u8, _: usize, _: u32) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_define_metric(_: u32, _: *const u8, _: usize, _: *mut u32) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_increment_metric(_: u32, _: i64) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_record_metric(_: u32, _: u64) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_metric(_: u32, _: *mut u64) -> u32 {
        UNIMPLEMENTED
    }
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn proxy_send_local_response(
        _: u32,
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
        _: i32,
    ) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_current_time_nanoseconds(_: *mut u64) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_continue_stream(_: u32) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_set_effective_context(_: u32) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_set_tick_period_milliseconds(_: u32) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_log_level(_: *mut u32) -> u32 {
        UNIMPLEMENTED
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use native::*;
