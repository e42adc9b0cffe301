//! The fault suite: every fault against the `weir` binary and against real Envoy 1.40 with the
//! same `.wasm` and an equivalent config, under bounded load, with a healthy listener beside
//! the faulty one. For weir it asserts what must still hold (healthy side: 0 failed; memory
//! bounded; statuses per Envoy's semantics; metrics say what happened); Envoy's behaviour is
//! recorded only. Prints the table and writes it to `target/fault-report.md`.
//!
//! `WEIR_FAULTS=trap,upstream` runs only the steps whose key contains one of those words.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use weir_tests::faults::clients::{Attack, attack};
use weir_tests::faults::request::Outcome::Status;
use weir_tests::faults::upstream::Behaviour;
use weir_tests::faults::{Checks, Env, Row, garbage, hang, network, plugin, report, suite};

/// weir's (and Envoy's) workers; the loop fault runs Envoy with one.
const WORKERS: usize = 2;
/// No step may take longer than this.
const STEP_LIMIT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy)]
enum Step {
    Trap(&'static str),
    Loop,
    Memory,
    UndefinedAction,
    GarbageHostcalls,
    LogFlood,
    Upstream(Behaviour),
    Client(Attack),
    ControlPlane,
}

const STEPS: &[(&str, Step)] = &[
    ("trap-closed", Step::Trap("FAIL_CLOSED")),
    ("trap-open", Step::Trap("FAIL_OPEN")),
    ("trap-reload", Step::Trap("FAIL_RELOAD")),
    ("loop", Step::Loop),
    ("memory", Step::Memory),
    ("garbage-action", Step::UndefinedAction),
    ("garbage-hostcalls", Step::GarbageHostcalls),
    ("log-flood", Step::LogFlood),
    ("upstream-reset", Step::Upstream(Behaviour::Reset)),
    ("upstream-hang", Step::Upstream(Behaviour::Hang)),
    ("upstream-slow", Step::Upstream(Behaviour::Slow(Duration::from_secs(2)))),
    ("client-malformed", Step::Client(Attack::Malformed)),
    ("client-oversized", Step::Client(Attack::Oversized)),
    ("client-slowloris", Step::Client(Attack::Slowloris)),
    ("control-plane", Step::ControlPlane),
];

const CONTROL_PLANE: &str = "covered elsewhere, not repeated here: `host/tests/xds_client.rs` (weir's xDS \
     client: NACK with reason, last values kept, reconnect with backoff), `tests/tests/cp_envoy.rs` (weir-cp \
     killed and restarted against real Envoy), and the control-plane end-to-end test";

/// Compiles a WAT module and writes it to `dir`.
fn module(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, wat::parse_str(text).expect("the WAT module compiles")).unwrap();
    path
}

async fn run(step: Step, env: &Env, checks: &mut Checks, modules: &Path) -> anyhow::Result<Row> {
    match step {
        Step::Trap(policy) => plugin::trap(env, checks, policy).await,
        Step::Loop => hang::loop_forever(env, checks).await,
        Step::Memory => plugin::memory_bomb(env, checks).await,
        Step::UndefinedAction => {
            let wasm = module(modules, "undefined-action", &garbage::undefined_action());
            let fault = "4. `proxy_on_request_headers` returns 77 (undefined action), request_timeout 1s";
            plugin::garbage(env, checks, fault, wasm, &[Status(504)]).await
        }
        Step::GarbageHostcalls => {
            let wasm = module(modules, "garbage-hostcalls", &garbage::garbage_hostcalls());
            let fault = "4. 28 hostcalls with garbage (map/buffer 99, pointers outside memory, bad sizes, \
                         malformed map, allocator returning garbage), then Continue";
            plugin::garbage(env, checks, fault, wasm, &[Status(200)]).await
        }
        Step::LogFlood => plugin::log_flood(env, checks).await,
        Step::Upstream(behaviour) => network::upstream(env, checks, behaviour).await,
        Step::Client(kind) => attack(env, checks, kind).await,
        Step::ControlPlane => Ok(Row {
            fault: "8. control plane killed, restarted, malformed xDS".into(),
            note: Some(CONTROL_PLANE.into()),
            ..Row::default()
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_against_weir_and_envoy() {
    weir_tests::envoy_required().unwrap();
    weir_testkit::bins::path(weir_testkit::bins::Bin::Weir, weir_testkit::bins::Profile::Debug).unwrap();
    let env = Env::start(WORKERS).unwrap();
    let modules = tempfile::tempdir().unwrap();
    let mut checks = Checks::default();
    let mut rows = Vec::new();
    let started = Instant::now();
    for (key, step) in STEPS.iter().filter(|(key, _)| suite::selected("WEIR_FAULTS", key)) {
        let (row, violation) =
            suite::step(key, STEP_LIMIT, run(*step, &env, &mut checks, modules.path())).await;
        checks.violations.extend(violation);
        rows.push(row);
    }
    let header = format!(
        "# Fault report\n\nRun {} in {:.0} s: `cargo test -p weir-tests --test faults -- --nocapture`; \
         weir (debug build) and Envoy 1.40 with `--concurrency {WORKERS}` (Envoy: 1 for the infinite loop), \
         on {} cores. Failed = no 2xx answer. RSS = `VmRSS` before and after the load.",
        suite::now(),
        started.elapsed().as_secs_f64(),
        suite::cores(),
    );
    let path = weir_testkit::paths::target_dir().join("fault-report.md");
    report::write(&path, &rows, &header).unwrap();
    println!("\n{header}\n\n{}\nwritten to {}", report::table(&rows), path.display());
    assert!(checks.violations.is_empty(), "weir broke under faults:\n{}", checks.violations.join("\n"));
}
