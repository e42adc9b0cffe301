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

/// Each scenario's rate as a share of the same proxy's `no-filter` rate at the same worker
/// count (by req/s, and by CPU per request in parentheses): what a chain costs a proxy. Empty
/// when `no-filter` did not run. Scenarios run one after another, so these shares, unlike the
/// weir/Envoy ratios, carry the machine's drift between scenarios.
pub fn share_of_no_filter(results: &[ScenarioResult], workers: usize) -> String {
    let at = |r: &&ScenarioResult| r.workers == workers;
    let Some(base) = results.iter().filter(at).find(|r| r.scenario == "no-filter") else {
        return String::new();
    };
    let (be, bw) = (base.envoy.summary(), base.weir.summary());
    let share = |s: &Summary, b: &Summary| {
        let pct = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{:.1}%", v * 100.0));
        format!("{} ({})", pct(ratio(s.rps, b.rps)), pct(ratio(b.cpu_per_1k, s.cpu_per_1k)))
    };
    let mut out = String::from(
        "| scenario | envoy: share of its no-filter req/s (by CPU per request) | weir: share of its no-filter req/s (by CPU per request) |\n\
         |---|--:|--:|\n",
    );
    let comparable = |r: &&ScenarioResult| {
        r.scenario != "no-filter" && r.scenario != "direct-response" && r.connections == base.connections
    };
    for res in results.iter().filter(at).filter(comparable) {
        let (e, w) = (res.envoy.summary(), res.weir.summary());
        writeln!(out, "| {} | {} | {} |", res.scenario, share(&e, &be), share(&w, &bw)).unwrap();
    }
    out
}

/// The baseline of [`added_latency`].
const SERIAL_BASE: &str = "no-filter-serial";

/// What each serial scenario (one connection, one request at a time) adds to a request's
/// p50 and p99 latency over the same proxy's `no-filter-serial`, in ms. Empty when the
/// baseline did not run.
pub fn added_latency(results: &[ScenarioResult], workers: usize) -> String {
    let at = |r: &&ScenarioResult| r.workers == workers;
    let Some(base) = results.iter().filter(at).find(|r| r.scenario == SERIAL_BASE) else {
        return String::new();
    };
    let (be, bw) = (base.envoy.summary(), base.weir.summary());
    let added =
        |s: &Summary, b: &Summary| format!("{:+.3} / {:+.3}", s.p50_ms - b.p50_ms, s.p99_ms - b.p99_ms);
    let mut out =
        String::from("| scenario | envoy: added p50 / p99 ms | weir: added p50 / p99 ms |\n|---|--:|--:|\n");
    let serial = |r: &&ScenarioResult| r.connections == 1 && r.scenario != SERIAL_BASE;
    for res in results.iter().filter(at).filter(serial) {
        let (e, w) = (res.envoy.summary(), res.weir.summary());
        writeln!(out, "| {} | {} | {} |", res.scenario, added(&e, &be), added(&w, &bw)).unwrap();
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
        let shares = share_of_no_filter(results, w);
        if !shares.is_empty() {
            out.push_str(
                "\nShare of no-filter: each proxy's rate in a scenario over its own no-filter rate \
                 (100% = the filters cost nothing). Scenarios run one after another, so a share \
                 carries the machine's drift between them; weir/Envoy above does not.\n\n",
            );
            out.push_str(&shares);
        }
        let added = added_latency(results, w);
        if !added.is_empty() {
            out.push_str(
                "\nAdded latency: with one connection (one request at a time, no queueing), each \
                 serial scenario's median p50 and p99 minus the same proxy's no-filter-serial.\n\n",
            );
            out.push_str(&added);
        }
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
    use super::super::load::Outcome;
    use super::super::measure::{ProxyRuns, Round, ScenarioResult};

    fn runs(rps: f64, cpu_s: f64) -> ProxyRuns {
        let load = Outcome {
            requests: (rps * 10.0) as u64,
            seconds: 10.0,
            rps,
            p50_ms: 1.0,
            p90_ms: 1.0,
            p99_ms: 1.0,
            p999_ms: 1.0,
            mean_ms: 1.0,
            socket_errors: 0,
            bad_status: 0,
        };
        ProxyRuns { rounds: vec![Round { load, cpu_s, upstream_cpu_s: 0.0 }], rss_kib: None }
    }

    fn result(scenario: &str, envoy: (f64, f64), weir: (f64, f64)) -> ScenarioResult {
        ScenarioResult {
            scenario: scenario.into(),
            description: String::new(),
            workers: 1,
            connections: if scenario.ends_with("-serial") { 1 } else { 32 },
            envoy: runs(envoy.0, envoy.1),
            weir: runs(weir.0, weir.1),
        }
    }

    #[test]
    fn shares_are_of_each_proxys_own_no_filter_rate() {
        let results = [
            result("no-filter", (1000.0, 10.0), (4000.0, 10.0)),
            result("chain-3", (500.0, 10.0), (3000.0, 8.0)),
        ];
        let table = super::share_of_no_filter(&results, 1);
        // weir by CPU: 10 s / 40,000 requests = 0.25 ms per request without filters,
        // 8 s / 30,000 = 0.267 ms with them: 0.25 / 0.267 = 93.75%.
        assert!(table.contains("| chain-3 | 50.0% (50.0%) | 75.0% (93.8%) |"), "{table}");
        assert!(!table.contains("| no-filter |"), "{table}");
        assert_eq!(super::share_of_no_filter(&results[1..], 1), "", "no no-filter run");
        assert_eq!(super::share_of_no_filter(&results, 2), "", "no run at that worker count");
    }

    #[test]
    fn added_latency_is_over_each_proxys_own_serial_baseline() {
        let mut global = result("ratelimit-global-serial", (1000.0, 10.0), (2000.0, 10.0));
        global.envoy.rounds[0].load.p50_ms = 1.5;
        global.weir.rounds[0].load.p99_ms = 1.25;
        let results = [
            result("no-filter-serial", (2000.0, 10.0), (4000.0, 10.0)),
            global,
            result("no-filter", (1000.0, 10.0), (4000.0, 10.0)),
        ];
        let table = super::added_latency(&results, 1);
        assert!(table.contains("| ratelimit-global-serial | +0.500 / +0.000 | +0.000 / +0.250 |"), "{table}");
        assert!(!table.contains("| no-filter |"), "only serial scenarios: {table}");
        assert_eq!(super::added_latency(&results[1..], 1), "", "no baseline");
        let shares = super::share_of_no_filter(&results, 1);
        assert!(
            !shares.contains("serial"),
            "serial runs are not shares of the 32-connection baseline: {shares}"
        );
    }

    #[test]
    fn thousands() {
        assert_eq!(super::thousands(1234567.4), "1,234,567");
        assert_eq!(super::thousands(999.0), "999");
        assert_eq!(super::thousands(0.0), "0");
    }
}
