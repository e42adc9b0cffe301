//! The hostile suites of issue 19, against the `weir` binary and real Envoy 1.40.
//!
//! - Hostile filters: hand-written modules, one attack each, run in every request on weir's
//!   `faulty` listener while a healthy plugin serves `healthy`.
//! - Hostile clients: connections that stay silent, stall, flood, or spell a path to walk
//!   around a policy, against listeners with short timeouts and limits.
//!
//! For weir each row asserts what must hold: weir runs, the healthy side has 0 failures,
//! resident memory stays within the row's bound, the attacked side gets only the statuses the
//! design says, and what the host counts is counted. Envoy runs the same where meaningful and
//! is recorded only. Prints both tables and writes `target/hostile-report.md`.
//!
//! `WEIR_HOSTILE=tick,silent` runs only the rows whose key contains one of those words.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use weir_tests::faults::config::PluginDef;
use weir_tests::faults::{Checks, Env, Row, plugin, report, suite};
use weir_tests::hostile::{client_run, clients, filter_run, filters};

/// weir's (and Envoy's) workers.
const WORKERS: usize = 2;
/// No row may take longer than this.
const STEP_LIMIT: Duration = Duration::from_secs(90);

async fn filter_rows(env: &Env, checks: &mut Checks, modules: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    for (i, attack) in filters::all().iter().enumerate() {
        if !suite::selected("WEIR_HOSTILE", attack.key) {
            continue;
        }
        let mut step = Checks::default();
        let label = format!("F{}. {}", i + 1, attack.key);
        let run = filter_run::run(env, &mut step, i + 1, attack, modules);
        let (mut row, violation) = suite::step(&label, STEP_LIMIT, run).await;
        step.violations.extend(violation);
        if row.fault == label {
            row.fault = filter_run::title(i + 1, attack);
        }
        suite::known_defect(&mut row, attack.known_defect, &mut step.violations);
        checks.violations.extend(step.violations);
        rows.push(row);
    }
    rows
}

async fn client_rows(env: &Env, checks: &mut Checks, modules: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    for (i, attack) in clients::ATTACKS.iter().enumerate() {
        if !suite::selected("WEIR_HOSTILE", attack.key) {
            continue;
        }
        let mut step = Checks::default();
        let label = format!("C{}. {}", i + 1, attack.key);
        let run = client_run::run(env, &mut step, i + 1, attack, modules);
        let (mut row, violation) = suite::step(&label, STEP_LIMIT, run).await;
        step.violations.extend(violation);
        if row.fault == label {
            row.fault = client_run::title(i + 1, attack);
        }
        suite::known_defect(&mut row, attack.known_defect, &mut step.violations);
        checks.violations.extend(step.violations);
        rows.push(row);
    }
    rows
}

/// Runs weir once with the healthy probe, so the compiled module is in the cache and no row's
/// memory before the load holds a compilation.
async fn warm_up(env: &Env) {
    let probe = PluginDef::probe("faulty", &serde_json::json!({}), "FAIL_CLOSED").unwrap();
    let weir = env.weir(&plugin::layout(env, probe).unwrap()).await.unwrap();
    drop(weir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_filters_and_clients_against_weir_and_envoy() {
    weir_tests::envoy_required().unwrap();
    weir_testkit::bins::path(weir_testkit::bins::Bin::Weir, weir_testkit::bins::Profile::Debug).unwrap();
    weir_testkit::paths::filter("abi-probe").unwrap();
    let env = Env::start(WORKERS).unwrap();
    warm_up(&env).await;
    let modules = tempfile::tempdir().unwrap();
    let mut checks = Checks::default();
    let started = Instant::now();
    let filter_rows = filter_rows(&env, &mut checks, modules.path()).await;
    let filters_took = started.elapsed();
    let client_rows = client_rows(&env, &mut checks, modules.path()).await;
    let header = format!(
        "# Hostile-suite report\n\nRun {} in {:.0} s (filters {:.0} s, clients {:.0} s): `cargo test -p \
         weir-tests --test hostile -- --nocapture`; weir (debug build) and Envoy 1.40 with `--concurrency \
         {WORKERS}`, on {} cores. Failed = no 2xx answer. RSS = `VmRSS` before → after the load (peak: \
         `VmHWM`, reset before it).",
        suite::now(),
        started.elapsed().as_secs_f64(),
        filters_took.as_secs_f64(),
        (started.elapsed() - filters_took).as_secs_f64(),
        suite::cores(),
    );
    let filters = format!(
        "## Hostile filters\n\nEach attack: its requests on `faulty` and as many on `healthy` at the same \
         time, 4 clients each.\n\n{}",
        report::table_of("attack", &filter_rows)
    );
    let clients = format!(
        "## Hostile clients\n\nThe attacking side: the attack's connections or requests on `faulty`; the \
         healthy side: 200 requests on the attacked listener during the attack, or on `healthy` where the \
         attack fills the attacked one (`max_connections`, file descriptors, slow readers), or the \
         well-formed twin of the attack (HTTP/2 header rows, `cluster_header`, path matrix).\n\n{}",
        report::table_of("attack", &client_rows)
    );
    let text = format!("{header}\n\n{filters}\n\n{clients}");
    let path = weir_testkit::paths::target_dir().join("hostile-report.md");
    std::fs::write(&path, &text).unwrap();
    println!("\n{text}\nwritten to {}", path.display());
    assert!(
        checks.violations.is_empty(),
        "weir gave way to hostile input:\n{}",
        checks.violations.join("\n")
    );
}
