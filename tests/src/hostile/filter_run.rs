//! Runs one hostile-filter attack against weir (asserting what must hold) and Envoy
//! (recording what it did), with the attack module on `faulty` and a healthy probe plugin in
//! its own VM on `healthy`, under the same bounded load on both listeners.

use std::path::Path;

use super::evidence::{self, LogEvidence};
use super::filters::{EnvoyRun, Extra, FilterAttack};
use super::wat;
use crate::faults::config::{ClusterDef, Layout};
use crate::faults::observe::PluginView;
use crate::faults::plugin::{self, weir_run};
use crate::faults::process::Proxy;
use crate::faults::report::{Observed, Row};
use crate::faults::scenario::{Checks, Env, Plan};
use crate::faults::upstream::{BadUpstream, Behaviour};

/// Concurrent clients per side.
const CLIENTS: usize = 4;
/// How long Envoy's load may go on (it has no limits to stop an attack early).
const ENVOY_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// The table's first cell: number, what the attack does, its memory bound.
pub fn title(n: usize, attack: &FilterAttack) -> String {
    let b = attack.bound;
    let why = if b.why.is_empty() { String::new() } else { format!(": {}", b.why) };
    format!("F{n}. {} — RSS bound +{} MiB after, +{} MiB peak{why}", attack.title, b.after_mib, b.peak_mib)
}

/// The layout: the attack module on `faulty`, callout clusters `hang` and `hang-h2` on an
/// upstream that accepts and never answers.
fn layout(
    env: &Env,
    attack: &FilterAttack,
    wasm: std::path::PathBuf,
    hang: &BadUpstream,
) -> anyhow::Result<Layout> {
    let mut faulty = plugin::module(wasm);
    faulty.failure_policy = attack.policy.into();
    faulty.limits = (attack.limits)();
    let mut layout = plugin::layout(env, faulty)?;
    for (name, http2) in [("hang", false), ("hang-h2", true)] {
        layout.clusters.push(ClusterDef { name: name.into(), addr: hang.addr, http2, internal: false });
    }
    Ok(layout)
}

/// Runs `attack` on both proxies.
pub async fn run(
    env: &Env,
    checks: &mut Checks,
    n: usize,
    attack: &FilterAttack,
    dir: &Path,
) -> anyhow::Result<Row> {
    let fault = title(n, attack);
    let label = format!("F{n}. {}", attack.key);
    let wasm = wat::write(dir, attack.key, &(attack.module)())?;
    let hang = BadUpstream::start(Behaviour::Hang).await?;
    let layout = layout(env, attack, wasm, &hang)?;
    let plan = Plan::of(attack.requests, CLIENTS);
    let (mut weir, mut w, view) = weir_run(env, &layout, plan, plan).await?;
    let extra = weir_checks(checks, &label, attack, &mut weir, &w, &view).await;
    w.did = describe(&w, attack, &[w.did.clone(), evidence::refusals_text(&view), extra]);
    drop(weir);

    let (envoy, note) = match attack.envoy {
        EnvoyRun::Skip(reason) => (None, Some(format!("not run: {reason}"))),
        EnvoyRun::Requests(requests) => {
            // Envoy may hold every request until its deadline: stop starting them in time.
            let plan = Plan { budget: Some(ENVOY_BUDGET), ..Plan::of(requests, CLIENTS.min(requests)) };
            (Some(envoy_attack(&layout, env.workers, plan, attack).await?), None)
        }
    };
    Ok(Row { fault, weir: Some(w), envoy, note })
}

/// `did` with the failed module checks decoded.
fn describe(o: &Observed, attack: &FilterAttack, parts: &[String]) -> String {
    let mut parts: Vec<String> = parts.iter().filter(|p| !p.is_empty()).cloned().collect();
    let failed = evidence::failed_checks(&o.faulty, attack.checks);
    if !failed.is_empty() {
        parts.push(format!("hostcalls answered otherwise: {}", failed.join(", ")));
    }
    parts.join("; ")
}

/// What must hold for weir; returns the attack-specific evidence for the table.
async fn weir_checks(
    checks: &mut Checks,
    fault: &str,
    attack: &FilterAttack,
    weir: &mut Proxy,
    w: &Observed,
    view: &PluginView,
) -> String {
    checks.require(fault, weir.alive(), format!("weir exited; log:\n{}", weir.log_tail(30)));
    checks.require(
        fault,
        w.healthy.failed == 0,
        format!("healthy side failed {}: {}", w.healthy.ratio(), w.healthy.outcomes_text()),
    );
    memory(checks, fault, attack, w);
    checks.only(fault, &w.faulty, attack.expected);
    for (limit, least) in attack.refusals {
        let (got, want) = (evidence::refused(view, limit), least(w.faulty.sent));
        checks.require(
            fault,
            got >= want,
            format!("{limit}: {got} refusals counted, expected at least {want}"),
        );
    }
    match attack.extra {
        Extra::None => String::new(),
        Extra::Exposition => match evidence::exposition(weir).await {
            Ok((forged, malformed, stats)) => {
                let ok = forged == 0 && malformed == 0 && stats == 0;
                checks.require(
                    fault,
                    ok,
                    format!("exposition: {forged} forged, {malformed} malformed lines, /stats {stats}"),
                );
                format!(
                    "`/stats/prometheus`: {forged} forged and {malformed} malformed lines; `/stats`: {stats} forged"
                )
            }
            Err(e) => {
                checks.require(fault, false, format!("metrics unreadable: {e}"));
                String::new()
            }
        },
        Extra::Log => {
            let e = LogEvidence::read(weir);
            let ok = e.forged == 0 && e.escapes == 0 && e.holding > 0 && e.longest < 17 * 1024;
            checks.require(fault, ok, format!("forged or uncut log lines: {}", e.text()));
            e.text()
        }
        Extra::ResponseTooLarge => {
            let n = evidence::large_responses(weir).await;
            checks.require(fault, n >= w.faulty.sent as f64, format!("{n} responses counted too large"));
            format!("`weir_downstream_rs_headers_too_large_total` {n}")
        }
        Extra::MemoryCap | Extra::StackLimit => {
            let (limit, prefix) = match attack.extra {
                Extra::MemoryCap => ("memory", "max_memory_bytes exceeded"),
                _ => ("stack", "max_stack_bytes exceeded"),
            };
            let failure = view.last_failure().unwrap_or_default();
            checks.require(
                fault,
                view.metric("limits_exceeded") >= 1,
                format!("no {limit} limit failure counted"),
            );
            checks.require(fault, failure.starts_with(prefix), format!("last_failure: {failure}"));
            String::new()
        }
    }
}

/// After the load and at its peak, weir's memory stayed within the attack's bound.
fn memory(checks: &mut Checks, fault: &str, attack: &FilterAttack, w: &Observed) {
    let Some(before) = w.rss_before else {
        return checks.require(fault, false, "weir's RSS could not be read before the attack");
    };
    for (what, value, bound) in
        [("after", w.rss_after, attack.bound.after_mib), ("peak", w.rss_peak, attack.bound.peak_mib)]
    {
        match value {
            Some(kib) => checks.require(
                fault,
                kib < before + bound * 1024,
                format!("RSS {what}: {before} → {kib} KiB (bound: +{bound} MiB)"),
            ),
            None => checks.require(fault, false, format!("weir's RSS {what} the attack could not be read")),
        }
    }
}

/// Envoy's run, with what its outputs show for the attacks that have evidence.
async fn envoy_attack(
    layout: &Layout,
    workers: usize,
    plan: Plan,
    attack: &FilterAttack,
) -> anyhow::Result<Observed> {
    let mut envoy = Proxy::envoy(&layout.envoy()?, workers).await?;
    let mut e = crate::faults::scenario::measure(&mut envoy, |f, h| {
        crate::faults::load::both(plan.load(f), plan.load(h))
    })
    .await?;
    let base = envoy_run_text(&envoy, &e).await;
    let extra = match attack.extra {
        Extra::Exposition => match evidence::exposition(&envoy).await {
            Ok((forged, malformed, stats)) => format!(
                "`/stats/prometheus`: {forged} forged and {malformed} malformed lines; `/stats`: {stats} forged"
            ),
            Err(e) => format!("metrics unreadable: {e}"),
        },
        Extra::Log => LogEvidence::read(&envoy).text(),
        _ => String::new(),
    };
    let log = format!("{} MiB of log", envoy.log_bytes() >> 20);
    e.did = describe(&e, attack, &[base, extra, log]);
    Ok(e)
}

/// Envoy's statuses, Wasm counters and first Wasm failure (as the fault suite records them).
async fn envoy_run_text(envoy: &Proxy, e: &Observed) -> String {
    let patterns = ["wasm.faulty.", "http.faulty.downstream_rq_5xx", "http.faulty.downstream_rq_4xx"];
    let mut parts =
        vec![e.faulty.outcomes_text(), crate::faults::observe::envoy_stats(envoy, &patterns).await];
    if let (n, Some(first)) = crate::faults::observe::log_lines(envoy, &["wasm", "failed"]) {
        parts.push(format!("{n}× `{first}` in its log"));
    }
    parts.retain(|p| !p.is_empty());
    parts.join("; ")
}
