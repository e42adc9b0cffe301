//! `weir_host::testing::Harness` runs a compiled filter in-process (here the header-rewrite
//! example, built by `cargo xtask build-filters`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use weir_host::testing::Harness;

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
