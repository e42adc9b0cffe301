//! `cargo test -p weir-filter-shuffle-shard --test report -- --nocapture` prints the
//! statistics of the algorithm (uniformity, overlap, movement on resize) for a few sizes, and
//! checks them against the same thresholds as the property tests.

#![allow(clippy::unwrap_used, clippy::panic, clippy::cast_precision_loss)]

mod common;

#[test]
fn shard_report() {
    println!(
        "shuffle-shard report: {} customers (customer-0 …), seed 0, XXH64 rendezvous",
        common::CUSTOMERS
    );
    println!("thresholds: 0.999 quantiles (χ² by Wilson–Hilferty), means within 5σ");
    for (total, k) in [(10, 3), (50, 5), (100, 8), (200, 12)] {
        println!("\nN = {total} hosts, k = {k}");
        let shards = common::shards(total, k);
        let (chi, threshold) = common::shard_uniformity(&shards, total, k);
        println!(
            "  uniformity (customers per host): χ² = {chi:.1} (df {}, threshold {threshold:.1})",
            total - 1
        );
        assert!(chi < threshold);
        let (rchi, rthreshold) = common::request_uniformity(total, k);
        println!(
            "  uniformity (requests per host):  χ² = {rchi:.1} (df {}, threshold {rthreshold:.1})",
            total - 1
        );
        assert!(rchi < rthreshold);
        let (mean, expected, tolerance, ochi, othreshold) = common::overlap_fit(&shards, total, k);
        let hist = common::overlap_histogram(&shards, k);
        let pairs = hist.iter().sum::<u64>() as f64;
        println!(
            "  pairwise overlap ({pairs} pairs): mean {mean:.4} vs hypergeometric k²/N = {expected:.4} (±{tolerance:.4}); \
             fit χ² = {ochi:.2} (threshold {othreshold:.2})"
        );
        let shown: Vec<String> = hist
            .iter()
            .enumerate()
            .take(4)
            .map(|(o, &n)| {
                let want = common::hypergeometric(total, k, o as u32);
                format!("P({o}) {:.4}/{want:.4}", n as f64 / pairs)
            })
            .collect();
        println!("    observed/expected: {}", shown.join(", "));
        println!("    full overlap (all {k} hosts shared): {} pairs", hist[k as usize]);
        assert!((mean - expected).abs() < tolerance && ochi < othreshold);
        let (moved, p, tolerance, requests, non_minimal) = common::movement(total, k);
        // A request moves when its customer's shard changed (k/(N+1)) and either the new host
        // wins the path (1/k) or the host that left was the one serving it: 2/(k+1) in all.
        let request_p = f64::from(2 * k) / f64::from((k + 1) * (total + 1));
        let request_tolerance = 5.0 * (request_p * (1.0 - request_p) / common::CUSTOMERS as f64).sqrt();
        println!(
            "  resize N → N+1: {:.4} of customers' shards changed vs k/(N+1) = {p:.4} (±{tolerance:.4}); \
             {non_minimal} changed by more than the new host",
            moved
        );
        println!(
            "    requests moved to another host: {requests:.4} vs 2k/((k+1)(N+1)) = {request_p:.4} \
             (±{request_tolerance:.4}); modulo hashing would move ≈ {:.4}",
            f64::from(total) / f64::from(total + 1)
        );
        assert!((moved - p).abs() < tolerance && non_minimal == 0);
        assert!((requests - request_p).abs() < request_tolerance);
    }
}
