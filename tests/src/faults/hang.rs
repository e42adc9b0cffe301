//! Fault 2: a callback that never returns. weir stops it at `limits.max_callback_time`; Envoy
//! has no such limit and its worker hangs for good, so Envoy runs with one worker, gets a few
//! requests with a short deadline, is sent SIGTERM (which it ignores while hung) and is then
//! killed by PID.

use std::time::Duration;

use serde_json::json;

use super::load::Tally;
use super::observe::log_lines;
use super::plugin::{layout, probe, weir_run};
use super::process::Proxy;
use super::report::{Observed, Row};
use super::request::{Outcome::Status, probe as request};
use super::scenario::{Checks, Env, Plan, RSS_SLACK_KIB, measure};

/// Requests Envoy gets on each side: few, since each one only waits for its deadline.
const ENVOY_REQUESTS: usize = 3;
/// Their deadline.
const ENVOY_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs the fault on both proxies.
pub async fn loop_forever(env: &Env, checks: &mut Checks) -> anyhow::Result<Row> {
    let fault = "2. infinite loop (`loop_forever`), max_callback_time 100ms, FAIL_CLOSED".to_string();
    let plugin =
        probe(json!([{"op": "loop_forever"}]), "FAIL_CLOSED", json!({"max_callback_time": "100ms"}))?;
    let layout = layout(env, plugin)?;
    let (mut weir, w, view) = weir_run(env, &layout, Plan::DEFAULT, Plan::DEFAULT).await?;
    checks.common(&fault, &mut weir, &w, RSS_SLACK_KIB);
    checks.only(&fault, &w.faulty, &[Status(503)]);
    checks.require(&fault, view.series("weir_plugin_timeouts_total") >= 1.0, "no callback timeout counted");
    checks.require(
        &fault,
        view.last_failure().is_some_and(|f| f.contains("time limit of 100ms")),
        format!("last_failure: {:?}", view.last_failure()),
    );
    drop(weir);

    let mut envoy = Proxy::envoy(&layout.envoy()?, 1).await?;
    let mut e = measure(&mut envoy, |faulty, healthy| async move {
        // One after the other: the first faulty request hangs the only worker.
        let mut sides = (Tally::default(), Tally::default());
        for _ in 0..ENVOY_REQUESTS {
            let (outcome, took) = request(faulty, "/", &[], ENVOY_TIMEOUT).await;
            sides.0.add(outcome, took);
        }
        for _ in 0..ENVOY_REQUESTS {
            let (outcome, took) = request(healthy, "/", &[], ENVOY_TIMEOUT).await;
            sides.1.add(outcome, took);
        }
        sides
    })
    .await?;
    let admin =
        envoy.admin_get("/ready").await.map_or_else(|e| format!("error: {e}"), |t| t.trim().to_string());
    envoy.terminate();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let survived_term = envoy.alive();
    let (n, first) = log_lines(&envoy, &["wasm"]);
    let pid = envoy.pid();
    envoy.kill();
    e.did = envoy_text(&e, &admin, survived_term, pid, n, first);
    Ok(Row { fault, weir: Some(w), envoy: Some(e), note: None })
}

fn envoy_text(
    e: &Observed,
    admin: &str,
    survived_term: bool,
    pid: u32,
    wasm_lines: usize,
    first: Option<String>,
) -> String {
    let mut text = format!(
        "`--concurrency 1`, {ENVOY_REQUESTS}+{ENVOY_REQUESTS} requests with a {} s deadline: faulty {}, \
         then healthy {} (the worker is hung); admin `/ready`: {admin}; ",
        ENVOY_TIMEOUT.as_secs(),
        e.faulty.outcomes_text(),
        e.healthy.outcomes_text(),
    );
    text.push_str(if survived_term { "still running 2 s after SIGTERM; " } else { "exited on SIGTERM; " });
    text.push_str(&format!("killed by PID ({pid}) with SIGKILL"));
    if let Some(first) = first {
        text.push_str(&format!("; {wasm_lines} Wasm log lines, first: `{first}`"));
    }
    text
}
