//! `weir_testing::Harness` runs a compiled filter in-process (here the header-rewrite
//! example, built by `cargo xtask build-filters`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use weir_testing::Harness;

fn filter(name: &str) -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filters").join(format!("{name}.wasm"));
    assert!(path.exists(), "{} missing: run `cargo xtask build-filters`", path.display());
    path
}

#[test]
fn a_filter_runs_in_process_and_the_upstream_view_is_returned() {
    let harness = Harness::builder(filter("header-rewrite"))
        .configuration(r#"{"request_headers_to_set": {"x-example": "on"}, "response_headers_to_set": {"x-powered-by": "weir"}}"#)
        .start()
        .unwrap();
    let response = harness.get("/hello", &[("x-internal", "1")]).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-powered-by"), Some("weir"));
    let upstream = response.upstream.expect("the request reached the upstream");
    assert_eq!(upstream.path, "/hello");
    assert_eq!(upstream.header("x-example"), Some("on"));
}

/// `Harness::from_crate` builds the filter crate itself: no prebuilt `.wasm`.
#[test]
fn a_filter_crate_is_built_and_run_without_a_prebuilt_module() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/require-header");
    let harness = Harness::from_crate(&example)
        .unwrap()
        .configuration(r#"{"header": "x-key", "status": 401}"#)
        .start()
        .unwrap();
    assert_eq!(harness.get("/", &[]).unwrap().status, 401);
    assert_eq!(harness.get("/", &[("x-key", "1")]).unwrap().status, 200);
    let err = weir_testing::build_filter(std::env::temp_dir().join("no-such-crate")).unwrap_err().to_string();
    assert!(err.contains("no-such-crate"), "{err}");
}

#[test]
fn runtime_values_are_published_to_the_plugins_vm() {
    let harness = Harness::builder(filter("abi-probe"))
        .vm_id("rt")
        .configuration(
            r#"{"request_headers": [{"op": "shared_get", "key": "weir.runtime.version", "id": "version"}]}"#,
        )
        .start()
        .unwrap();
    let before = harness.get("/", &[]).unwrap();
    assert_eq!(before.header("x-probe-version"), Some("!NotFound"));
    harness.set_runtime(&[("feature.enabled", serde_json::json!(true))]);
    let after = harness.get("/", &[]).unwrap();
    assert_eq!(after.header("x-probe-version"), Some("1"));
}

#[test]
fn a_plugin_that_rejects_its_configuration_does_not_start() {
    let err =
        Harness::builder(filter("require-header")).configuration(r#"{"header": ""}"#).start().unwrap_err();
    assert!(err.to_string().contains("proxy_on_configure returned false"), "{err}");
}

/// A module whose response-body, log and done callbacks trap: declaring that it implements
/// only the header callbacks (`weir_http_callbacks`) must keep weir from making them.
fn header_only_module(declares: bool) -> tempfile::TempPath {
    let declaration = if declares {
        // REQUEST_HEADERS | RESPONSE_HEADERS
        r#"(func (export "weir_http_callbacks") (result i32) (i32.const 9))"#
    } else {
        ""
    };
    let wat = format!(
        r#"(module
            (memory (export "memory") 1)
            (func (export "proxy_abi_version_0_2_1"))
            (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
            (func (export "proxy_on_context_create") (param i32 i32))
            (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
            (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
            (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))
            (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0))
            (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32) unreachable)
            (func (export "proxy_on_log") (param i32) unreachable)
            (func (export "proxy_on_done") (param i32) (result i32) unreachable)
            (func (export "proxy_on_delete") (param i32))
            {declaration})"#
    );
    let file = tempfile::Builder::new().suffix(".wasm").tempfile().unwrap();
    std::fs::write(file.path(), wat::parse_str(wat).unwrap()).unwrap();
    file.into_temp_path()
}

#[test]
fn declared_http_callbacks_are_the_only_ones_made() {
    let declared = header_only_module(true);
    let harness = Harness::builder(&declared).start().unwrap();
    for _ in 0..3 {
        let response = harness.get("/", &[]).unwrap();
        assert_eq!(response.status, 200, "body, log and done were not called");
        assert!(response.upstream.is_some());
    }
    // Without the declaration the same module gets every callback, and its body callback traps.
    let undeclared = header_only_module(false);
    let harness = Harness::builder(&undeclared).start().unwrap();
    let response = harness.get("/", &[]);
    assert!(response.is_err(), "the body callback ran and trapped, resetting the stream: {response:?}");
}
