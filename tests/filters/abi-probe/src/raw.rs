//! Raw proxy-wasm imports, so the probe can see the exact status a host returns (the
//! `proxy-wasm` crate panics on statuses it does not expect).

#![allow(unsafe_code)]

use std::ptr::null_mut;

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_get_header_map_value(
        map: u32,
        kp: *const u8,
        ks: usize,
        vp: *mut *mut u8,
        vs: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(map: u32, vp: *mut *mut u8, vs: *mut usize) -> u32;
    fn proxy_set_header_map_pairs(map: u32, p: *const u8, s: usize) -> u32;
    fn proxy_get_header_map_size(map: u32, size: *mut usize) -> u32;
    fn proxy_add_header_map_value(map: u32, kp: *const u8, ks: usize, vp: *const u8, vs: usize) -> u32;
    fn proxy_replace_header_map_value(map: u32, kp: *const u8, ks: usize, vp: *const u8, vs: usize) -> u32;
    fn proxy_remove_header_map_value(map: u32, kp: *const u8, ks: usize) -> u32;
    fn proxy_get_property(pp: *const u8, ps: usize, vp: *mut *mut u8, vs: *mut usize) -> u32;
    fn proxy_set_property(pp: *const u8, ps: usize, vp: *const u8, vs: usize) -> u32;
    fn proxy_get_buffer_bytes(kind: u32, start: usize, max: usize, vp: *mut *mut u8, vs: *mut usize) -> u32;
    fn proxy_set_buffer_bytes(kind: u32, start: usize, len: usize, vp: *const u8, vs: usize) -> u32;
    fn proxy_get_buffer_status(kind: u32, len: *mut usize, flags: *mut u32) -> u32;
    fn proxy_get_shared_data(
        kp: *const u8,
        ks: usize,
        vp: *mut *mut u8,
        vs: *mut usize,
        cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(kp: *const u8, ks: usize, vp: *const u8, vs: usize, cas: u32) -> u32;
    fn proxy_register_shared_queue(np: *const u8, ns: usize, token: *mut u32) -> u32;
    fn proxy_resolve_shared_queue(vp: *const u8, vs: usize, np: *const u8, ns: usize, token: *mut u32)
    -> u32;
    fn proxy_enqueue_shared_queue(token: u32, vp: *const u8, vs: usize) -> u32;
    fn proxy_dequeue_shared_queue(token: u32, vp: *mut *mut u8, vs: *mut usize) -> u32;
    fn proxy_define_metric(kind: u32, np: *const u8, ns: usize, id: *mut u32) -> u32;
    fn proxy_increment_metric(id: u32, delta: i64) -> u32;
    fn proxy_record_metric(id: u32, value: u64) -> u32;
    fn proxy_get_metric(id: u32, value: *mut u64) -> u32;
    fn proxy_continue_stream(kind: u32) -> u32;
    fn proxy_close_stream(kind: u32) -> u32;
    fn proxy_log(level: u32, mp: *const u8, ms: usize) -> u32;
    fn proxy_get_log_level(level: *mut u32) -> u32;
    fn proxy_set_effective_context(ctx: u32) -> u32;
    fn proxy_done() -> u32;
    fn proxy_call_foreign_function(
        np: *const u8,
        ns: usize,
        ap: *const u8,
        as_: usize,
        rp: *mut *mut u8,
        rs: *mut usize,
    ) -> u32;
    fn proxy_get_status(code: *mut u32, mp: *mut *mut u8, ms: *mut usize) -> u32;
    fn proxy_grpc_send(token: u32, mp: *const u8, ms: usize, end: u32) -> u32;
    fn proxy_grpc_close(token: u32) -> u32;
    fn proxy_grpc_cancel(token: u32) -> u32;
    fn proxy_send_local_response(
        status: u32,
        dp: *const u8,
        ds: usize,
        bp: *const u8,
        bs: usize,
        hp: *const u8,
        hs: usize,
        grpc_status: i32,
    ) -> u32;
}

/// `proxy_send_local_response`.
pub fn send_local_response(status: u32, details: &str, body: &[u8], headers: &[u8]) -> u32 {
    // SAFETY: plain hostcall with valid slices.
    unsafe {
        proxy_send_local_response(
            status,
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    }
}

/// A host result: the raw status, and returned bytes when there are any.
pub type Raw = Result<Option<Vec<u8>>, u32>;

fn take(status: u32, ptr: *mut u8, size: usize) -> Raw {
    if status != 0 {
        return Err(status);
    }
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: the host allocated `size` bytes at `ptr` with our allocator and handed them over.
    Ok(Some(unsafe { Vec::from_raw_parts(ptr, size, size) }))
}

macro_rules! out_call {
    ($f:ident($($arg:expr),*)) => {{
        let mut ptr: *mut u8 = null_mut();
        let mut size: usize = 0;
        // SAFETY: plain hostcall; the out-pointers are valid locals.
        let status = unsafe { $f($($arg,)* &mut ptr, &mut size) };
        take(status, ptr, size)
    }};
}

/// `proxy_get_header_map_value`.
pub fn get_header(map: u32, key: &str) -> Raw {
    out_call!(proxy_get_header_map_value(map, key.as_ptr(), key.len()))
}

/// `proxy_get_header_map_pairs`.
pub fn get_pairs(map: u32) -> Raw {
    out_call!(proxy_get_header_map_pairs(map))
}

/// `proxy_set_header_map_pairs` with an encoded buffer.
pub fn set_pairs(map: u32, encoded: &[u8]) -> u32 {
    // SAFETY: plain hostcall with a valid slice.
    unsafe { proxy_set_header_map_pairs(map, encoded.as_ptr(), encoded.len()) }
}

/// `proxy_get_header_map_size`.
pub fn map_size(map: u32) -> Result<usize, u32> {
    let mut size = 0;
    // SAFETY: plain hostcall with a valid out-pointer.
    match unsafe { proxy_get_header_map_size(map, &mut size) } {
        0 => Ok(size),
        s => Err(s),
    }
}

/// `proxy_add_header_map_value`.
pub fn add_header(map: u32, key: &str, value: &str) -> u32 {
    // SAFETY: plain hostcall with valid slices.
    unsafe { proxy_add_header_map_value(map, key.as_ptr(), key.len(), value.as_ptr(), value.len()) }
}

/// `proxy_replace_header_map_value`.
pub fn replace_header(map: u32, key: &str, value: &str) -> u32 {
    // SAFETY: plain hostcall with valid slices.
    unsafe { proxy_replace_header_map_value(map, key.as_ptr(), key.len(), value.as_ptr(), value.len()) }
}

/// `proxy_remove_header_map_value`.
pub fn remove_header(map: u32, key: &str) -> u32 {
    // SAFETY: plain hostcall with a valid slice.
    unsafe { proxy_remove_header_map_value(map, key.as_ptr(), key.len()) }
}

/// `proxy_get_property` with `\0`-joined segments.
pub fn get_property(path: &[String]) -> Raw {
    let joined = path.join("\0");
    out_call!(proxy_get_property(joined.as_ptr(), joined.len()))
}

/// `proxy_set_property`.
pub fn set_property(path: &[String], value: &[u8]) -> u32 {
    let joined = path.join("\0");
    // SAFETY: plain hostcall with valid slices.
    unsafe { proxy_set_property(joined.as_ptr(), joined.len(), value.as_ptr(), value.len()) }
}

/// `proxy_get_buffer_bytes`.
pub fn get_buffer(kind: u32, start: usize, max: usize) -> Raw {
    out_call!(proxy_get_buffer_bytes(kind, start, max))
}

/// `proxy_set_buffer_bytes`.
pub fn set_buffer(kind: u32, start: usize, len: usize, value: &[u8]) -> u32 {
    // SAFETY: plain hostcall with a valid slice.
    unsafe { proxy_set_buffer_bytes(kind, start, len, value.as_ptr(), value.len()) }
}

/// `proxy_get_buffer_status`.
pub fn buffer_status(kind: u32) -> Result<usize, u32> {
    let (mut len, mut flags) = (0usize, 0u32);
    // SAFETY: plain hostcall with valid out-pointers.
    match unsafe { proxy_get_buffer_status(kind, &mut len, &mut flags) } {
        0 => Ok(len),
        s => Err(s),
    }
}

/// `proxy_get_shared_data`: value and CAS.
pub fn shared_get(key: &str) -> Result<(Option<Vec<u8>>, u32), u32> {
    let mut ptr: *mut u8 = null_mut();
    let mut size = 0usize;
    let mut cas = 0u32;
    // SAFETY: plain hostcall with valid out-pointers.
    let status = unsafe { proxy_get_shared_data(key.as_ptr(), key.len(), &mut ptr, &mut size, &mut cas) };
    take(status, ptr, size).map(|v| (v, cas))
}

/// `proxy_get_shared_data` with a key pointer outside guest memory.
pub fn shared_get_out_of_bounds() -> u32 {
    let mut ptr: *mut u8 = null_mut();
    let mut size = 0usize;
    let mut cas = 0u32;
    // SAFETY: the host must reject the bogus key pointer without touching our memory.
    unsafe { proxy_get_shared_data(0xffff_fff0usize as *const u8, 64, &mut ptr, &mut size, &mut cas) }
}

/// `proxy_set_shared_data`.
pub fn shared_set(key: &str, value: &[u8], cas: u32) -> u32 {
    // SAFETY: plain hostcall with valid slices.
    unsafe { proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas) }
}

fn with_token(f: impl FnOnce(*mut u32) -> u32) -> Result<u32, u32> {
    let mut token = 0u32;
    match f(&mut token) {
        0 => Ok(token),
        s => Err(s),
    }
}

/// `proxy_register_shared_queue`.
pub fn queue_register(name: &str) -> Result<u32, u32> {
    // SAFETY: plain hostcall with valid pointers.
    with_token(|t| unsafe { proxy_register_shared_queue(name.as_ptr(), name.len(), t) })
}

/// `proxy_resolve_shared_queue`.
pub fn queue_resolve(vm_id: &str, name: &str) -> Result<u32, u32> {
    // SAFETY: plain hostcall with valid pointers.
    with_token(|t| unsafe {
        proxy_resolve_shared_queue(vm_id.as_ptr(), vm_id.len(), name.as_ptr(), name.len(), t)
    })
}

/// `proxy_enqueue_shared_queue`.
pub fn enqueue(token: u32, value: &[u8]) -> u32 {
    // SAFETY: plain hostcall with a valid slice.
    unsafe { proxy_enqueue_shared_queue(token, value.as_ptr(), value.len()) }
}

/// `proxy_dequeue_shared_queue`.
pub fn dequeue(token: u32) -> Raw {
    out_call!(proxy_dequeue_shared_queue(token))
}

/// `proxy_define_metric`.
pub fn define_metric(kind: u32, name: &str) -> Result<u32, u32> {
    // SAFETY: plain hostcall with valid pointers.
    with_token(|id| unsafe { proxy_define_metric(kind, name.as_ptr(), name.len(), id) })
}

/// `proxy_increment_metric`.
pub fn increment_metric(id: u32, delta: i64) -> u32 {
    // SAFETY: plain hostcall.
    unsafe { proxy_increment_metric(id, delta) }
}

/// `proxy_record_metric`.
pub fn record_metric(id: u32, value: u64) -> u32 {
    // SAFETY: plain hostcall.
    unsafe { proxy_record_metric(id, value) }
}

/// `proxy_get_metric`.
pub fn get_metric(id: u32) -> Result<u64, u32> {
    let mut value = 0u64;
    // SAFETY: plain hostcall with a valid out-pointer.
    match unsafe { proxy_get_metric(id, &mut value) } {
        0 => Ok(value),
        s => Err(s),
    }
}

/// `proxy_continue_stream`.
pub fn continue_stream(kind: u32) -> u32 {
    // SAFETY: plain hostcall.
    unsafe { proxy_continue_stream(kind) }
}

/// `proxy_close_stream`.
pub fn close_stream(kind: u32) -> u32 {
    // SAFETY: plain hostcall.
    unsafe { proxy_close_stream(kind) }
}

/// `proxy_log`.
pub fn log(level: u32, message: &str) -> u32 {
    // SAFETY: plain hostcall with a valid slice.
    unsafe { proxy_log(level, message.as_ptr(), message.len()) }
}

/// `proxy_get_log_level`.
pub fn log_level() -> Result<u32, u32> {
    let mut level = 0;
    // SAFETY: plain hostcall with a valid out-pointer.
    match unsafe { proxy_get_log_level(&mut level) } {
        0 => Ok(level),
        s => Err(s),
    }
}

/// `proxy_set_effective_context`.
pub fn set_effective_context(ctx: u32) -> u32 {
    // SAFETY: plain hostcall.
    unsafe { proxy_set_effective_context(ctx) }
}

/// `proxy_done`.
pub fn done() -> u32 {
    // SAFETY: plain hostcall.
    unsafe { proxy_done() }
}

/// `proxy_call_foreign_function`.
pub fn foreign(name: &str, args: &[u8]) -> Raw {
    out_call!(proxy_call_foreign_function(name.as_ptr(), name.len(), args.as_ptr(), args.len()))
}

/// `proxy_get_status`: code and message.
pub fn get_status() -> Result<(u32, Vec<u8>), u32> {
    let mut code = 0u32;
    let mut ptr: *mut u8 = null_mut();
    let mut size = 0usize;
    // SAFETY: plain hostcall with valid out-pointers.
    let status = unsafe { proxy_get_status(&mut code, &mut ptr, &mut size) };
    take(status, ptr, size).map(|m| (code, m.unwrap_or_default()))
}

/// `proxy_grpc_send`.
pub fn grpc_send(token: u32, message: &[u8], end: bool) -> u32 {
    // SAFETY: plain hostcall with a valid slice.
    unsafe { proxy_grpc_send(token, message.as_ptr(), message.len(), u32::from(end)) }
}

/// `proxy_grpc_close`.
pub fn grpc_close(token: u32) -> u32 {
    // SAFETY: plain hostcall.
    unsafe { proxy_grpc_close(token) }
}

/// `proxy_grpc_cancel`.
pub fn grpc_cancel(token: u32) -> u32 {
    // SAFETY: plain hostcall.
    unsafe { proxy_grpc_cancel(token) }
}

/// Encodes header pairs in the ABI wire format.
pub fn encode_pairs(pairs: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

/// Decodes header pairs (lossy UTF-8).
pub fn decode_pairs(buf: &[u8]) -> Vec<(String, String)> {
    let word =
        |at: usize| buf.get(at..at + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let count = word(0);
    let mut at = 4 + count * 8;
    let mut out = Vec::new();
    for i in 0..count {
        let (kl, vl) = (word(4 + i * 8), word(8 + i * 8));
        let key = buf.get(at..at + kl).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        at += kl + 1;
        let value = buf.get(at..at + vl).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        at += vl + 1;
        out.push((key, value));
    }
    out
}
