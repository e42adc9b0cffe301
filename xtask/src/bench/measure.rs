//! Measured rounds and their summary: medians over rounds and the spread.

use serde_json::{Value, json};

use super::load::Outcome;

/// One measured run of one proxy.
#[derive(Debug, Clone)]
pub struct Round {
    /// What wrk saw.
    pub load: Outcome,
    /// CPU seconds the proxy used during the run (all its threads).
    pub cpu_s: f64,
    /// CPU seconds the upstream used during the run.
    pub upstream_cpu_s: f64,
}

impl Round {
    /// Proxy CPU seconds per 1,000 requests.
    pub fn cpu_per_1k(&self) -> f64 {
        if self.load.requests == 0 { 0.0 } else { self.cpu_s / self.load.requests as f64 * 1000.0 }
    }

    /// Proxy CPU use in cores (1.0 = one core busy the whole run).
    pub fn util(&self) -> f64 {
        if self.load.seconds > 0.0 { self.cpu_s / self.load.seconds } else { 0.0 }
    }

    /// Upstream CPU use in cores.
    pub fn upstream_util(&self) -> f64 {
        if self.load.seconds > 0.0 { self.upstream_cpu_s / self.load.seconds } else { 0.0 }
    }

    fn to_json(&self) -> Value {
        let mut v = self.load.to_json();
        v["cpu_s"] = json!(self.cpu_s);
        v["cpu_s_per_1k"] = json!(self.cpu_per_1k());
        v["cpu_util"] = json!(self.util());
        v["upstream_cpu_util"] = json!(self.upstream_util());
        v
    }
}

/// The median of some values (mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) { (v[mid - 1] + v[mid]) / 2.0 } else { v[mid] }
}

/// Medians over the rounds of one proxy.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Median req/s.
    pub rps: f64,
    /// Lowest req/s of a round.
    pub rps_min: f64,
    /// Highest req/s of a round.
    pub rps_max: f64,
    /// (max - min) / median of req/s, in percent.
    pub rps_spread_pct: f64,
    /// Median p50 latency, ms.
    pub p50_ms: f64,
    /// Median p99 latency, ms.
    pub p99_ms: f64,
    /// Median p99.9 latency, ms.
    pub p999_ms: f64,
    /// Median CPU seconds per 1,000 requests.
    pub cpu_per_1k: f64,
    /// (max - min) / median of CPU per 1,000 requests, in percent.
    pub cpu_spread_pct: f64,
    /// Median proxy CPU use, cores.
    pub util: f64,
    /// Median upstream CPU use, cores.
    pub upstream_util: f64,
    /// Requests with socket errors or status >= 400, over all rounds.
    pub failed: u64,
    /// Requests over all rounds.
    pub requests: u64,
}

fn spread(values: &[f64]) -> f64 {
    let m = median(values);
    let (lo, hi) = values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    if m > 0.0 && values.len() > 1 { (hi - lo) / m * 100.0 } else { 0.0 }
}

impl Summary {
    /// Summarises rounds.
    pub fn of(rounds: &[Round]) -> Summary {
        let pick = |f: &dyn Fn(&Round) -> f64| rounds.iter().map(f).collect::<Vec<f64>>();
        let rps = pick(&|r| r.load.rps);
        let cpu = pick(&|r| r.cpu_per_1k());
        Summary {
            rps: median(&rps),
            rps_min: rps.iter().copied().fold(f64::MAX, f64::min),
            rps_max: rps.iter().copied().fold(0.0, f64::max),
            rps_spread_pct: spread(&rps),
            p50_ms: median(&pick(&|r| r.load.p50_ms)),
            p99_ms: median(&pick(&|r| r.load.p99_ms)),
            p999_ms: median(&pick(&|r| r.load.p999_ms)),
            cpu_per_1k: median(&cpu),
            cpu_spread_pct: spread(&cpu),
            util: median(&pick(&|r| r.util())),
            upstream_util: median(&pick(&|r| r.upstream_util())),
            failed: rounds.iter().map(|r| r.load.socket_errors + r.load.bad_status).sum(),
            requests: rounds.iter().map(|r| r.load.requests).sum(),
        }
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "rps_median": self.rps, "rps_min": self.rps_min, "rps_max": self.rps_max,
            "rps_spread_pct": self.rps_spread_pct, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms,
            "p999_ms": self.p999_ms, "cpu_s_per_1k": self.cpu_per_1k,
            "cpu_spread_pct": self.cpu_spread_pct, "cpu_util": self.util,
            "upstream_cpu_util": self.upstream_util, "failed_requests": self.failed,
            "requests": self.requests,
        })
    }
}

/// Everything measured for one proxy in one scenario.
#[derive(Debug, Clone)]
pub struct ProxyRuns {
    /// Rounds, in the order run.
    pub rounds: Vec<Round>,
    /// Resident memory after the last round, KiB.
    pub rss_kib: Option<u64>,
}

impl ProxyRuns {
    /// The summary.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.rounds)
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "summary": self.summary().to_json(),
            "rss_kib_after": self.rss_kib,
            "rounds": self.rounds.iter().map(Round::to_json).collect::<Vec<_>>(),
        })
    }
}

/// One scenario at one worker count.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// Scenario name.
    pub scenario: String,
    /// Its description.
    pub description: String,
    /// `--concurrency` of both proxies.
    pub workers: usize,
    /// wrk connections.
    pub connections: u32,
    /// Envoy.
    pub envoy: ProxyRuns,
    /// weir.
    pub weir: ProxyRuns,
}

/// weir / Envoy, or `None` when Envoy's value is 0.
pub fn ratio(weir: f64, envoy: f64) -> Option<f64> {
    (envoy > 0.0).then(|| weir / envoy)
}

impl ScenarioResult {
    /// As JSON, with the weir/Envoy ratios.
    pub fn to_json(&self) -> Value {
        let (e, w) = (self.envoy.summary(), self.weir.summary());
        json!({
            "scenario": self.scenario,
            "description": self.description,
            "workers": self.workers,
            "connections": self.connections,
            "envoy": self.envoy.to_json(),
            "weir": self.weir.to_json(),
            "ratio_weir_over_envoy": {
                "rps": ratio(w.rps, e.rps),
                "p50": ratio(w.p50_ms, e.p50_ms),
                "p99": ratio(w.p99_ms, e.p99_ms),
                "p999": ratio(w.p999_ms, e.p999_ms),
                "cpu_per_1k": ratio(w.cpu_per_1k, e.cpu_per_1k),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        assert_eq!(spread(&[90.0, 100.0, 110.0]), 20.0);
    }
}
