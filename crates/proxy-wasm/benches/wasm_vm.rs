//! Micro-benchmarks of the Wasm runtime (`cargo bench -p weir-proxy-wasm --bench wasm_vm`):
//!
//! - `callback/*`: one host→guest callback round trip on a minimal module (`proxy_on_tick`
//!   on a root context; `proxy_on_request_headers` on an HTTP context, which also opens and
//!   closes the headers access window);
//! - `header_get_set/pairs_N`: one `proxy_on_request_headers` doing N × (get + replace)
//!   header hostcalls; per pair = (pairs_100 - pairs_0) / 100; `get_only_100` and
//!   `set_only_100` split the pair;
//! - `instantiate_warm/*`: a new VM from the module's `InstancePre` (store, instance,
//!   exports, `_initialize`), plus root context and configure for a real filter;
//! - `compile_cold/*`: Cranelift compilation + linking of a module (no cache);
//! - `compile_cached/*`: the same module from the on-disk cache (`--module-cache`): hash,
//!   load the compiled artifact, link (what a restart pays).
//!
//! Memory per idle VM is printed by the `vm_memory` bench.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use weir_proxy_wasm::wasm::{Vm, VmEnv, VmLimits};

fn callbacks(c: &mut Criterion) {
    let (_runtime, compiled) = common::compile("minimal", &common::minimal_module(0));
    let (mut vm, root) = common::idle_vm(&compiled, "");
    let (ctx, _stream) = common::http_context(&mut vm, root);
    let mut group = c.benchmark_group("callback");
    group.bench_function("on_tick", |b| b.iter(|| vm.on_tick(black_box(root)).unwrap()));
    group.bench_function("on_request_headers_empty", |b| {
        b.iter(|| vm.on_request_headers(black_box(ctx), 10, true).unwrap())
    });
    group.finish();
}

fn header_get_set(c: &mut Criterion) {
    let mut group = c.benchmark_group("header_get_set");
    for pairs in [0u32, 1, 100] {
        let (_runtime, compiled) = common::compile("headers", &common::minimal_module(pairs));
        let (mut vm, root) = common::idle_vm(&compiled, "");
        let (ctx, stream) = common::http_context(&mut vm, root);
        vm.on_request_headers(ctx, 10, true).unwrap();
        if pairs > 0 {
            let data = stream.data.borrow();
            assert_eq!(data.request_headers.get(b"x-bench").map(|v| v.as_ref()), Some(&b"value"[..]));
        }
        group.bench_function(format!("pairs_{pairs}"), |b| {
            b.iter(|| vm.on_request_headers(black_box(ctx), 10, true).unwrap())
        });
    }
    for (name, ops) in [("get_only_100", common::Ops::Get), ("set_only_100", common::Ops::Set)] {
        let (_runtime, compiled) = common::compile("headers", &common::module_with(100, ops));
        let (mut vm, root) = common::idle_vm(&compiled, "");
        let (ctx, _stream) = common::http_context(&mut vm, root);
        group.bench_function(name, |b| b.iter(|| vm.on_request_headers(black_box(ctx), 10, true).unwrap()));
    }
    group.finish();
}

fn instantiate(c: &mut Criterion) {
    let mut group = c.benchmark_group("instantiate_warm");
    let (_runtime, minimal) = common::compile("minimal", &common::minimal_module(0));
    group.bench_function("minimal", |b| {
        b.iter(|| Vm::new(minimal.engine(), &minimal, VmEnv::detached(), VmLimits::default()).unwrap())
    });
    if let Some((_, bytes)) = common::built_filter("header-rewrite") {
        let (_runtime, filter) = common::compile("header-rewrite", &bytes);
        group.bench_function("header_rewrite", |b| {
            b.iter(|| Vm::new(filter.engine(), &filter, VmEnv::detached(), VmLimits::default()).unwrap())
        });
        group.bench_function("header_rewrite_configured", |b| {
            b.iter(|| common::idle_vm(&filter, common::HEADER_REWRITE_CONFIG))
        });
    }
    group.finish();
}

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile_cold");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    let runtime = weir_proxy_wasm::wasm::Engines::new().unwrap();
    let minimal = common::minimal_module(1);
    group.bench_function("minimal", |b| b.iter(|| runtime.compile("minimal", black_box(&minimal)).unwrap()));
    for name in ["header-rewrite", "auth"] {
        if let Some((_, bytes)) = common::built_filter(name) {
            println!("{name}.wasm: {} KiB", bytes.len() / 1024);
            group.bench_function(name.replace('-', "_"), |b| {
                b.iter(|| runtime.compile(name, black_box(&bytes)).unwrap())
            });
        }
    }
    group.finish();
    let mut group = c.benchmark_group("compile_cached");
    let dir = tempfile::tempdir().unwrap();
    let cached = weir_proxy_wasm::wasm::Engines::with_cache(Some(dir.path().to_path_buf())).unwrap();
    for name in ["header-rewrite", "auth"] {
        if let Some((_, bytes)) = common::built_filter(name) {
            drop(cached.compile(name, &bytes).unwrap());
            // Each compiled module is dropped at once, so the next call finds none in memory
            // and loads the one on disk.
            group.bench_function(name.replace('-', "_"), |b| {
                b.iter(|| cached.compile(name, black_box(&bytes)).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, callbacks, header_get_set, instantiate, compile);
criterion_main!(benches);
