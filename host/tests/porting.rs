//! The porting test: one filter source written against the proxy-wasm-rust-sdk API, built
//! against the `proxy-wasm` crate (`proxy-wasm-original.wasm`) and against weir-sdk with only
//! the dependency renamed in `Cargo.toml` (`proxy-wasm-port.wasm`), answers the same in weir:
//! a local reply, request and response header edits, shared data with CAS, a property, the
//! clock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use weir_testing::Harness;

fn filter(name: &str) -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filters").join(format!("{name}.wasm"));
    assert!(path.exists(), "{} missing: run `cargo xtask build-filters`", path.display());
    path
}

/// What one build answers to a few requests, as comparable text.
fn answers(module: &str) -> Vec<String> {
    let harness = Harness::builder(filter(module)).start().unwrap();
    let mut out = Vec::new();
    for round in 0..2 {
        let hello = harness.get("/hello", &[]).unwrap();
        assert!(hello.upstream.is_none(), "{module}: /hello is answered by the filter");
        out.push(format!(
            "{round} /hello {} {:?} powered-by={:?} x-count={:?}",
            hello.status,
            hello.text(),
            hello.header("powered-by"),
            hello.header("x-count")
        ));
        let other = harness.get("/other?q=1", &[("x-one", "1")]).unwrap();
        let upstream = other.upstream.clone().expect("forwarded");
        out.push(format!(
            "{round} /other {} x-headers-seen={:?} x-via={:?} x-request-path={:?} x-clock={:?}",
            other.status,
            upstream.header("x-headers-seen"),
            upstream.header("x-via"),
            other.header("x-request-path"),
            other.header("x-clock")
        ));
    }
    out
}

#[test]
fn a_proxy_wasm_rust_sdk_filter_ported_by_renaming_the_dependency_answers_the_same() {
    let original = answers("proxy-wasm-original");
    let port = answers("proxy-wasm-port");
    assert_eq!(port, original);
    // And what they answer is what the source says.
    assert_eq!(
        original[0],
        r#"0 /hello 200 "Hello, World!\n" powered-by=Some("proxy-wasm") x-count=Some("1")"#
    );
    assert_eq!(
        original[1],
        r#"0 /other 200 x-headers-seen=Some("9") x-via=Some("port") x-request-path=Some("/other?q=1") x-clock=Some("set")"#
    );
    assert!(original[2].contains(r#"x-count=Some("3")"#), "{original:?}");
}
