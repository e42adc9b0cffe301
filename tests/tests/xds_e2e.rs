//! End to end: a real `weir-cp` feeds a real Envoy (`--concurrency 2`, runtime values through
//! the rtds-bridge singleton, the shuffle-shard filter's config through ECDS) and weir (its own
//! xDS client), both in front of one echo upstream, configured from the checked-in
//! `envoy-configs/shuffle-shard.yaml` and `examples/shuffle-shard/weir.yaml`.
//!
//! 1. `weir-cp set shuffle_sharding.customer.customer-A.shard_size=…` changes both proxies'
//!    `x-shard-hosts`; 20 pushes, propagation (CLI return → first changed answer) p50/p99 per
//!    proxy printed.
//! 2. A layer holding a list, then one holding a null (pushed `--unchecked`) is NACKed by the
//!    bridge, by Envoy's own `layered_runtime` and by weir; `weir-cp status` shows each NACK
//!    and reason; both proxies keep the previous values.
//! 3. An ECDS config the filter's `on_configure` refuses (`shard_size: 0`) is NACKed by Envoy
//!    and by weir; both keep serving with the previous config.
//! 4. weir-cp killed (by PID): both keep answering with the last values; restarted on the same
//!    ports with the same state file: both reconnect by themselves (times printed) and follow
//!    the next push.
//!
//! Every wait is a poll with a deadline; timings are printed, and asserted only against a
//! generous bound (machines are noisy).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::Value;
use weir_tests::e2e::cp::{WeirCp, envoy_runtime};
use weir_tests::e2e::{self, Answer, acked, ask, node, percentile, poll};
use weir_tests::echo::EchoServer;
use weir_tests::envoy::Envoy;
use weir_tests::weir::Weir;

const KEY: &str = "shuffle_sharding.customer.customer-A.shard_size";
/// Envoy's own xDS (layered_runtime RTDS, ECDS), the bridge, and weir, as weir-cp sees them.
const ENVOY: &str = "envoy-1";
const BRIDGE: &str = "envoy-1-rtds-bridge";
const WEIR: &str = "weir-1";
/// Bound for anything that should take well under a second.
const GENEROUS: Duration = Duration::from_secs(10);
/// Bound for status and reconnect waits (backoff windows grow to a few seconds while weir-cp is
/// down).
const PATIENT: Duration = Duration::from_secs(45);
const EVERY: Duration = Duration::from_millis(2);

/// The tests run one at a time: two Envoys and weir at once on a small machine would skew the
/// propagation times the first one prints.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Setup {
    cp: WeirCp,
    envoy: Envoy,
    weir: Weir,
    envoy_addr: SocketAddr,
    weir_addr: SocketAddr,
    state: PathBuf,
    wasm: String,
    _echo: EchoServer,
    _dir: tempfile::TempDir,
}

/// The version a `weir-cp` change printed (`layer rtds: version 7`, `ecds x: updated 3`).
fn version_of(output: &str) -> anyhow::Result<String> {
    let last = output.split_whitespace().last().context("no output")?;
    Ok(last.trim_end_matches(')').to_string())
}

fn ecds_config(shard_size: u32) -> String {
    format!(r#"{{"total_hosts": 8, "shard_size": {shard_size}}}"#)
}

/// `delta`: Envoy's config sources and weir's `xds` use delta xDS (`DELTA_GRPC`; the bridge
/// keeps its own state-of-the-world stream).
async fn setup(delta: bool) -> anyhow::Result<Setup> {
    weir_tests::envoy_required()?;
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("weir-cp.json");
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let cp = WeirCp::start(&state, any, any)?;
    let wasm = weir_testkit::paths::filter("shuffle-shard")?.display().to_string();
    weir_testkit::paths::filter("rtds-bridge")?;
    cp.ok(&[
        "ecds",
        "set",
        "shuffle-shard",
        "--wasm",
        &wasm,
        "--vm-id",
        "shard",
        "--config",
        &ecds_config(2),
    ])?;
    let echo = EchoServer::start()?;
    let (mut envoy_yaml, mut weir_yaml) =
        (e2e::envoy_config(cp.xds, echo.addr())?, e2e::weir_config(cp.xds, echo.addr())?);
    if delta {
        ensure!(
            envoy_yaml.contains("api_type: GRPC") && weir_yaml.contains("\nxds:\n"),
            "config layout changed"
        );
        envoy_yaml = envoy_yaml.replace("api_type: GRPC", "api_type: DELTA_GRPC");
        weir_yaml = weir_yaml.replace("\nxds:\n", "\nxds:\n  api_type: DELTA_GRPC\n");
    }
    let envoy = Envoy::start_with_workers(&envoy_yaml, 2).await?;
    let weir = Weir::start_async(weir_yaml, 2).await?;
    let envoy_addr = envoy.listener("main").await?;
    let weir_addr = weir.listener("main")?;
    println!(
        "weir-cp pid {} xds {}; Envoy pid {} on {envoy_addr}; weir on {weir_addr}",
        cp.pid(),
        cp.xds,
        envoy.pid()
    );
    Ok(Setup { cp, envoy, weir, envoy_addr, weir_addr, state, wasm, _echo: echo, _dir: dir })
}

/// Polls one proxy until `want` holds for customer `customer`; returns the answer and when.
async fn until(
    addr: SocketAddr,
    customer: &str,
    what: &str,
    want: impl Fn(&Answer) -> bool,
) -> anyhow::Result<(Answer, Instant)> {
    let want = &want;
    poll(what, GENEROUS, EVERY, move || async move {
        let answer = ask(addr, customer).await?;
        Ok(want(&answer).then(|| (answer, Instant::now())))
    })
    .await
}

/// Both proxies answer customer-A with a shard of `size` hosts, and the same hosts.
async fn both_have_size(s: &Setup, size: usize) -> anyhow::Result<(Duration, Duration)> {
    let start = Instant::now();
    let want = |a: &Answer| a.status == 200 && a.shard_size() == size;
    let (envoy_what, weir_what) =
        (format!("Envoy: customer-A shard of {size}"), format!("weir: customer-A shard of {size}"));
    let (envoy, weir) = tokio::join!(
        until(s.envoy_addr, "customer-A", &envoy_what, want),
        until(s.weir_addr, "customer-A", &weir_what, want),
    );
    let ((envoy, envoy_at), (weir, weir_at)) = (envoy?, weir?);
    ensure!(envoy.hosts == weir.hosts, "Envoy and weir disagree: {envoy:?} vs {weir:?}");
    Ok((envoy_at - start, weir_at - start))
}

/// Polls weir-cp's status until `check` holds; returns it.
async fn status_until(
    cp: &WeirCp,
    what: &str,
    limit: Duration,
    check: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let check = &check;
    poll(what, limit, Duration::from_millis(20), move || async move {
        let status = cp.status().await?;
        Ok(check(&status).then_some(status))
    })
    .await
}

async fn propagation(s: &Setup) -> anyhow::Result<String> {
    println!("== 1. weir-cp set -> both proxies");
    // At start: the static layer's total_hosts 8, the ECDS config's shard size 2.
    both_have_size(s, 2).await?;
    let rtds = s.cp.status().await?["versions"]["rtds"].as_str().unwrap_or_default().to_string();
    status_until(&s.cp, "every node ACKed the first versions", PATIENT, |st| {
        acked(st, ENVOY, "rtds", &rtds)
            && acked(st, BRIDGE, "rtds", &rtds)
            && acked(st, WEIR, "rtds", &rtds)
            && acked(st, ENVOY, "ecds", "1")
            && acked(st, WEIR, "ecds", "1")
    })
    .await?;
    let sizes = [5usize, 3, 6, 4, 7, 2];
    let (mut envoy_times, mut weir_times) = (Vec::new(), Vec::new());
    let mut version = String::new();
    for i in 0..20 {
        let size = sizes[i % sizes.len()];
        version = version_of(&s.cp.ok(&["set", &format!("{KEY}={size}")])?)?;
        let (envoy, weir) = both_have_size(s, size).await?;
        envoy_times.push(envoy);
        weir_times.push(weir);
    }
    let show = |name: &str, t: &[Duration]| {
        println!(
            "{name}: propagation over {} pushes: p50 {:?}, p99 {:?}, max {:?}",
            t.len(),
            percentile(t, 50),
            percentile(t, 99),
            percentile(t, 100)
        );
    };
    show("Envoy (rtds-bridge)", &envoy_times);
    show("weir", &weir_times);
    for t in envoy_times.iter().chain(&weir_times) {
        assert!(*t < GENEROUS, "a push took {t:?}");
    }
    status_until(&s.cp, "every node ACKed the last push", PATIENT, |st| {
        acked(st, ENVOY, "rtds", &version)
            && acked(st, BRIDGE, "rtds", &version)
            && acked(st, WEIR, "rtds", &version)
    })
    .await?;
    // Every Envoy worker sees what the singleton published: connections land on both workers
    // (SO_REUSEPORT), and every answer has the last size.
    let last_size = sizes[19 % sizes.len()];
    let before = s.envoy.worker_connections().await?;
    ensure!(before.len() == 2, "expected 2 Envoy workers, stats show {before:?}");
    let mut after = before.clone();
    for _ in 0..200 {
        let answer = ask(s.envoy_addr, "customer-A").await?;
        ensure!(answer.shard_size() == last_size, "an Envoy worker answered {answer:?}");
        after = s.envoy.worker_connections().await?;
        if after.iter().zip(&before).all(|(a, b)| a > b) {
            break;
        }
    }
    ensure!(
        after.iter().zip(&before).all(|(a, b)| a > b),
        "not both workers answered: {before:?} -> {after:?}"
    );
    println!("Envoy workers' connections {before:?} -> {after:?}, every answer had {last_size} hosts");
    // Envoy's own runtime follows too (layered_runtime's rtds layer).
    let last = last_size.to_string();
    assert_eq!(envoy_runtime(s.envoy.admin(), KEY).await?.as_deref(), Some(last.as_str()));
    Ok(version)
}

/// Pushes `layer` unchecked; every node NACKs it, keeps `good`, and the reason names `key`.
async fn nacked_by_all(
    s: &Setup,
    file: &Path,
    layer: &str,
    key: &str,
    good: &str,
    size: usize,
) -> anyhow::Result<()> {
    std::fs::write(file, layer)?;
    let bad = version_of(&s.cp.ok(&["apply", "-f", file.to_str().context("path")?, "--unchecked"])?)?;
    let status = status_until(&s.cp, &format!("NACKs of rtds version {bad}"), PATIENT, |st| {
        [ENVOY, BRIDGE, WEIR]
            .iter()
            .all(|id| node(st, id).is_some_and(|n| n["types"]["rtds"]["nack"]["version"] == bad.as_str()))
    })
    .await?;
    for id in [ENVOY, BRIDGE, WEIR] {
        let rtds = &node(&status, id).context("node")?["types"]["rtds"];
        let reason = rtds["nack"]["reason"].as_str().unwrap_or_default();
        println!("{id} NACKed rtds version {bad}: {reason}");
        assert!(reason.contains(key), "{id}'s reason names `{key}`: {reason}");
        assert_eq!(rtds["acked"]["version"], good, "{id} keeps version {good}");
        assert_eq!(rtds["nack"]["kept_version"], good, "{id}'s NACK carries version {good}");
    }
    let rejected = s.envoy.stat("wasmcustom.rtds_bridge.updates_rejected").await?;
    ensure!(rejected.unwrap_or(0) >= 1, "the bridge counts rejected updates: {rejected:?}");
    let table = s.cp.ok(&["status"])?;
    println!("{table}");
    for id in [ENVOY, BRIDGE, WEIR] {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(id) && l.contains(&format!("version {bad}")) && l.contains(key)),
            "{table}"
        );
    }
    // Both keep the previous values: the size set before, in both filters and in Envoy's runtime.
    for _ in 0..20 {
        let (envoy, weir) = (ask(s.envoy_addr, "customer-A").await?, ask(s.weir_addr, "customer-A").await?);
        ensure!(
            envoy.shard_size() == size && weir.shard_size() == size,
            "values changed: {envoy:?} {weir:?}"
        );
    }
    assert_eq!(envoy_runtime(s.envoy.admin(), KEY).await?.as_deref(), Some(size.to_string().as_str()));
    Ok(())
}

async fn runtime_nack(s: &Setup, good: String) -> anyhow::Result<()> {
    println!("== 2. invalid runtime layers are NACKed by both, values kept");
    let size = ask(s.envoy_addr, "customer-A").await?.shard_size();
    let file = s.state.with_file_name("layer.yaml");
    let list = "shuffle_sharding:\n  customer:\n    customer-A: {shard_size: 1}\nzones: [eu, us]\n";
    nacked_by_all(s, &file, list, "zones", &good, size).await?;
    let null = "shuffle_sharding:\n  customer:\n    customer-A: {shard_size: 1}\nfeature:\n  flag: null\n";
    nacked_by_all(s, &file, null, "feature.flag", &good, size).await?;
    // A valid layer again: both follow.
    std::fs::write(&file, "shuffle_sharding:\n  customer:\n    customer-A: {shard_size: 4}\n")?;
    s.cp.ok(&["apply", "-f", file.to_str().context("path")?])?;
    both_have_size(s, 4).await?;
    Ok(())
}

async fn ecds_nack(s: &Setup) -> anyhow::Result<()> {
    println!("== 3. ECDS: a config the filter refuses is NACKed by both, the old one keeps serving");
    // customer-B has no runtime size: its size comes from the filter's configuration.
    let config_size = |size: u32| move |a: &Answer| a.config.contains(&format!("size={size};source=config"));
    let ecds = |size| {
        [
            "ecds",
            "set",
            "shuffle-shard",
            "--wasm",
            &s.wasm,
            "--vm-id",
            "shard",
            "--config",
            &ecds_config(size),
        ]
        .map(String::from)
    };
    let args = ecds(3);
    let good = version_of(&s.cp.ok(&args.each_ref().map(String::as_str))?)?;
    until(s.envoy_addr, "customer-B", "Envoy applies ECDS shard_size 3", config_size(3)).await?;
    until(s.weir_addr, "customer-B", "weir applies ECDS shard_size 3", config_size(3)).await?;
    status_until(&s.cp, "ECDS ACKs", PATIENT, |st| {
        acked(st, ENVOY, "ecds", &good) && acked(st, WEIR, "ecds", &good)
    })
    .await?;

    let args = ecds(0);
    let bad = version_of(&s.cp.ok(&args.each_ref().map(String::as_str))?)?;
    let status = status_until(&s.cp, &format!("ECDS NACKs of {bad}"), PATIENT, |st| {
        [ENVOY, WEIR]
            .iter()
            .all(|id| node(st, id).is_some_and(|n| n["types"]["ecds"]["nack"]["version"] == bad.as_str()))
    })
    .await?;
    for id in [ENVOY, WEIR] {
        let ecds = &node(&status, id).context("node")?["types"]["ecds"];
        println!("{id} NACKed ecds version {bad}: {}", ecds["nack"]["reason"]);
        assert_eq!(ecds["acked"]["version"], good.as_str(), "{id} keeps ECDS version {good}");
    }
    let weir_reason =
        node(&status, WEIR).context("weir")?["types"]["ecds"]["nack"]["reason"].as_str().unwrap_or_default();
    assert!(weir_reason.contains("shard_size"), "weir's reason is the filter's: {weir_reason}");
    let envoy_reason = node(&status, ENVOY).context("envoy")?["types"]["ecds"]["nack"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        envoy_reason.contains("Unable to create Wasm plugin shuffle-shard"),
        "Envoy's reason: {envoy_reason}"
    );
    assert!(s.envoy.log_lines(400).contains("`shard_size` must be 1..=8"), "Envoy logs the filter's reason");
    for _ in 0..20 {
        for (name, addr) in [("Envoy", s.envoy_addr), ("weir", s.weir_addr)] {
            let answer = ask(addr, "customer-B").await?;
            ensure!(
                answer.status == 200 && config_size(3)(&answer),
                "{name} stopped serving the old config: {answer:?}"
            );
        }
    }
    // A valid config again (so a reconnect later finds a config both accept).
    let args = ecds(3);
    let again = version_of(&s.cp.ok(&args.each_ref().map(String::as_str))?)?;
    status_until(&s.cp, "ECDS ACKs again", PATIENT, |st| {
        acked(st, ENVOY, "ecds", &again) && acked(st, WEIR, "ecds", &again)
    })
    .await?;
    Ok(())
}

async fn weir_connected(weir: &Weir) -> anyhow::Result<bool> {
    let reply =
        weir_tests::client::send(weir.admin()?, weir_tests::client::admin_get(weir.admin()?, "/xds")).await?;
    let json: Value = serde_json::from_slice(&reply.body)?;
    Ok(json["connected"] == true)
}

async fn control_plane_restart(s: &mut Setup) -> anyhow::Result<()> {
    println!("== 4. weir-cp killed and restarted");
    let before = (ask(s.envoy_addr, "customer-A").await?, ask(s.weir_addr, "customer-A").await?);
    let version = s.cp.status().await?["versions"]["rtds"].as_str().unwrap_or_default().to_string();
    let (xds, admin) = (s.cp.xds, s.cp.admin);
    println!("killing weir-cp (pid {})", s.cp.pid());
    s.cp.kill();
    // Both notice, and keep answering with their last values meanwhile.
    let (envoy, weir) = (&s.envoy, &s.weir);
    poll("Envoy's bridge and weir notice the loss", PATIENT, Duration::from_millis(20), move || async move {
        let bridge = envoy.stat("wasmcustom.rtds_bridge.connected").await?;
        let weir = weir_connected(weir).await?;
        Ok((bridge == Some(0) && !weir).then_some(()))
    })
    .await?;
    for _ in 0..20 {
        let now = (ask(s.envoy_addr, "customer-A").await?, ask(s.weir_addr, "customer-A").await?);
        ensure!(now == before, "answers changed without a control plane: {before:?} -> {now:?}");
    }
    let restarted = Instant::now();
    s.cp = WeirCp::start(&s.state, xds, admin)?;
    println!("weir-cp restarted (pid {}) on the same ports with the same state file", s.cp.pid());
    // When each node is connected again and ACKed the version it holds (polled, with a deadline).
    let mut reconnected: [Option<Duration>; 3] = [None; 3];
    let ids = [ENVOY, BRIDGE, WEIR];
    let deadline = restarted + PATIENT;
    while reconnected.iter().any(Option::is_none) {
        let status = s.cp.status().await.unwrap_or(Value::Null);
        for (i, id) in ids.iter().enumerate() {
            if reconnected[i].is_none() && acked(&status, id, "rtds", &version) {
                reconnected[i] = Some(restarted.elapsed());
            }
        }
        if Instant::now() > deadline {
            bail!("not every node reconnected within {PATIENT:?}: {reconnected:?} ({ids:?})\n{status:#}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for (id, t) in ids.iter().zip(reconnected) {
        println!(
            "{id}: reconnected and ACKed rtds version {version} {:?} after the restart",
            t.unwrap_or_default()
        );
    }
    ensure!(
        s.envoy.stat("wasmcustom.rtds_bridge.reconnects").await?.unwrap_or(0) >= 1,
        "the bridge counted reconnects"
    );
    assert!(weir_connected(&s.weir).await?);
    // They follow the next push.
    s.cp.ok(&["set", &format!("{KEY}=6")])?;
    let (envoy, weir) = both_have_size(s, 6).await?;
    println!("after the restart, a push reached Envoy in {envoy:?} and weir in {weir:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_and_weir_follow_weir_cp() -> anyhow::Result<()> {
    follow(false).await
}

/// The same over delta xDS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_and_weir_follow_weir_cp_over_delta() -> anyhow::Result<()> {
    follow(true).await
}

async fn follow(delta: bool) -> anyhow::Result<()> {
    let _serial = SERIAL.lock().await;
    let mut s = setup(delta).await?;
    let result = async {
        let protocol = if delta { "delta" } else { "sotw" };
        let status = status_until(&s.cp, "both proxies connected", PATIENT, |st| {
            [ENVOY, WEIR].iter().all(|id| node(st, id).is_some_and(|n| n["connected"] == true))
        })
        .await?;
        for id in [ENVOY, WEIR] {
            let seen = node(&status, id).map(|n| n["protocol"].clone()).unwrap_or_default();
            ensure!(seen == protocol, "{id} connected over {seen}, not {protocol}");
        }
        let version = propagation(&s).await?;
        runtime_nack(&s, version).await?;
        ecds_nack(&s).await?;
        control_plane_restart(&mut s).await
    }
    .await;
    if let Err(e) = &result {
        println!("FAILED: {e:#}\n--- weir-cp log (tail) ---");
        let log = s.cp.log();
        let lines: Vec<&str> = log.lines().collect();
        println!("{}", lines[lines.len().saturating_sub(60)..].join("\n"));
        println!("--- Envoy log (tail) ---\n{}", s.envoy.log_lines(80));
        if let Ok(status) = s.cp.status().await {
            println!("--- weir-cp status ---\n{status:#}");
        }
        bail!("end-to-end scenario failed: {e:#}");
    }
    Ok(())
}

/// The bridge against an unknown cluster: Envoy starts, the bridge logs why and retries with
/// backoff. A bad bridge configuration makes Envoy refuse to start, naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_unknown_cluster_and_bad_config() -> anyhow::Result<()> {
    let _serial = SERIAL.lock().await;
    weir_tests::envoy_required()?;
    let dir = tempfile::tempdir()?;
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let cp = WeirCp::start(&dir.path().join("weir-cp.json"), any, any)?;
    // Without the ECDS resource Envoy would wait out the initial fetch (15 s) before serving.
    let wasm = weir_testkit::paths::filter("shuffle-shard")?.display().to_string();
    cp.ok(&[
        "ecds",
        "set",
        "shuffle-shard",
        "--wasm",
        &wasm,
        "--vm-id",
        "shard",
        "--config",
        &ecds_config(2),
    ])?;
    let echo = EchoServer::start()?;
    let config = e2e::envoy_config(cp.xds, echo.addr())?;
    ensure!(
        config.contains(r#""cluster": "weir-cp""#),
        "the bridge's cluster in the checked-in config moved"
    );

    let unknown = config.replace(r#""cluster": "weir-cp""#, r#""cluster": "no-such-cluster""#);
    let started = Instant::now();
    let envoy = Envoy::start(&unknown).await?;
    println!("Envoy ready in {:?}", started.elapsed());
    let reconnects = poll("the bridge retries", PATIENT, Duration::from_millis(50), || async {
        let n = envoy.stat("wasmcustom.rtds_bridge.reconnects").await?.unwrap_or(0);
        Ok((n >= 2).then_some(n))
    })
    .await?;
    let log = envoy.log_lines(200);
    let line = log.lines().find(|l| l.contains("Envoy has no cluster `no-such-cluster` (ParseFailure)"));
    println!("after {reconnects} retries: {}", line.unwrap_or("(no log line)"));
    ensure!(line.is_some_and(|l| l.contains("retrying in")), "the bridge says why and retries:\n{log}");
    assert_eq!(envoy.stat("wasmcustom.rtds_bridge.connected").await?, Some(0));
    drop(envoy);

    let bad = config.replace(r#""api": "rtds""#, r#""api": "delta""#);
    let started = Instant::now();
    let Err(refused) = Envoy::start(&bad).await else { bail!("Envoy started with a bad bridge config") };
    let refused = format!("{refused:#}");
    println!("Envoy refused the bad config in {:?}", started.elapsed());
    ensure!(
        refused.contains("rtds-bridge: invalid plugin configuration") && refused.contains("delta"),
        "Envoy's log names the problem:\n{refused}"
    );
    Ok(())
}
