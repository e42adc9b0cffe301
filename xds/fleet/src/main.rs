//! `weir-fleet`: simulates a fleet of proxies against a running weir-cp and prints one JSON
//! line of measurements. `cargo xtask fleet` starts weir-cp, runs this, and tabulates the
//! results (`docs/fleet.md`).
//!
//! Phases: connect all N nodes (each an ADS stream, SotW or Delta, one HTTP/2 connection per
//! node unless `--per-connection` multiplexes, subscribed to one RTDS layer or, with
//! `--snapshot full`, to a whole data plane: see `snapshot`), push runtime values (or, with
//! `full`, one cluster's endpoints) through the admin API and time each until every node has
//! it, the same
//! while another client polls `/status`, drop every connection and reconnect them all, then
//! disconnect and churn rounds of new node ids, reading weir-cp's registry size after each,
//! and finally wait for the registry to forget every node (weir-cp's `--node-retention`).

mod cp;
mod fleet;
mod snapshot;
mod stream;
mod tracker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;
use serde_json::{Value, json};

use crate::cp::Cp;
use crate::fleet::Plan;
use crate::snapshot::{Mode, Shape};
use crate::stream::Protocol;
use crate::tracker::{Tracker, quantile};

/// The command line.
#[derive(Debug, Clone, Parser)]
#[command(name = "weir-fleet", about = "Simulate N proxies against weir-cp and measure it")]
struct Args {
    /// weir-cp's xDS address.
    #[arg(long)]
    xds: SocketAddr,
    /// weir-cp's admin address.
    #[arg(long)]
    admin: SocketAddr,
    /// weir-cp's admin token file.
    #[arg(long)]
    token_file: PathBuf,
    /// weir-cp's PID, for its memory and CPU (`/proc`).
    #[arg(long)]
    cp_pid: Option<u32>,
    /// Simulated nodes.
    #[arg(long, default_value_t = 1000)]
    nodes: usize,
    /// ADS variant.
    #[arg(long, value_enum, default_value_t = Protocol::Sotw)]
    protocol: Protocol,
    /// Streams per HTTP/2 connection (1: one connection per node).
    #[arg(long, default_value_t = 1)]
    per_connection: usize,
    /// Connections opened at once.
    #[arg(long, default_value_t = 4096)]
    connect_concurrency: usize,
    /// The RTDS layer.
    #[arg(long, default_value = "rtds")]
    layer: String,
    /// What the nodes subscribe to and what a push changes.
    #[arg(long, value_enum, default_value_t = Mode::Rtds)]
    snapshot: Mode,
    /// `full`: EDS clusters.
    #[arg(long, default_value_t = 20)]
    clusters: usize,
    /// `full`: endpoints per cluster.
    #[arg(long, default_value_t = 10)]
    endpoints: usize,
    /// Runtime pushes measured (and as many again while `/status` is polled).
    #[arg(long, default_value_t = 5)]
    pushes: u64,
    /// Rounds of new node ids after the main phases.
    #[arg(long, default_value_t = 0)]
    churn_rounds: usize,
    /// New node ids per churn round.
    #[arg(long, default_value_t = 2000)]
    churn_ids: usize,
    /// How long any phase may take.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("weir-fleet: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(report) => {
            println!("{report}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("weir-fleet: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn ms(x: f64) -> Value {
    json!((x * 10.0).round() / 10.0)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

/// Pushes `count` markers after `base`, each once every node has the one before; returns the
/// pooled per-node latencies, the slowest admin call, and nodes that missed a push.
async fn pushes(
    args: &Args,
    cp: &Cp,
    tracker: &Tracker,
    base: u64,
    count: u64,
) -> anyhow::Result<(Vec<f64>, f64, usize, f64)> {
    let (mut all, mut slowest_put, mut missing) = (Vec::new(), 0.0f64, 0);
    let cpu_before = cp.cpu_seconds();
    for m in base + 1..=base + count {
        let since = tracker.now();
        let (cp2, layer, mode, shape) = (cp.clone(), args.layer.clone(), args.snapshot, shape(args));
        blocking(move || match mode {
            Mode::Rtds => cp2.push(&layer, m),
            Mode::Full => cp2.apply(&serde_json::json!({"endpoints": snapshot::endpoints(shape, m)})),
        })
        .await?;
        slowest_put = slowest_put.max((tracker.now() - since) as f64 / 1e6);
        let got = tracker.wait(args.nodes, args.timeout, || tracker.count_pushed(0..args.nodes, m)).await;
        missing += args.nodes - got;
        all.extend(tracker.push_latencies_ms(0..args.nodes, m, since));
    }
    let cpu_us_per_node_push = match (cpu_before, cp.cpu_seconds()) {
        (Some(a), Some(b)) => (b - a) * 1e6 / (args.nodes as f64 * count as f64),
        _ => 0.0,
    };
    Ok((all, slowest_put, missing, cpu_us_per_node_push))
}

/// weir-cp's CPU time between two readings, in ms (null when not measured).
fn cpu_ms(before: Option<f64>, after: Option<f64>) -> Value {
    match (before, after) {
        (Some(a), Some(b)) => ms((b - a) * 1e3),
        _ => Value::Null,
    }
}

fn shape(args: &Args) -> Shape {
    Shape { clusters: args.clusters, endpoints: args.endpoints }
}

fn summary(mut latencies: Vec<f64>, put_ms: f64, missing: usize) -> Value {
    json!({
        "p50_ms": ms(quantile(&mut latencies, 0.5)),
        "p99_ms": ms(quantile(&mut latencies, 0.99)),
        "max_ms": ms(quantile(&mut latencies, 1.0)),
        "admin_put_max_ms": ms(put_ms),
        "missing": missing,
    })
}

async fn run(args: Args) -> anyhow::Result<Value> {
    let cp = Cp::new(args.admin, &args.token_file, args.cp_pid)?;
    let slots = args.nodes + args.churn_rounds * args.churn_ids;
    let tracker = Arc::new(Tracker::new(slots));
    let plan = Plan {
        xds: args.xds,
        protocol: args.protocol,
        per_connection: args.per_connection,
        connect_concurrency: args.connect_concurrency,
        subscriptions: snapshot::subscriptions(args.snapshot, &args.layer, shape(&args)).into(),
        prefix: "fleet".into(),
    };
    if args.snapshot == Mode::Full {
        if args.clusters == 0 || args.endpoints == 0 || args.clusters > 1000 || args.endpoints > 62_000 {
            anyhow::bail!("--clusters must be 1..=1000 and --endpoints 1..=62000");
        }
        cp.apply(&snapshot::resources(shape(&args), 0))?;
    }
    let n = args.nodes;
    let rss_idle = cp.rss_kib();

    // Connect all (and how much of it was weir-cp's CPU: the simulator shares the machine).
    let since = tracker.now();
    let cpu_before = cp.cpu_seconds();
    let fleet = fleet::connect(&plan, 0..n, 1, &tracker).await?;
    let ready = tracker.wait(n, args.timeout, || tracker.count_ready(0..n, 1)).await;
    let connect_ms = tracker.last_ready_ms(0..n, since);
    let connect_cpu_ms = cpu_ms(cpu_before, cp.cpu_seconds());
    let rss_connected = cp.rss_kib();

    // Pushes, then pushes while /status is polled.
    let base = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64 * 1000;
    let (lat, put, missing, cpu) = pushes(&args, &cp, &tracker, base, args.pushes).await?;
    let quiet = summary(lat, put, missing);
    let polling = Arc::new(AtomicBool::new(true));
    let (poller_cp, poller_flag) = (cp.clone(), polling.clone());
    let poller = std::thread::spawn(move || {
        let mut polls = 0u64;
        while poller_flag.load(Ordering::Relaxed) {
            if poller_cp.status().is_ok() {
                polls += 1;
            }
        }
        polls
    });
    let (lat, put, missing, _) = pushes(&args, &cp, &tracker, base + args.pushes, args.pushes).await?;
    polling.store(false, Ordering::Relaxed);
    let polls = poller.join().unwrap_or(0);
    let mut polled = summary(lat, put, missing);
    polled["status_polls"] = json!(polls);

    // Mass reconnect: every connection dropped at once, then all opened again.
    fleet.disconnect().await;
    let since = tracker.now();
    let cpu_before = cp.cpu_seconds();
    let fleet = fleet::connect(&plan, 0..n, 2, &tracker).await?;
    let reready = tracker.wait(n, args.timeout, || tracker.count_ready(0..n, 2)).await;
    let reconnect_ms = tracker.last_ready_ms(0..n, since);
    let reconnect_cpu_ms = cpu_ms(cpu_before, cp.cpu_seconds());

    // Disconnect; memory after weir-cp saw every stream end.
    fleet.disconnect().await;
    let cp2 = cp.clone();
    let gone = tracker
        .wait(1, args.timeout, || usize::from(cp2.metric("weir_cp_connected_nodes").is_ok_and(|v| v == 0.0)))
        .await;
    let rss_disconnected = cp.rss_kib();

    // Churn: rounds of new ids, each connected, ACKed and dropped.
    let mut churn = Vec::new();
    for round in 0..args.churn_rounds {
        let start = n + round * args.churn_ids;
        let ids = start..start + args.churn_ids;
        let plan = Plan { prefix: format!("churn{round}"), ..plan.clone() };
        let fleet = fleet::connect(&plan, ids.clone(), 3, &tracker).await?;
        tracker.wait(args.churn_ids, args.timeout, || tracker.count_ready(ids.clone(), 3)).await;
        fleet.disconnect().await;
        churn.push(json!({"round": round + 1, "registry_nodes": cp.metric("weir_cp_registry_nodes").ok()}));
    }

    // Every node is gone: after the retention, the registry must hold none of them.
    let since = tracker.now();
    let drained = tracker
        .wait(1, args.timeout, || usize::from(cp.metric("weir_cp_registry_nodes").is_ok_and(|v| v == 0.0)))
        .await
        == 1;
    let drain_ms = (tracker.now() - since) as f64 / 1e6;
    let rss_drained = cp.rss_kib();

    let per_node = |after: Option<u64>| match (rss_idle, after) {
        (Some(a), Some(b)) => json!((b as f64 - a as f64) / n as f64),
        _ => Value::Null,
    };
    Ok(json!({
        "nodes": n,
        "protocol": format!("{:?}", args.protocol).to_lowercase(),
        "snapshot": match args.snapshot {
            Mode::Rtds => json!("rtds"),
            Mode::Full => json!({"clusters": args.clusters, "endpoints_per_cluster": args.endpoints}),
        },
        "per_connection": args.per_connection,
        "connect_all_ms": ms(connect_ms),
        "cp_cpu_ms_during_connect": connect_cpu_ms,
        "connected": ready,
        "push": quiet,
        "push_while_status_polled": polled,
        "cp_cpu_us_per_node_push": ms(cpu),
        "reconnect_all_ms": ms(reconnect_ms),
        "cp_cpu_ms_during_reconnect": reconnect_cpu_ms,
        "reconnected": reready,
        "disconnect_seen": gone == 1,
        "cp_rss_kib": {"idle": rss_idle, "connected": rss_connected, "disconnected": rss_disconnected, "drained": rss_drained},
        "cp_rss_kib_per_node": {
            "connected": per_node(rss_connected),
            "after_disconnect": per_node(rss_disconnected),
            "after_drain": per_node(rss_drained),
        },
        "stream_errors": tracker.errors.load(Ordering::Relaxed),
        "churn": churn,
        "registry_drained": drained,
        "registry_drained_after_ms": ms(drain_ms),
    }))
}
