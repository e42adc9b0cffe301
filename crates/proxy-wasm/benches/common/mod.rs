//! Modules and helpers shared by the micro-benchmarks.

#![allow(dead_code)]

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use weir_http::{HeaderMap, HttpStream, StreamShared};
use weir_proxy_wasm::wasm::{CompiledModule, Engines, RootContextInfo, Vm, VmEnv, VmLimits};

/// Request headers of a typical proxied GET (10 entries, pseudo-headers included).
pub fn request_headers() -> HeaderMap {
    let mut map = HeaderMap::with_capacity(16);
    for (k, v) in [
        (":method", "GET"),
        (":path", "/bench"),
        (":authority", "bench.local"),
        (":scheme", "http"),
        ("user-agent", "wrk"),
        ("accept", "*/*"),
        ("x-customer-id", "customer-A"),
        ("x-request-id", "0b4a4c36-52fb-4d2e-9a3f-0f1b5c6d7e8f"),
        ("x-forwarded-proto", "http"),
        ("x-echo-body", "ok"),
    ] {
        map.add(Bytes::from_static(k.as_bytes()), Bytes::from_static(v.as_bytes()));
    }
    map
}

/// Which header hostcalls the minimal module's `proxy_on_request_headers` makes per pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ops {
    /// `proxy_get_header_map_value(x-customer-id)` then `proxy_replace_header_map_value(x-bench)`.
    GetSet,
    /// Only the get.
    Get,
    /// Only the replace.
    Set,
}

/// A minimal proxy-wasm module (hand-written WAT): empty `proxy_on_tick`, and a
/// `proxy_on_request_headers` that does `pairs` × (get `x-customer-id`, replace `x-bench`)
/// and traps if a get does not answer `Ok`. Its allocator hands out one scratch area.
pub fn minimal_module(pairs: u32) -> Vec<u8> {
    module_with(pairs, Ops::GetSet)
}

/// [`minimal_module`] with a choice of hostcalls per iteration.
pub fn module_with(pairs: u32, ops: Ops) -> Vec<u8> {
    let get = r#"(if (i32.ne (call $get (i32.const 0) (i32.const 16) (i32.const 13) (i32.const 64) (i32.const 68)) (i32.const 0))
          (then unreachable))"#;
    let set = "(drop (call $set (i32.const 0) (i32.const 32) (i32.const 7) (i32.const 48) (i32.const 5)))";
    let body = match ops {
        Ops::GetSet => format!("{get}\n        {set}"),
        Ops::Get => get.to_string(),
        Ops::Set => set.to_string(),
    };
    let wat = format!(
        r#"(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "x-customer-id")
  (data (i32.const 32) "x-bench")
  (data (i32.const 48) "value")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_tick") (param i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const {pairs})))
        {body}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 0)))"#
    );
    wat::parse_str(wat).expect("valid WAT")
}

/// A built filter from `target/filters` (after `cargo xtask build-filters`), if present.
pub fn built_filter(name: &str) -> Option<(PathBuf, Vec<u8>)> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filters").join(format!("{name}.wasm"));
    match std::fs::read(&path) {
        Ok(bytes) => Some((path, bytes)),
        Err(_) => {
            println!(
                "skipping {name}.wasm benchmarks: {} missing (run `cargo xtask build-filters`)",
                path.display()
            );
            None
        }
    }
}

/// The configuration header-rewrite gets in `cargo xtask bench`.
pub const HEADER_REWRITE_CONFIG: &str = r#"{"request_headers_to_set":{"x-example":"header-rewrite"},"request_headers_to_remove":["x-internal"],"response_headers_to_set":{"x-powered-by":"weir-bench"}}"#;

/// Compiles `bytes` on a fresh runtime.
pub fn compile(name: &str, bytes: &[u8]) -> (Arc<Engines>, Arc<CompiledModule>) {
    let runtime = Engines::new().expect("runtime");
    let compiled = runtime.compile(name, bytes).expect("compiles");
    (runtime, compiled)
}

/// A VM with a configured root context (as a plugin at rest on a worker): instantiate,
/// `_initialize`, `proxy_on_context_create`, `proxy_on_vm_start`, `proxy_on_configure`.
pub fn idle_vm(compiled: &CompiledModule, configuration: &str) -> (Vm, u32) {
    let mut vm =
        Vm::new(compiled.engine(), compiled, VmEnv::detached(), VmLimits::default()).expect("instantiates");
    let root = vm
        .create_root_context(RootContextInfo::new("bench", "", Bytes::from(configuration.to_string())))
        .expect("root context");
    assert!(vm.on_vm_start(root).expect("vm start"), "proxy_on_vm_start refused");
    assert!(vm.on_configure(root).expect("configure"), "proxy_on_configure refused");
    (vm, root)
}

/// An HTTP context on a stream with [`request_headers`].
pub fn http_context(vm: &mut Vm, root: u32) -> (u32, Rc<StreamShared>) {
    let stream = HttpStream { request_headers: request_headers(), ..HttpStream::default() };
    let shared = Rc::new(StreamShared::new(stream));
    let ctx = vm.create_http_context(root, shared.clone()).expect("http context");
    (ctx, shared)
}
