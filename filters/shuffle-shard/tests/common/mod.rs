//! Statistics shared by the property tests and the report: the experiments run over the pure
//! algorithm (no host), and the reference distributions they are compared with.

#![allow(dead_code, clippy::cast_precision_loss)]

use weir_filter_shuffle_shard::hash::customer_key;
use weir_filter_shuffle_shard::{Shard, assign};

/// Number of customers in every experiment.
pub const CUSTOMERS: usize = 100_000;

/// The one-sided 0.999 quantile of the standard normal distribution.
pub const Z_999: f64 = 3.090_232;

/// The synthetic customer ids `customer-0` … `customer-{n-1}`.
pub fn customers(n: usize) -> impl Iterator<Item = String> {
    (0..n).map(|i| format!("customer-{i}"))
}

/// Every customer's shard (seed 0).
pub fn shards(total: u32, k: u32) -> Vec<Shard> {
    customers(CUSTOMERS).map(|c| Shard::compute(customer_key(c.as_bytes(), 0), total, k)).collect()
}

/// Upper quantile of χ²(df) at the normal quantile `z` (Wilson–Hilferty approximation, within
/// ~1% for df ≥ 3).
pub fn chi_square_quantile(df: f64, z: f64) -> f64 {
    let a = 2.0 / (9.0 * df);
    df * (1.0 - a + z * a.sqrt()).powi(3)
}

/// Pearson's statistic Σ (O − E)² / E.
pub fn pearson(observed: &[u64], expected: &[f64]) -> f64 {
    observed.iter().zip(expected).map(|(&o, &e)| (o as f64 - e).powi(2) / e).sum()
}

/// Uniformity of host load over customers: how many shards each host is in. Returns the
/// statistic scaled to χ²(N−1) — each customer adds k *distinct* hosts, so the raw Pearson
/// statistic follows (N−k)/(N−1)·χ²(N−1) — and its 0.999 threshold.
pub fn shard_uniformity(shards: &[Shard], total: u32, k: u32) -> (f64, f64) {
    let mut counts = vec![0u64; total as usize];
    for shard in shards {
        for &h in shard.ranked() {
            counts[h as usize] += 1;
        }
    }
    let expected = vec![shards.len() as f64 * f64::from(k) / f64::from(total); total as usize];
    let scaled = pearson(&counts, &expected) * f64::from(total - 1) / f64::from(total - k);
    (scaled, chi_square_quantile(f64::from(total - 1), Z_999))
}

/// Uniformity of request load: one request per customer with path `/item/{i}`; Pearson's
/// statistic over the chosen hosts (χ²(N−1)) and its 0.999 threshold.
pub fn request_uniformity(total: u32, k: u32) -> (f64, f64) {
    let mut counts = vec![0u64; total as usize];
    for (i, c) in customers(CUSTOMERS).enumerate() {
        if let Some(a) = assign(c.as_bytes(), format!("/item/{i}").as_bytes(), 0, total, k) {
            counts[a.host as usize] += 1;
        }
    }
    let expected = vec![CUSTOMERS as f64 / f64::from(total); total as usize];
    (pearson(&counts, &expected), chi_square_quantile(f64::from(total - 1), Z_999))
}

/// C(n, r) as a float.
pub fn binomial(n: u32, r: u32) -> f64 {
    if r > n {
        return 0.0;
    }
    (1..=r).fold(1.0, |acc, i| acc * f64::from(n - r + i) / f64::from(i))
}

/// P(|A ∩ B| = o) for two independent uniform k-subsets of N: hypergeometric(N, k, k).
pub fn hypergeometric(total: u32, k: u32, o: u32) -> f64 {
    binomial(k, o) * binomial(total - k, k - o) / binomial(total, k)
}

/// Overlaps of disjoint customer pairs (0,1), (2,3), …: the histogram over 0..=k.
pub fn overlap_histogram(shards: &[Shard], k: u32) -> Vec<u64> {
    let mut hist = vec![0u64; k as usize + 1];
    for pair in shards.chunks_exact(2) {
        let overlap = pair[0].ranked().iter().filter(|&&h| pair[1].contains(h)).count();
        hist[overlap] += 1;
    }
    hist
}

/// The overlap experiment: (mean overlap, expected k²/N, 5σ tolerance of the mean, χ²
/// goodness of fit against the hypergeometric law with bins of expectation < 5 merged into
/// their neighbour, its 0.999 threshold).
pub fn overlap_fit(shards: &[Shard], total: u32, k: u32) -> (f64, f64, f64, f64, f64) {
    let hist = overlap_histogram(shards, k);
    let pairs = hist.iter().sum::<u64>() as f64;
    let mean = hist.iter().enumerate().map(|(o, &n)| o as f64 * n as f64).sum::<f64>() / pairs;
    let (n, kf) = (f64::from(total), f64::from(k));
    let expected_mean = kf * kf / n;
    let variance = kf * (kf / n) * (1.0 - kf / n) * (n - kf) / (n - 1.0);
    let tolerance = 5.0 * (variance / pairs).sqrt();
    let (mut observed, mut expected) = (Vec::new(), Vec::new());
    for (o, &count) in hist.iter().enumerate() {
        let e = pairs * hypergeometric(total, k, o as u32);
        match (expected.last_mut(), observed.last_mut()) {
            (Some(last_e), Some(last_o)) if e < 5.0 || *last_e < 5.0 => {
                *last_e += e;
                *last_o += count;
            }
            _ => {
                expected.push(e);
                observed.push(count);
            }
        }
    }
    let df = (expected.len().max(2) - 1) as f64;
    (mean, expected_mean, tolerance, pearson(&observed, &expected), chi_square_quantile(df, Z_999))
}

/// Resizing N → N+1: (fraction of customers whose shard changed, expected k/(N+1), 5σ
/// tolerance, fraction of requests — one per customer, path `/item/{i}` — whose host changed,
/// and the number of customers whose change was *not* "the new host replaced the last-ranked
/// one", which must be 0).
pub fn movement(total: u32, k: u32) -> (f64, f64, f64, f64, usize) {
    let (mut moved, mut requests_moved, mut non_minimal) = (0usize, 0usize, 0usize);
    for (i, c) in customers(CUSTOMERS).enumerate() {
        let key = customer_key(c.as_bytes(), 0);
        let (before, after) = (Shard::compute(key, total, k), Shard::compute(key, total + 1, k));
        if before != after {
            moved += 1;
            let mut expected: Vec<u32> = before.ranked()[..k as usize - 1].to_vec();
            expected.push(total);
            let mut got = after.ranked().to_vec();
            expected.sort_unstable();
            got.sort_unstable();
            if got != expected {
                non_minimal += 1;
            }
        }
        let path = format!("/item/{i}");
        let host = |t: u32| assign(c.as_bytes(), path.as_bytes(), 0, t, k).map(|a| a.host);
        if host(total) != host(total + 1) {
            requests_moved += 1;
        }
    }
    let p = f64::from(k) / f64::from(total + 1);
    let tolerance = 5.0 * (p * (1.0 - p) / CUSTOMERS as f64).sqrt();
    let n = CUSTOMERS as f64;
    (moved as f64 / n, p, tolerance, requests_moved as f64 / n, non_minimal)
}
