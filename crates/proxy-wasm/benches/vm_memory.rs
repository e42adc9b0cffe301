//! Memory per idle VM (`cargo bench -p weir-proxy-wasm --bench vm_memory`): creates N VMs of a
//! module, each with a configured root context (a plugin at rest on a worker), and prints
//! the guest linear memory per VM and the process RSS growth per VM (`/proc/self/status`).
//! Linear memory is what the guest sized; RSS is what the host really touched (guest pages
//! written, store, instance and JIT bookkeeping), which is what a worker count multiplies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

const VMS: usize = 200;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn measure(name: &str, bytes: &[u8], configuration: &str) {
    let (_runtime, compiled) = common::compile(name, bytes);
    // One VM first, so lazily initialised runtime state is not counted per VM.
    let warm = common::idle_vm(&compiled, configuration);
    let before = rss_kib();
    let vms: Vec<_> = (0..VMS).map(|_| common::idle_vm(&compiled, configuration)).collect();
    let after = rss_kib();
    let linear: usize = vms.iter().map(|(vm, _)| vm.memory_bytes()).sum();
    println!(
        "vm_memory/{name}: {VMS} idle VMs: linear memory {:.1} KiB/VM, RSS +{:.1} KiB/VM ({} KiB -> {} KiB)",
        linear as f64 / VMS as f64 / 1024.0,
        after.saturating_sub(before) as f64 / VMS as f64,
        before,
        after
    );
    drop(vms);
    drop(warm);
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it too, which is fine (quick).
    measure("minimal", &common::minimal_module(0), "");
    if let Some((_, bytes)) = common::built_filter("header-rewrite") {
        measure("header-rewrite", &bytes, common::HEADER_REWRITE_CONFIG);
    }
    if let Some((_, bytes)) = common::built_filter("auth") {
        let config = r#"{"api_key":{"header":"x-api-key"},"consumers":[{"name":"c","api_keys":["k"]}]}"#;
        measure("auth", &bytes, config);
    }
}
