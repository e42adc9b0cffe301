//! Properties of the shard algorithm, proven natively over 100 000 synthetic customers
//! (`customer-0` … `customer-99999`, seed 0). Every experiment is deterministic; thresholds
//! are the 0.999 quantiles of the reference distributions, so a correct algorithm passes with
//! a wide margin and a biased one (e.g. a weak hash) fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_precision_loss)]

mod common;

use std::collections::BTreeSet;

use weir_filter_shuffle_shard::hash::{customer_key, request_key, score};
use weir_filter_shuffle_shard::headers::hosts_list;
use weir_filter_shuffle_shard::{Shard, assign};

/// The main configuration of the experiments: 50 hosts, shards of 5.
const N: u32 = 50;
const K: u32 = 5;

#[test]
fn deterministic_and_pinned() {
    // Pinned values, cross-checked with an independent XXH64 (a Python transcription of the
    // specification): any implementation of README's algorithm must reproduce them.
    assert_eq!(customer_key(b"customer-A", 0), 0x0c14_304c_0169_bff2);
    let a = assign(b"customer-A", b"/orders", 0, 10, 3).unwrap();
    assert_eq!(a.shard.ranked(), [0, 1, 7]);
    assert_eq!(hosts_list(a.shard.ranked()), "0,1,7");
    assert_eq!(a.host, 0);
    let b = assign(b"customer-B", b"/orders", 0, 10, 5).unwrap();
    assert_eq!(b.shard.ranked(), [3, 9, 6, 1, 2]);
    assert_eq!(b.host, 3);
    // Same inputs, same answer, whatever else ran in between.
    for c in common::customers(1000) {
        let first = assign(c.as_bytes(), b"/x", 7, 40, 4);
        let _ = assign(b"other", b"/y", 7, 13, 2);
        assert_eq!(first, assign(c.as_bytes(), b"/x", 7, 40, 4));
    }
}

#[test]
fn exactly_k_distinct_hosts_in_range() {
    for (total, k) in [(1, 1), (2, 1), (10, 3), (50, 5), (50, 50), (1000, 17)] {
        for c in common::customers(2000) {
            let shard = Shard::compute(customer_key(c.as_bytes(), 0), total, k);
            let distinct: BTreeSet<u32> = shard.ranked().iter().copied().collect();
            assert_eq!(shard.len(), k as usize, "{c} N={total} k={k}");
            assert_eq!(distinct.len(), k as usize, "{c}: duplicates in {:?}", shard.ranked());
            assert!(distinct.iter().all(|&h| h < total));
        }
    }
}

#[test]
fn shard_is_the_top_k_of_the_scores() {
    for c in common::customers(200) {
        let key = customer_key(c.as_bytes(), 0);
        let mut all: Vec<(u64, u32)> = (0..N).map(|h| (score(h, key), h)).collect();
        all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let top: Vec<u32> = all[..K as usize].iter().map(|&(_, h)| h).collect();
        assert_eq!(Shard::compute(key, N, K).ranked(), top.as_slice());
        // Growing k only adds hosts (the shards are nested).
        let bigger = Shard::compute(key, N, K + 1);
        assert_eq!(&bigger.ranked()[..K as usize], top.as_slice());
    }
}

#[test]
fn same_path_same_host_and_paths_spread_over_the_shard() {
    let key = customer_key(b"customer-A", 0);
    let shard = Shard::compute(key, N, K);
    let mut counts = vec![0u64; N as usize];
    for i in 0..20_000 {
        let path = format!("/p/{i}");
        let host = shard.pick(request_key(path.as_bytes(), key)).unwrap();
        assert_eq!(Some(host), shard.pick(request_key(path.as_bytes(), key)));
        assert!(shard.contains(host));
        counts[host as usize] += 1;
    }
    let observed: Vec<u64> = shard.ranked().iter().map(|&h| counts[h as usize]).collect();
    let chi = common::pearson(&observed, &[20_000.0 / f64::from(K); K as usize]);
    assert!(chi < common::chi_square_quantile(f64::from(K - 1), common::Z_999), "χ² {chi}");
}

#[test]
fn load_is_uniform_over_hosts() {
    for (total, k) in [(N, K), (10, 3)] {
        let shards = common::shards(total, k);
        let (chi, threshold) = common::shard_uniformity(&shards, total, k);
        assert!(chi < threshold, "N={total} k={k}: shard χ² {chi:.1} ≥ {threshold:.1}");
    }
    let (chi, threshold) = common::request_uniformity(N, K);
    assert!(chi < threshold, "request χ² {chi:.1} ≥ {threshold:.1}");
}

#[test]
fn pairwise_overlap_is_hypergeometric() {
    let shards = common::shards(N, K);
    let (mean, expected, tolerance, chi, threshold) = common::overlap_fit(&shards, N, K);
    assert!((mean - expected).abs() < tolerance, "mean overlap {mean} vs {expected} ± {tolerance}");
    assert!(chi < threshold, "overlap χ² {chi:.2} ≥ {threshold:.2}");
    // Two customers sharing the whole shard: expected 50 000 / C(50,5) ≈ 0.02 pairs.
    assert!(common::overlap_histogram(&shards, K)[K as usize] <= 1);
}

#[test]
fn resizing_moves_only_what_must_move() {
    for (total, k) in [(N, K), (10, 3)] {
        let (moved, expected, tolerance, requests, non_minimal) = common::movement(total, k);
        assert_eq!(non_minimal, 0, "N={total}: a shard changed by more than the new host");
        assert!((moved - expected).abs() < tolerance, "N={total}: moved {moved} vs {expected} ± {tolerance}");
        // A request moves only if its shard changed and the new host wins its path or the host
        // that left served it: k/(N+1) · 2/(k+1).
        let p = f64::from(2 * k) / f64::from((k + 1) * (total + 1));
        let tolerance = 5.0 * (p * (1.0 - p) / common::CUSTOMERS as f64).sqrt();
        assert!((requests - p).abs() < tolerance, "N={total}: requests moved {requests} vs {p}");
    }
}

#[test]
fn invalid_inputs_never_panic() {
    let key = customer_key(b"", 0);
    assert!(Shard::compute(key, 0, 0).is_empty());
    assert_eq!(assign(b"c", b"/", 0, 0, 5), None);
    assert_eq!(Shard::compute(key, 5, 0).len(), 1, "size 0 → 1");
    assert_eq!(Shard::compute(key, 5, u32::MAX).len(), 5, "size > total → total");
    assert_eq!(assign(b"", b"", u64::MAX, 1, 1).unwrap().host, 0);
    let bytes = [0xff_u8, 0x00, 0xfe];
    let a = assign(&bytes, &bytes, 3, 10_000, 64).unwrap();
    assert_eq!(a.shard.len(), 64);
    assert!(a.shard.contains(a.host));
}
