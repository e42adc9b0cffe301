//! `bench/results/<date>.json` and `<date>.md`, and the table printed at the end.

use std::fmt::Write as _;

use serde_json::Value;

use super::measure::{ScenarioResult, Summary, ratio};

/// `12345.6` → `12,346`.
fn thousands(v: f64) -> String {
    let n = v.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn r(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

fn row(out: &mut String, scenario: &str, proxy: &str, s: &Summary) {
    writeln!(
        out,
        "| {scenario} | {proxy} | {} | {:.1}% | {:.2} | {:.2} | {:.2} | {:.4} | {:.2} | {:.2} | {} |",
        thousands(s.rps),
        s.rps_spread_pct,
        s.p50_ms,
        s.p99_ms,
        s.p999_ms,
        s.cpu_per_1k,
        s.util,
        s.upstream_util,
        s.failed,
    )
    .unwrap();
}

/// The results table of one worker count.
pub fn table(results: &[ScenarioResult], workers: usize) -> String {
    let mut out = String::from(
        "| scenario | proxy | req/s (median) | spread | p50 ms | p99 ms | p99.9 ms | CPU s / 1k req | proxy CPU (cores) | upstream CPU (cores) | failed req |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for res in results.iter().filter(|r| r.workers == workers) {
        let (e, w) = (res.envoy.summary(), res.weir.summary());
        row(&mut out, &res.scenario, "envoy", &e);
        row(&mut out, "", "weir", &w);
        writeln!(
            out,
            "| | **weir/envoy** | **{}** | | {} | {} | {} | **{}** | | | |",
            r(ratio(w.rps, e.rps)),
            r(ratio(w.p50_ms, e.p50_ms)),
            r(ratio(w.p99_ms, e.p99_ms)),
            r(ratio(w.p999_ms, e.p999_ms)),
            r(ratio(w.cpu_per_1k, e.cpu_per_1k)),
        )
        .unwrap();
    }
    out
}

/// The whole markdown report.
pub fn markdown(doc: &Value, results: &[ScenarioResult], profile: Option<&str>) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let settings = &doc["settings"];
    let mut out = format!("# Benchmark {} ({})\n\n", s(&doc["date"]), s(&settings["mode"]));
    writeln!(out, "- machine: {}", super::machine::summary_line(&doc["machine"])).unwrap();
    let v = &doc["machine"]["versions"];
    writeln!(
        out,
        "- versions: {}; {}; wasmtime {}; {}; {}",
        s(&v["envoy"]),
        s(&v["weir"]),
        s(&v["wasmtime"]),
        s(&v["rustc"]),
        s(&v["wrk"])
    )
    .unwrap();
    writeln!(
        out,
        "- load average (1/5/15 min) at start: {}, at end: {}",
        s(&doc["load_average"]["start"]),
        s(&doc["load_average"]["end"])
    )
    .unwrap();
    writeln!(
        out,
        "- load: {}, {} connections; {} rounds of {} s per proxy, alternating Envoy/weir, after {} s \
         warm-up each; medians over rounds; spread = (max - min) / median of req/s",
        s(&settings["load_generator"]),
        settings["connections"],
        settings["rounds"],
        settings["duration_s"],
        settings["warmup_s"],
    )
    .unwrap();
    for set in doc["worker_sets"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "- {} worker(s): proxy CPUs {}, wrk + upstream CPUs {}; upstream alone (wrk → upstream on those CPUs): {} req/s",
            set["workers"],
            set["proxy_cpus"].as_str().unwrap_or("any"),
            set["load_cpus"].as_str().unwrap_or("any"),
            thousands(set["upstream_max_rps"].as_f64().unwrap_or(0.0)),
        )
        .unwrap();
    }
    out.push_str(
        "\nCPU s / 1k req: proxy user+system CPU seconds (all threads, `/proc/<pid>/stat`) per 1,000 \
         requests. proxy CPU ≈ 1.0 per worker means the proxy was the bottleneck; well below means the \
         load generator or upstream limited the run. Compare within one run only.\n",
    );
    let mut workers: Vec<usize> = results.iter().map(|r| r.workers).collect();
    workers.dedup();
    for w in workers {
        writeln!(out, "\n## {w} worker{} (`--concurrency {w}` for both)\n", if w == 1 { "" } else { "s" })
            .unwrap();
        out.push_str(&table(results, w));
    }
    out.push_str("\n## Scenarios\n\n");
    let mut seen = Vec::new();
    for res in results {
        if !seen.contains(&res.scenario) {
            writeln!(out, "- `{}`: {}", res.scenario, res.description).unwrap();
            seen.push(res.scenario.clone());
        }
    }
    if let Some(profile) = profile {
        writeln!(out, "\n## weir profile\n\n{profile}").unwrap();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::thousands(1234567.4), "1,234,567");
        assert_eq!(super::thousands(999.0), "999");
        assert_eq!(super::thousands(0.0), "0");
    }
}
