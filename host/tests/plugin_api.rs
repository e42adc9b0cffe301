//! The plugin management API on the admin port: load, swap and remove plugins at run time;
//! refused changes leave the running chain untouched; 100 swaps under load fail no request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use weir_testing::{Harness, TestResponse};

fn filter(name: &str) -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filters").join(format!("{name}.wasm"));
    assert!(path.exists(), "{} missing: run `cargo xtask build-filters`", path.display());
    path
}

fn rewrite(version: u64) -> String {
    json!({"request_headers_to_set": {}, "response_headers_to_set": {"x-version": version.to_string()}})
        .to_string()
}

fn harness() -> Harness {
    Harness::builder(filter("header-rewrite")).configuration(&rewrite(0)).concurrency(2).start().unwrap()
}

fn admin(h: &Harness, method: &str, path: &str, content_type: &str, body: impl Into<Bytes>) -> TestResponse {
    h.admin_change(method, path, content_type, body).unwrap()
}

#[test]
fn plugins_are_loaded_swapped_and_removed_at_run_time() {
    let h = harness();
    // Load require-header from a path, first in the listener's chain.
    let spec = json!({
        "name": "gate", "wasm": filter("require-header"),
        "configuration": r#"{"header":"x-key","status":401,"body":"no key\n"}"#,
        "failure_policy": "FAIL_CLOSED",
        "attach": {"listener": "main", "position": 0}
    });
    let r = admin(&h, "POST", "/plugins", "application/json", spec.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(h.get("/", &[]).unwrap().status, 401);
    assert_eq!(h.get("/", &[("x-key", "k")]).unwrap().header("x-version"), Some("0"));

    // Swap its config.
    let r = admin(
        &h,
        "PUT",
        "/plugins/gate",
        "application/json",
        json!({"configuration": r#"{"header":"x-other","status":403,"body":"no\n"}"#}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(h.get("/", &[("x-key", "k")]).unwrap().status, 403);

    // A module sent as the body, with the spec in the query.
    let module = std::fs::read(filter("require-header")).unwrap();
    let r = admin(
        &h,
        "PUT",
        "/plugins/gate?configuration=%7B%22header%22%3A%22x-third%22%7D&listener=main&position=1",
        "application/wasm",
        module,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(h.get("/", &[]).unwrap().status, 403, "require-header's default status");
    let plugins: Value = serde_json::from_str(&h.admin("/plugins").unwrap()).unwrap();
    let gate = plugins.as_array().unwrap().iter().find(|p| p["name"] == "gate").unwrap();
    assert_eq!(gate["attached"], json!(["main"]));
    assert!(gate["wasm"].as_str().unwrap().ends_with(".wasm"));
    assert_eq!(gate["status"], "ok");
    assert!(gate["metrics"]["calls"].as_u64().unwrap() >= 2);

    // Remove it: the chain is back to header-rewrite alone.
    assert_eq!(admin(&h, "DELETE", "/plugins/gate", "text/plain", "").status, 200);
    assert_eq!(h.get("/", &[]).unwrap().status, 200);
    assert_eq!(admin(&h, "DELETE", "/plugins/gate", "text/plain", "").status, 400);
}

#[test]
fn refused_changes_say_why_and_leave_the_chain_untouched() {
    let h = harness();
    let cases = [
        (
            "POST",
            "/plugins?name=bad&listener=main",
            "application/wasm",
            Bytes::from_static(b"not wasm"),
            "compile",
        ),
        (
            "POST",
            "/plugins",
            "application/json",
            Bytes::from(
                json!({"name": "x", "wasm": filter("require-header"), "configuration": "{not json"})
                    .to_string(),
            ),
            "rejected its configuration",
        ),
        (
            "POST",
            "/plugins",
            "application/json",
            Bytes::from(json!({"name": "x", "wasm": "/no/such.wasm"}).to_string()),
            "/no/such.wasm",
        ),
        (
            "POST",
            "/plugins",
            "application/json",
            Bytes::from(json!({"name": "plugin-0", "wasm": filter("require-header")}).to_string()),
            "exists",
        ),
        (
            "POST",
            "/plugins",
            "application/json",
            Bytes::from(
                json!({"name": "y", "wasm": filter("require-header"), "attach": {"listener": "nope"}})
                    .to_string(),
            ),
            "no listener `nope`",
        ),
        ("PUT", "/plugins/missing", "application/json", Bytes::from_static(b"{}"), "no plugin `missing`"),
        ("POST", "/plugins", "application/json", Bytes::from_static(b"{\"nme\": 1}"), "unknown field"),
    ];
    for (method, path, content_type, body, reason) in cases {
        let r = admin(&h, method, path, content_type, body);
        assert_eq!(r.status, 400, "{method} {path}: {}", r.text());
        assert!(r.text().contains(reason), "{method} {path}: {}", r.text());
        assert_eq!(h.get("/", &[]).unwrap().header("x-version"), Some("0"));
    }
}

#[test]
fn a_hundred_swaps_under_load_fail_no_request() {
    let h = Arc::new(harness());
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load: Vec<_> = (0..2)
        .map(|_| {
            let (h, stop, sent, failed) = (h.clone(), stop.clone(), sent.clone(), failed.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(120);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    sent.fetch_add(1, Ordering::Relaxed);
                    match h.get("/", &[]) {
                        Ok(r) if r.status == 200 && r.header("x-version").is_some() => {}
                        other => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            eprintln!("failed: {:?}", other.map(|r| (r.status, r.headers)));
                        }
                    }
                }
            })
        })
        .collect();
    for version in 1..=100 {
        let r = admin(
            &h,
            "PUT",
            "/plugins/plugin-0",
            "application/json",
            json!({"configuration": rewrite(version)}).to_string(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!("100 plugin swaps under load: {failed} failed of {sent} requests");
    assert!(sent > 100, "the load ran during the swaps ({sent} requests)");
    assert_eq!(failed, 0);
    assert_eq!(h.get("/", &[]).unwrap().header("x-version"), Some("100"));
}
