//! Runs one hostile-client attack against weir (asserting what must hold) and Envoy (given
//! the same listener options; recording what it did).

use std::path::Path;

use super::client_drive::{Findings, drive};
use super::clients::{self, ClientAttack, Kind};
use crate::faults::process::Proxy;
use crate::faults::report::{Observed, Row};
use crate::faults::scenario::{Checks, Env, measure_with};
use crate::faults::upstream::{BadUpstream, Behaviour};

/// How much weir's memory may grow during a client attack, in MiB (after it and at its peak).
pub const BOUND_MIB: u64 = 64;
/// The body the slow readers never read.
const LARGE_BODY: usize = 64 << 20;

/// The table's first cell.
pub fn title(n: usize, attack: &ClientAttack) -> String {
    format!("C{n}. {} — RSS bound +{BOUND_MIB} MiB after and at peak", attack.title)
}

/// Runs `attack` on both proxies.
pub async fn run(
    env: &Env,
    checks: &mut Checks,
    n: usize,
    attack: &ClientAttack,
    dir: &Path,
) -> anyhow::Result<Row> {
    let label = format!("C{n}. {}", attack.key);
    let large = BadUpstream::start(Behaviour::Large(LARGE_BODY)).await?;
    let upstream = if attack.kind == Kind::SlowReader { large.addr } else { env.echo() };
    let layout = clients::layout(env, attack.kind, upstream, dir)?;

    let mut weir = env.weir(&layout).await?;
    let (mut w, found) = observe(&mut weir, attack.kind).await?;
    w.did = describe(&w, &found);
    checks.require(&label, weir.alive(), format!("weir exited; log:\n{}", weir.log_tail(30)));
    checks.require(
        &label,
        w.healthy.failed == 0,
        format!("healthy side failed {}: {}", w.healthy.ratio(), w.healthy.outcomes_text()),
    );
    checks.only(&label, &w.faulty, attack.expected);
    for f in found.facts.iter().filter(|f| !f.holds) {
        checks.require(&label, false, &f.text);
    }
    memory(checks, &label, &w);
    if attack.kind == Kind::InternalCluster {
        // Why weir refused: the access log's `response_code_details`.
        let log = std::fs::read_to_string(dir.join(clients::ACCESS_LOG)).unwrap_or_default();
        let n = log.lines().filter(|l| l.contains("\"cluster_not_found\"")).count() as u64;
        checks.require(&label, n >= w.faulty.sent, format!("{n} requests logged as `cluster_not_found`"));
        w.did.push_str(&format!("; access log: {n} × `cluster_not_found`"));
    }
    drop(weir);

    let mut envoy = Proxy::envoy(&layout.envoy()?, env.workers).await?;
    let (mut e, found) = observe(&mut envoy, attack.kind).await?;
    e.did = describe(&e, &found);
    Ok(Row { fault: title(n, attack), weir: Some(w), envoy: Some(e), note: None })
}

async fn observe(proxy: &mut Proxy, kind: Kind) -> anyhow::Result<(Observed, Findings)> {
    let handle = proxy.handle();
    measure_with(proxy, |faulty, healthy| async move {
        let found = drive(kind, handle, faulty, healthy).await;
        (found.attack.clone(), found.healthy.clone(), found)
    })
    .await
}

fn describe(o: &Observed, found: &Findings) -> String {
    let mut parts = vec![format!("{} (each after {})", o.faulty.outcomes_text(), o.faulty.latency_text())];
    parts.extend(found.facts.iter().map(|f| f.text.clone()));
    parts.extend(found.notes.iter().cloned());
    parts.join("; ")
}

fn memory(checks: &mut Checks, label: &str, w: &Observed) {
    let Some(before) = w.rss_before else {
        return checks.require(label, false, "weir's RSS could not be read before the attack");
    };
    for (what, value) in [("after", w.rss_after), ("peak", w.rss_peak)] {
        let ok = value.is_some_and(|kib| kib < before + BOUND_MIB * 1024);
        checks.require(label, ok, format!("RSS {what}: {before} → {value:?} KiB (bound: +{BOUND_MIB} MiB)"));
    }
}
