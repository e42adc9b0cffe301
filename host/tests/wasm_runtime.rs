//! Loading and running modules: errors name what is wrong, limits stop runaway guests, the VM
//! fails cleanly instead of taking the host down.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use weir_proxy_wasm::wasm::{Engines, LoadError, Vm, VmEnv, VmError, VmLimits};

const MARKER: &str = r#"(func (export "proxy_abi_version_0_2_1"))"#;

fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!(r#"(module (memory (export "memory") 1) {MARKER} {body})"#)).unwrap()
}

#[test]
fn unknown_imports_are_listed_with_module_and_name() {
    let runtime = Engines::new().unwrap();
    let bytes = wat::parse_str(format!(
        r#"(module
            (import "env" "proxy_no_such_call" (func))
            (import "other" "thing" (func))
            (memory (export "memory") 1) {MARKER})"#
    ))
    .unwrap();
    let err = runtime.compile("bad-imports", &bytes).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, LoadError::Link { .. }), "{text}");
    assert!(text.contains("env::proxy_no_such_call") && text.contains("other::thing"), "{text}");
}

#[test]
fn modules_without_an_abi_marker_are_refused() {
    let runtime = Engines::new().unwrap();
    let bytes = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    let err = runtime.compile("plain", &bytes).unwrap_err();
    assert!(matches!(err, LoadError::NotProxyWasm { .. }), "{err}");
    assert!(runtime.compile("garbage", b"not wasm").unwrap_err().to_string().contains("does not compile"));
}

#[test]
fn a_wrong_callback_signature_is_named() {
    let runtime = Engines::new().unwrap();
    let compiled =
        runtime.compile("sig", &module(r#"(func (export "proxy_on_configure") (param i32))"#)).unwrap();
    let err = Vm::new(runtime.engine(), &compiled, VmEnv::detached(), VmLimits::default()).unwrap_err();
    assert!(err.to_string().contains("proxy_on_configure"), "{err}");
}

#[test]
fn a_callback_that_loops_forever_is_stopped_and_the_vm_fails() {
    let runtime = Engines::new().unwrap();
    let compiled = runtime
        .compile("loop", &module(r#"(func (export "proxy_on_tick") (param i32) (loop $l (br $l)))"#))
        .unwrap();
    let limits = VmLimits { max_callback_time: Duration::from_millis(50), ..VmLimits::default() };
    let mut vm = Vm::new(runtime.engine(), &compiled, VmEnv::detached(), limits).unwrap();
    let err = vm.on_tick(1).unwrap_err();
    assert!(matches!(err, VmError::Timeout(_)), "{err}");
    assert!(vm.failure().is_some());
    assert!(matches!(vm.on_tick(1).unwrap_err(), VmError::Failed(_)));
}

#[test]
fn memory_growth_past_the_limit_is_refused() {
    let runtime = Engines::new().unwrap();
    // Tries to grow by 64 pages (4 MiB) and traps if that failed.
    let compiled = runtime
        .compile(
            "grow",
            &module(
                r#"(func (export "proxy_on_tick") (param i32)
                     (if (i32.eq (memory.grow (i32.const 64)) (i32.const -1)) (then unreachable)))"#,
            ),
        )
        .unwrap();
    let small = VmLimits { max_memory_bytes: 2 * 1024 * 1024, ..VmLimits::default() };
    let mut vm = Vm::new(runtime.engine(), &compiled, VmEnv::detached(), small).unwrap();
    let err = vm.on_tick(1).unwrap_err();
    assert!(matches!(err, VmError::Limit { limit: "max_memory_bytes", .. }), "{err}");
    assert!(vm.memory_bytes() <= 2 * 1024 * 1024);

    let roomy = VmLimits { max_memory_bytes: 8 * 1024 * 1024, ..VmLimits::default() };
    let mut vm = Vm::new(runtime.engine(), &compiled, VmEnv::detached(), roomy).unwrap();
    vm.on_tick(1).unwrap();
    assert_eq!(vm.memory_bytes(), 65 * 64 * 1024);
}

#[test]
fn a_trap_in_initialize_fails_the_load_with_a_backtrace() {
    let runtime = Engines::new().unwrap();
    let compiled =
        runtime.compile("init", &module(r#"(func $boom (export "_initialize") unreachable)"#)).unwrap();
    let err = Vm::new(runtime.engine(), &compiled, VmEnv::detached(), VmLimits::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("initialisation failed") && text.contains("boom"), "{text}");
}

#[test]
fn proc_exit_stops_the_vm() {
    let runtime = Engines::new().unwrap();
    let compiled = runtime
        .compile(
            "exit",
            &wat::parse_str(format!(
                r#"(module
                    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                    (memory (export "memory") 1) {MARKER}
                    (func (export "proxy_on_tick") (param i32) (call $exit (i32.const 3))))"#
            ))
            .unwrap(),
        )
        .unwrap();
    let mut vm = Vm::new(runtime.engine(), &compiled, VmEnv::detached(), VmLimits::default()).unwrap();
    assert!(matches!(vm.on_tick(1).unwrap_err(), VmError::Exit(3)));
}

#[test]
fn compiled_modules_are_reused_in_memory_and_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = module(r#"(func (export "proxy_on_tick") (param i32))"#);
    let runtime = Engines::with_cache(Some(dir.path().to_path_buf())).unwrap();
    let first = runtime.compile("a", &bytes).unwrap();
    // In use: the same compiled module comes back.
    assert!(std::sync::Arc::ptr_eq(&first, &runtime.compile("b", &bytes).unwrap()));
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].to_string_lossy().contains(first.sha256()));
    // A new process (runtime) loads it from the cache and runs it.
    let again = Engines::with_cache(Some(dir.path().to_path_buf())).unwrap();
    let loaded = again.compile("a", &bytes).unwrap();
    let mut vm = Vm::new(loaded.engine(), &loaded, VmEnv::detached(), VmLimits::default()).unwrap();
    vm.on_tick(1).unwrap();
    // A corrupt entry is ignored and replaced.
    std::fs::write(&entries[0], b"garbage").unwrap();
    let third = Engines::with_cache(Some(dir.path().to_path_buf())).unwrap();
    assert!(third.compile("a", &bytes).is_ok());
    assert!(std::fs::read(&entries[0]).unwrap().len() > 7);
}
