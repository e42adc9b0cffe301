//! Local mode in weir with the built `.wasm`: the limit across worker threads, refills,
//! bucket isolation under concurrency, and configuration errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use weir_testing::Harness;

/// Worker threads in the concurrency tests.
const WORKERS: usize = 2;

/// Extra tokens the ABI's init race may hand out on a bucket's first use: every worker but one
/// can find the key absent and create it unconditionally, erasing the takes made in that
/// moment (see the README, "Creating a bucket"). Once a bucket exists the limit is exact.
const INIT_SLACK: u64 = (WORKERS as u64 - 1) * 2;

/// Sends `per_thread` requests from each of `threads` threads at once; counts the 200s.
fn burst(
    addr: SocketAddr,
    threads: usize,
    per_thread: usize,
    headers: &'static [(&'static str, &'static str)],
) -> u64 {
    let start = std::sync::Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                let mut ok = 0u64;
                for _ in 0..per_thread {
                    let reply = common::get(addr, "/burst", headers).unwrap();
                    match reply.status {
                        200 => ok += 1,
                        429 => {}
                        other => panic!("unexpected status {other}"),
                    }
                }
                ok
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

fn concurrent_harness(config: &str) -> Harness {
    Harness::builder(common::wasm()).configuration(config).concurrency(WORKERS).start().unwrap()
}

#[test]
fn the_limit_holds_across_worker_threads() {
    let weir = concurrent_harness(
        r#"{"rate_limits": [{"actions": [{"request_headers": {"header_name": "x-phase", "descriptor_key": "phase"}}]}],
            "descriptors": [{"entries": [{"key": "phase"}], "token_bucket": {"max_tokens": 40, "fill_interval": "1h"}}],
            "on_contention": "deny", "max_cas_attempts": 100}"#,
    );
    let addr = weir.addr();
    // A cold bucket: created by whichever worker gets there first, while both are busy.
    let cold = burst(addr, 8, 20, &[("x-phase", "cold")]);
    // A warm bucket: created by one request, then the same burst.
    assert_eq!(common::get(addr, "/burst", &[("x-phase", "warm")]).unwrap().status, 200);
    let warm = 1 + burst(addr, 8, 20, &[("x-phase", "warm")]);
    let contention = common::counter(&weir, "ratelimit.contention");
    eprintln!(
        "{WORKERS} workers, max_tokens 40, 160 requests: cold allowed {cold}, warm allowed {warm}, contention {contention}"
    );
    assert_eq!(contention, 0, "100 CAS attempts are never exhausted by 2 workers");
    assert!((40..=40 + INIT_SLACK).contains(&cold), "cold bucket allowed {cold} (bound 40 + {INIT_SLACK})");
    assert_eq!(warm, 40, "an existing bucket hands out exactly max_tokens");
    assert_eq!(common::counter(&weir, "ratelimit.allowed"), cold + warm);
    assert_eq!(common::counter(&weir, "ratelimit.denied"), 321 - cold - warm);
}

#[test]
fn buckets_stay_isolated_under_concurrency() {
    let weir = concurrent_harness(
        r#"{"always_consume_default_token_bucket": false,
            "token_bucket": {"max_tokens": 1000, "fill_interval": "1h"},
            "rate_limits": [{"actions": [{"consumer": {}}]}],
            "descriptors": [{"entries": [{"key": "consumer"}], "token_bucket": {"max_tokens": 15, "fill_interval": "1h"}}]}"#,
    );
    let addr = weir.addr();
    let a = thread::spawn(move || burst(addr, 3, 15, &[("x-consumer-id", "acme")]));
    let b = thread::spawn(move || burst(addr, 3, 15, &[("x-consumer-id", "globex")]));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    eprintln!("acme allowed {a}, globex allowed {b} (max_tokens 15 each)");
    for (who, allowed) in [("acme", a), ("globex", b)] {
        assert!((15..=15 + INIT_SLACK).contains(&allowed), "{who}: {allowed}");
    }
    // Anonymous requests use the default bucket, untouched by the consumers.
    let anonymous = common::get(addr, "/x", &[]).unwrap();
    assert_eq!(anonymous.status, 200);
}

#[test]
fn tokens_come_back_after_the_fill_interval() {
    let weir = Harness::builder(common::wasm())
        .configuration(r#"{"token_bucket": {"max_tokens": 2, "tokens_per_fill": 1, "fill_interval": "2s"}}"#)
        .start()
        .unwrap();
    let addr = weir.addr();
    let created = Instant::now();
    assert_eq!(common::get(addr, "/", &[]).unwrap().status, 200);
    assert_eq!(common::get(addr, "/", &[]).unwrap().status, 200);
    let denied = common::get(addr, "/", &[]).unwrap();
    assert_eq!(denied.status, 429);
    let retry_after: u64 = denied.header("retry-after").unwrap().parse().unwrap();
    let reset: u64 = denied.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(
        (1..=2).contains(&retry_after) && reset == retry_after,
        "retry-after {retry_after}, reset {reset}"
    );
    // Poll until a token is back: never before one interval after the bucket was created,
    // and (generously) within a few seconds.
    let refilled = loop {
        thread::sleep(Duration::from_millis(50));
        let reply = common::get(addr, "/", &[]).unwrap();
        if reply.status == 200 {
            break created.elapsed();
        }
        assert!(created.elapsed() < Duration::from_secs(8), "no token back after {:?}", created.elapsed());
    };
    assert!(refilled >= Duration::from_secs(2), "a token came back after only {refilled:?}");
    // One fill adds tokens_per_fill (1), not the whole bucket.
    assert_eq!(common::get(addr, "/", &[]).unwrap().status, 429);
}

#[test]
fn a_bad_configuration_refuses_the_plugin() {
    for config in [
        r#"{"token_bucket": {"max_tokens": 0, "fill_interval": "1s"}}"#,
        r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "soon"}}"#,
        r#"{"mode": "global", "rate_limits": [{"actions": [{"remote_address": {}}]}]}"#,
        r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1s"}, "rules": [{"config": {"status": 99}}]}"#,
    ] {
        let err = Harness::builder(common::wasm()).configuration(config).start().unwrap_err();
        assert!(err.to_string().contains("proxy_on_configure returned false"), "{config}: {err}");
    }
}

#[test]
fn per_client_limits_keep_shared_data_bounded() {
    let weir = Harness::builder(common::wasm())
        .vm_id("bounded")
        .configuration(
            r#"{"always_consume_default_token_bucket": false,
                "token_bucket": {"max_tokens": 1000000, "fill_interval": "1h"},
                "rate_limits": [{"actions": [{"request_headers": {"header_name": "x-client", "descriptor_key": "client"}}]}],
                "descriptors": [{"entries": [{"key": "client"}], "token_bucket": {"max_tokens": 3, "fill_interval": "1h"}}],
                "max_dynamic_descriptors": 50}"#,
        )
        .start()
        .unwrap();
    let addr = weir.addr();
    let keys =
        || weir.server().state().generation.load_full().process.guest.shared_data.keys("bounded").len();
    let mut active = 0;
    for i in 0..2000 {
        let client = format!("client-{i}");
        assert_eq!(common::get(addr, "/", &[("x-client", &client)]).unwrap().status, 200);
        if i % 50 == 0 && common::get(addr, "/", &[("x-client", "steady")]).unwrap().status == 200 {
            active += 1;
        }
    }
    // The 50 slots of the table, created when the plugin was configured; nothing per client.
    assert_eq!(keys(), 50, "shared-data keys after 2000 distinct clients");
    assert_eq!(active, 3, "the steady client keeps its limit through the flood");
    assert!(common::counter(&weir, "ratelimit.descriptors_evicted") > 1000);
}
