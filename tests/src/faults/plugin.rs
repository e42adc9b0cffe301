//! Faulty plugins, each on the `faulty` listener while the `healthy` listener runs a healthy
//! instance of the same probe in its own VM: a trap on every request (per failure policy), a
//! callback that never returns, a memory leak, garbage from hand-written modules, a log flood.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use super::config::{Layout, PluginDef, Side};
use super::load;
use super::observe::{PluginView, envoy_stats, log_lines};
use super::process::Proxy;
use super::report::{Observed, Row};
use super::request::Outcome::{self, Status};
use super::scenario::{Checks, Env, Plan, RSS_SLACK_KIB, drive, measure};

/// The faulty plugin on `faulty`, a healthy probe (empty program) on `healthy`.
pub fn layout(env: &Env, faulty: PluginDef) -> anyhow::Result<Layout> {
    let healthy = PluginDef::probe("healthy", &json!({}), "FAIL_CLOSED")?;
    Ok(Layout::new(Side::new(env.echo(), Some(faulty)), Side::new(env.echo(), Some(healthy))))
}

/// The probe running `ops` in every `proxy_on_request_headers`.
pub fn probe(ops: Value, policy: &str, limits: Value) -> anyhow::Result<PluginDef> {
    let mut plugin = PluginDef::probe("faulty", &json!({ "request_headers": ops }), policy)?;
    plugin.limits = limits;
    Ok(plugin)
}

/// A hand-written module.
pub fn module(wasm: PathBuf) -> PluginDef {
    PluginDef {
        name: "faulty".into(),
        wasm,
        configuration: String::new(),
        failure_policy: "FAIL_CLOSED".into(),
        limits: json!({}),
    }
}

/// weir's run under `plan`: the observation (with statuses and plugin metrics as `did`) and
/// the plugin's metrics.
pub async fn weir_run(
    env: &Env,
    layout: &Layout,
    faulty: Plan,
    healthy: Plan,
) -> anyhow::Result<(Proxy, Observed, PluginView)> {
    let mut weir = env.weir(layout).await?;
    let mut observed = measure(&mut weir, |f, h| load::both(faulty.load(f), healthy.load(h))).await?;
    let view = PluginView::read(&weir, "faulty").await?;
    observed.did = format!("{}; {}", observed.faulty.outcomes_text(), view.summary());
    Ok((weir, observed, view))
}

/// Envoy's run under `plan`, with its Wasm counters and the first Wasm failure in its log.
pub async fn envoy_run(
    layout: &Layout,
    workers: usize,
    faulty: Plan,
    healthy: Plan,
) -> anyhow::Result<Observed> {
    let mut envoy = Proxy::envoy(&layout.envoy()?, workers).await?;
    let mut observed = measure(&mut envoy, |f, h| load::both(faulty.load(f), healthy.load(h))).await?;
    let patterns = [
        "wasm.faulty.",
        "http.faulty.downstream_rq_5xx",
        "http.faulty.no_route",
        "http.faulty.downstream_rq_timeout",
    ];
    let mut parts = vec![observed.faulty.outcomes_text(), envoy_stats(&envoy, &patterns).await];
    if let (n, Some(first)) = log_lines(&envoy, &["proxy_on_request_headers failed"]) {
        parts.push(format!("{n}× `{first}` in its log"));
    }
    parts.retain(|p| !p.is_empty());
    observed.did = parts.join("; ");
    Ok(observed)
}

/// Fault 1: `panic` in every `proxy_on_request_headers`, under `policy`.
pub async fn trap(env: &Env, checks: &mut Checks, policy: &str) -> anyhow::Result<Row> {
    let fault = format!("1. trap on every request (`panic`), {policy}");
    let layout = layout(env, probe(json!([{"op": "panic"}]), policy, json!({}))?)?;
    let (mut weir, w, view) = weir_run(env, &layout, Plan::DEFAULT, Plan::DEFAULT).await?;
    checks.common(&fault, &mut weir, &w, RSS_SLACK_KIB);
    checks.only(&fault, &w.faulty, &[Status(503), Status(200)]);
    checks.require(&fault, view.series("weir_plugin_traps_total") >= 1.0, "no trap counted");
    let failure = view.last_failure().unwrap_or_default();
    checks.require(
        &fault,
        failure.contains("wasm backtrace") && failure.contains("weir_test_abi_probe::"),
        format!("last_failure is not a symbolised trap: {failure}"),
    );
    let workers = env.workers as u64;
    match policy {
        // One trap per worker's VM; later requests skip the plugin.
        "FAIL_OPEN" => checks.require(
            &fault,
            w.faulty.failed <= workers && view.status() == "failed",
            format!(
                "FAIL_OPEN: {} failed (at most one per worker), status {}",
                w.faulty.failed,
                view.status()
            ),
        ),
        // Every request fails: the VM stays failed, or every replacement traps again.
        _ => {
            checks.require(&fault, w.faulty.count(Status(503)) == w.faulty.sent, "not every request got 503")
        }
    }
    if policy == "FAIL_CLOSED" {
        checks.require(&fault, view.status() == "failed", format!("status {}", view.status()));
    }
    let e = envoy_run(&layout, env.workers, Plan::DEFAULT, Plan::DEFAULT).await?;
    Ok(Row { fault, weir: Some(w), envoy: Some(e), note: None })
}

/// Fault 3: 16 MiB leaked per request against weir's 64 MiB cap, FAIL_RELOAD.
pub async fn memory_bomb(env: &Env, checks: &mut Checks) -> anyhow::Result<Row> {
    let fault = "3. leak 16 MiB per request (`grow_memory`), cap 64 MiB, FAIL_RELOAD".to_string();
    let cap: u64 = 64 << 20;
    let limits = json!({"max_memory_bytes": cap});
    let layout = layout(env, probe(json!([{"op": "grow_memory", "mb": 16}]), "FAIL_RELOAD", limits)?)?;
    // Paced, so the load spans several replacements of the failed VMs.
    let faulty = Plan { pace: Duration::from_millis(20), ..Plan::DEFAULT };
    let (mut weir, w, view) = weir_run(env, &layout, faulty, Plan::DEFAULT).await?;
    let bound = (cap >> 10) * env.workers as u64 + 128 * 1024;
    checks.common(&fault, &mut weir, &w, bound);
    checks.only(&fault, &w.faulty, &[Status(200), Status(503)]);
    checks.require(&fault, view.metric("limits_exceeded") >= 1, "no memory limit hit counted");
    let failure = view.last_failure().unwrap_or_default();
    checks.require(
        &fault,
        failure.starts_with("max_memory_bytes exceeded"),
        format!("last_failure: {failure}"),
    );
    let e = envoy_run(&layout, env.workers, faulty, Plan::DEFAULT).await?;
    Ok(Row { fault, weir: Some(w), envoy: Some(e), note: None })
}

/// Fault 5: 1000 log lines of 100 bytes per request.
pub async fn log_flood(env: &Env, checks: &mut Checks) -> anyhow::Result<Row> {
    let fault = "5. log flood (1000 × 100 B `proxy_log` per request)".to_string();
    let ops = json!([{"op": "log_flood", "count": 1000, "size": 100}]);
    let layout = layout(env, probe(ops, "FAIL_CLOSED", json!({}))?)?;
    let (mut weir, mut w, _) = weir_run(env, &layout, Plan::DEFAULT, Plan::DEFAULT).await?;
    checks.common(&fault, &mut weir, &w, RSS_SLACK_KIB);
    checks.require(&fault, w.faulty.failed == 0, format!("faulty side failed: {}", w.faulty.outcomes_text()));
    w.did = flood_text(&w, weir.log_bytes());
    let mut envoy = Proxy::envoy(&layout.envoy()?, env.workers).await?;
    let mut e = drive(&mut envoy, Plan::DEFAULT).await?;
    e.did = flood_text(&e, envoy.log_bytes());
    Ok(Row { fault, weir: Some(w), envoy: Some(e), note: None })
}

fn flood_text(o: &Observed, log_bytes: u64) -> String {
    format!(
        "{}; {} MiB of log; faulty latency {}, healthy latency {}",
        o.faulty.outcomes_text(),
        log_bytes >> 20,
        o.faulty.latency_text(),
        o.healthy.latency_text()
    )
}

/// Fault 4: a hand-written module returning garbage (`wasm` compiled by the test).
pub async fn garbage(
    env: &Env,
    checks: &mut Checks,
    fault: &str,
    wasm: PathBuf,
    expected: &[Outcome],
) -> anyhow::Result<Row> {
    let mut layout = layout(env, module(wasm))?;
    // A stream a filter stops for good is bounded by the listener's request timeout: Envoy
    // answers 504 when the request was received whole (408 while it is still arriving).
    layout.faulty.request_timeout = Some("1s".into());
    let stalls = expected.contains(&Status(504));
    let faulty = if stalls { Plan::of(40, 20) } else { Plan::DEFAULT };
    let (mut weir, w, _) = weir_run(env, &layout, faulty, Plan::DEFAULT).await?;
    checks.common(fault, &mut weir, &w, RSS_SLACK_KIB);
    checks.only(fault, &w.faulty, expected);
    let e = envoy_run(&layout, env.workers, faulty, Plan::DEFAULT).await?;
    Ok(Row { fault: fault.to_string(), weir: Some(w), envoy: Some(e), note: None })
}
