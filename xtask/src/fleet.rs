//! `cargo xtask fleet`: weir-cp under a simulated fleet. Builds release `weir-cp` and
//! `weir-fleet`, and for each node count and protocol starts a fresh weir-cp (pinned to CPU
//! 0 when there are two or more), runs the simulator (on the other CPUs), and prints one table
//! row; the JSON of every run goes to `target/fleet/`. Not part of CI (`docs/fleet.md`).

use std::net::SocketAddr;

use anyhow::Context;
use serde_json::Value;
use weir_testkit::Spawn;
use weir_testkit::bins::{self, Bin, Profile};
use weir_testkit::cp::WeirCp;
use weir_testkit::paths;

/// `cargo xtask fleet` options.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Node counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1000usize, 10000])]
    nodes: Vec<usize>,
    /// Protocols, comma-separated (`sotw`, `delta`).
    #[arg(long, value_delimiter = ',', default_values_t = ["sotw".to_string(), "delta".to_string()])]
    protocol: Vec<String>,
    /// Streams per HTTP/2 connection; 0 picks 1 (a connection per node, as proxies connect)
    /// unless the nodes would need more file descriptors than `MAX_CONNECTIONS`.
    #[arg(long, default_value_t = 0)]
    per_connection: usize,
    /// Pushes measured per phase.
    #[arg(long, default_value_t = 5)]
    pushes: u64,
    /// Churn rounds (new node ids) after the main phases.
    #[arg(long, default_value_t = 5)]
    churn_rounds: usize,
    /// New ids per churn round.
    #[arg(long, default_value_t = 2000)]
    churn_ids: usize,
    /// weir-cp's `--node-retention` during the run.
    #[arg(long, default_value = "5s")]
    node_retention: String,
    /// What the nodes hold: `rtds` (one runtime layer, pushed) or `full` (LDS, RDS, CDS, EDS
    /// and the runtime layer on one stream; a push changes one cluster's endpoints).
    #[arg(long, default_value = "rtds")]
    snapshot: String,
    /// `--snapshot full`: EDS clusters, and endpoints per cluster.
    #[arg(long, default_value_t = 20)]
    clusters: usize,
    /// `--snapshot full`: endpoints per cluster.
    #[arg(long, default_value_t = 10)]
    endpoints: usize,
    /// Reuse the release binaries as they are.
    #[arg(long)]
    no_build: bool,
}

/// The most connections one run opens (each side holds one descriptor per connection; the
/// soft limit here is 20,000 per process).
const MAX_CONNECTIONS: usize = 10_000;

/// Runs the fleet measurements.
pub fn run(options: Options) -> anyhow::Result<()> {
    if !options.no_build {
        println!("==> building release weir-cp and weir-fleet");
        bins::build(Profile::Release, &[Bin::Cp, Bin::Fleet])?;
    }
    let (cp_bin, fleet_bin) =
        (bins::existing(Bin::Cp, Profile::Release), bins::existing(Bin::Fleet, Profile::Release));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (cp_cpus, fleet_cpus) =
        if cores >= 2 { (Some("0".to_string()), Some(format!("1-{}", cores - 1))) } else { (None, None) };
    let out_dir = paths::target_dir().join("fleet");
    std::fs::create_dir_all(&out_dir)?;
    let mut rows = Vec::new();
    for &nodes in &options.nodes {
        for protocol in &options.protocol {
            let per_connection = match options.per_connection {
                0 => nodes.div_ceil(MAX_CONNECTIONS).max(1),
                k => k,
            };
            println!("==> {nodes} nodes, {protocol}, {per_connection} stream(s) per connection");
            let dir = tempfile::Builder::new().prefix("weir-fleet-").tempdir()?;
            let any = SocketAddr::from(([127, 0, 0, 1], 0));
            let extra = ["--node-retention", options.node_retention.as_str(), "--max-nodes", "200000"];
            let cp = WeirCp::start_with(
                &cp_bin,
                &dir.path().join("state.json"),
                any,
                any,
                &extra,
                "warn",
                cp_cpus.as_deref(),
            )?;
            let (child, line) = Spawn::pinned("weir-fleet", &fleet_bin, fleet_cpus.as_deref())
                .args(["--xds", &cp.xds.to_string(), "--admin", &cp.admin.to_string(), "--token-file"])
                .arg(cp.token_file())
                .args([
                    "--cp-pid",
                    &cp.pid().to_string(),
                    "--nodes",
                    &nodes.to_string(),
                    "--protocol",
                    protocol,
                ])
                .args([
                    "--per-connection",
                    &per_connection.to_string(),
                    "--pushes",
                    &options.pushes.to_string(),
                ])
                .args(["--snapshot", &options.snapshot, "--clusters", &options.clusters.to_string()])
                .args(["--endpoints", &options.endpoints.to_string()])
                .args([
                    "--churn-rounds",
                    &options.churn_rounds.to_string(),
                    "--churn-ids",
                    &options.churn_ids.to_string(),
                ])
                .start_reading_line(std::time::Duration::from_secs(1800))?;
            drop(child);
            let report: Value =
                serde_json::from_str(&line).with_context(|| format!("weir-fleet printed {line:?}"))?;
            std::fs::write(
                out_dir.join(format!("{nodes}-{protocol}-{}.json", options.snapshot)),
                format!("{report:#}\n"),
            )?;
            println!("{}", row(&report));
            rows.push(report);
        }
    }
    println!("\n{}", HEADER);
    for report in &rows {
        println!("{}", row(report));
    }
    println!("\nJSON: {}", out_dir.display());
    Ok(())
}

const HEADER: &str = "| nodes | protocol | snapshot | streams/conn | connect all | push p50 / p99 / max | push p99, /status polled | reconnect all | cp CPU per node-push | cp RSS per node: connected / disconnected / drained | registry after churn rounds | missing |\n|--:|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|";

fn row(r: &Value) -> String {
    let num = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.0}"));
    let kib = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.1} KiB"));
    let churn: Vec<String> =
        r["churn"].as_array().into_iter().flatten().map(|c| num(&c["registry_nodes"])).collect();
    let missing = r["push"]["missing"].as_u64().unwrap_or(0)
        + r["push_while_status_polled"]["missing"].as_u64().unwrap_or(0)
        + (r["nodes"].as_u64().unwrap_or(0) * 2)
            .saturating_sub(r["connected"].as_u64().unwrap_or(0) + r["reconnected"].as_u64().unwrap_or(0));
    format!(
        "| {} | {} | {} | {} | {} ms | {} / {} / {} ms | {} ms | {} ms | {} µs | {} / {} / {} | {} | {} |",
        r["nodes"],
        r["protocol"].as_str().unwrap_or("?"),
        match &r["snapshot"] {
            Value::Object(full) => format!("full ({} × {})", full["clusters"], full["endpoints_per_cluster"]),
            other => other.as_str().unwrap_or("rtds").to_string(),
        },
        r["per_connection"],
        r["connect_all_ms"],
        r["push"]["p50_ms"],
        r["push"]["p99_ms"],
        r["push"]["max_ms"],
        r["push_while_status_polled"]["p99_ms"],
        r["reconnect_all_ms"],
        r["cp_cpu_us_per_node_push"],
        kib(&r["cp_rss_kib_per_node"]["connected"]),
        kib(&r["cp_rss_kib_per_node"]["after_disconnect"]),
        kib(&r["cp_rss_kib_per_node"]["after_drain"]),
        if churn.is_empty() { "-".to_string() } else { churn.join(", ") },
        missing,
    )
}
