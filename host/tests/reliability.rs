//! Containment and recovery of faulty plugins: limits (memory, stack, time, callouts), the
//! failure policies including FAIL_RELOAD's VM replacement and crash-loop stop, symbolised
//! traps. Each test asserts what must still hold afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weir_host::config::{FailurePolicy, PluginConfig};
use weir_testing::Harness;

fn probe() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filters/abi-probe.wasm");
    assert!(path.exists(), "{} missing: run `cargo xtask build-filters`", path.display());
    path
}

/// The probe runs `ops` when the request has `x-fault: 1`, else nothing.
fn faulty(ops: Value) -> String {
    json!({"request_headers": [{"op": "if_header", "map": "request_headers", "name": "x-fault", "equals": "1", "then": ops}]})
        .to_string()
}

fn harness(ops: Value, edit: impl FnOnce(&mut PluginConfig)) -> Harness {
    Harness::builder(probe()).configuration(&faulty(ops)).with_plugin(edit).start().unwrap()
}

fn plugin_info(h: &Harness) -> Value {
    let plugins: Value = serde_json::from_str(&h.admin("/plugins").unwrap()).unwrap();
    plugins[0].clone()
}

fn status(h: &Harness, fault: bool) -> u16 {
    let headers: &[(&str, &str)] = if fault { &[("x-fault", "1")] } else { &[] };
    h.get("/", headers).unwrap().status
}

/// Polls until `f` holds (5 s at most); returns how long it took.
fn eventually(what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(5), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

#[test]
fn fail_reload_replaces_a_trapped_vm_and_says_where_it_trapped() {
    let h = harness(json!([{"op": "panic"}]), |p| p.failure_policy = FailurePolicy::FailReload);
    assert_eq!(status(&h, false), 200);
    assert_eq!(status(&h, true), 503);
    let replaced = eventually("the VM to be replaced", || status(&h, false) == 200);
    println!("trapped VM replaced and serving after {replaced:?}");
    let info = plugin_info(&h);
    assert_eq!(info["status"], "ok");
    assert_eq!(info["metrics"]["vm_reloads"], 1);
    assert_eq!(info["metrics"]["trapped"], 1);
    // The trap is symbolised from the module's name section (demangled Rust names).
    let error = info["metrics"]["last_failure"]["error"].as_str().unwrap();
    assert!(error.contains("wasm backtrace") && error.contains("weir_test_abi_probe::ops::"), "{error}");
}

#[test]
fn a_crash_loop_stops_reloading_and_fails_closed() {
    // Every request traps: each replacement fails again at once.
    let h = harness(json!([]), |p| {
        p.failure_policy = FailurePolicy::FailReload;
        p.configuration = Some(Value::String(json!({"request_headers": [{"op": "panic"}]}).to_string()));
    });
    let mut reloads = 0;
    while plugin_info(&h)["status"] != "crash-looping" {
        assert_eq!(status(&h, false), 503);
        eventually("a replacement or the crash-loop stop", || {
            let info = plugin_info(&h);
            info["metrics"]["vm_reloads"].as_u64() > Some(reloads) || info["status"] == "crash-looping"
        });
        reloads = plugin_info(&h)["metrics"]["vm_reloads"].as_u64().unwrap();
        assert!(reloads <= 6, "reloading should have stopped");
    }
    assert_eq!(status(&h, false), 503);
    assert_eq!(plugin_info(&h)["metrics"]["failed_vms"], 1);
}

#[test]
fn limits_fail_the_request_by_policy_and_the_vm_recovers_or_not_as_configured() {
    // Memory: a 64 MiB allocation against a 16 MiB cap, fail-open: that request fails (as in
    // Envoy, under every policy), later ones go through without the plugin.
    let h = harness(json!([{"op": "grow_memory", "mb": 64}]), |p| {
        p.failure_policy = FailurePolicy::FailOpen;
        p.limits.max_memory_bytes = 16 << 20;
    });
    assert_eq!(status(&h, true), 503);
    assert_eq!(status(&h, false), 200);
    let info = plugin_info(&h);
    assert_eq!(info["metrics"]["limits_exceeded"], 1);
    let error = info["metrics"]["last_failure"]["error"].as_str().unwrap();
    assert!(error.starts_with("max_memory_bytes exceeded"), "{error}");

    // Stack: unbounded recursion against 256 KiB, fail-closed.
    let h = harness(json!([{"op": "recurse"}]), |p| p.limits.max_stack_bytes = 256 << 10);
    assert_eq!(status(&h, true), 503);
    assert_eq!(status(&h, false), 503);
    let error = plugin_info(&h)["metrics"]["last_failure"]["error"].as_str().unwrap().to_string();
    assert!(error.starts_with("max_stack_bytes exceeded"), "{error}");
    // The top of the documented range (8 MiB) starts too, and the recursion is contained: with
    // that much native stack the guest's own (linear-memory) stack runs out first, a trap.
    let h =
        harness(json!([{"op": "recurse"}]), |p| p.limits.max_stack_bytes = weir_proxy_wasm::wasm::MAX_STACK);
    assert_eq!(status(&h, true), 503);
    let error = plugin_info(&h)["metrics"]["last_failure"]["error"].as_str().unwrap().to_string();
    assert!(error.starts_with("wasm trap") || error.starts_with("max_stack_bytes exceeded"), "{error}");

    // Time: a callback that never returns is stopped at its budget; FAIL_RELOAD brings it back.
    let h = harness(json!([{"op": "loop_forever"}]), |p| {
        p.failure_policy = FailurePolicy::FailReload;
        p.limits.max_callback_time = Duration::from_millis(50);
    });
    assert_eq!(status(&h, true), 503);
    eventually("the VM to be replaced", || status(&h, false) == 200);
    assert_eq!(plugin_info(&h)["metrics"]["timed_out"], 1);
}

#[test]
fn callouts_past_the_limit_are_refused_with_internal_failure() {
    let call = |id: &str| {
        json!({"op": "http_call", "cluster": "upstream", "timeout_ms": 5000, "id": id,
               "headers": [[":method", "GET"], [":path", "/"], [":authority", "upstream"]]})
    };
    let h = harness(json!([call("c1"), call("c2"), call("c3")]), |p| p.limits.max_concurrent_callouts = 2);
    let reply = h.get("/", &[("x-fault", "1")]).unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(
        (reply.header("x-probe-c1"), reply.header("x-probe-c2"), reply.header("x-probe-c3")),
        (Some("Ok"), Some("Ok"), Some("InternalFailure"))
    );
    let metrics = h.admin("/stats/prometheus").unwrap();
    assert!(
        metrics.contains(
            r#"weir_plugin_limit_exceeded_total{plugin="plugin-0",limit="max_concurrent_callouts"} 1"#
        ),
        "{metrics}"
    );
}
