//! The simulator at a small scale against a real weir-cp, SotW and Delta, subscribed to a
//! runtime layer or to a whole data plane (LDS, RDS, CDS, EDS + RTDS): every node connects,
//! gets every push (also while `/status` is polled), reconnects, and churned node ids leave
//! the registry after `--node-retention`. Keeps `cargo xtask fleet` working; the numbers
//! themselves are measured by `cargo xtask fleet` (`docs/fleet.md`), never asserted here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use weir_testkit::Spawn;
use weir_testkit::bins::{self, Bin, Profile};
use weir_testkit::cp::WeirCp;

fn run(protocol: &str, per_connection: &str, snapshot: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let cp_bin = bins::path(Bin::Cp, Profile::Debug).unwrap();
    let extra = ["--node-retention", "1s"];
    let cp =
        WeirCp::start_with(&cp_bin, &dir.path().join("state.json"), any, any, &extra, "warn", None).unwrap();
    let (_child, line) = Spawn::new("weir-fleet", env!("CARGO_BIN_EXE_weir-fleet"))
        .args(["--xds", &cp.xds.to_string(), "--admin", &cp.admin.to_string(), "--token-file"])
        .arg(cp.token_file())
        .args(["--cp-pid", &cp.pid().to_string(), "--nodes", "60", "--protocol", protocol])
        .args([
            "--per-connection",
            per_connection,
            "--pushes",
            "2",
            "--churn-rounds",
            "2",
            "--churn-ids",
            "20",
        ])
        .args(["--timeout", "30s", "--snapshot", snapshot, "--clusters", "5", "--endpoints", "3"])
        .start_reading_line(Duration::from_secs(120))
        .unwrap();
    serde_json::from_str(&line).unwrap()
}

fn check(report: &Value) {
    assert_eq!(
        (report["connected"].as_u64(), report["reconnected"].as_u64()),
        (Some(60), Some(60)),
        "{report:#}"
    );
    assert_eq!(report["push"]["missing"], 0, "{report:#}");
    assert_eq!(report["push_while_status_polled"]["missing"], 0, "{report:#}");
    assert!(report["push_while_status_polled"]["status_polls"].as_u64().unwrap() > 0, "{report:#}");
    assert_eq!(report["stream_errors"], 0, "{report:#}");
    assert_eq!(report["disconnect_seen"], true, "{report:#}");
    assert_eq!(report["registry_drained"], true, "{report:#}");
    assert_eq!(report["churn"].as_array().unwrap().len(), 2);
    assert!(report["cp_rss_kib"]["connected"].as_u64().unwrap() > 0);
}

#[test]
fn sotw_nodes_each_on_their_own_connection() {
    check(&run("sotw", "1", "rtds"));
}

#[test]
fn sotw_full_snapshots_each_on_their_own_connection() {
    check(&run("sotw", "1", "full"));
}

#[test]
fn delta_full_snapshots_multiplexed_on_shared_connections() {
    check(&run("delta", "7", "full"));
}

#[test]
fn delta_nodes_multiplexed_on_shared_connections() {
    check(&run("delta", "7", "rtds"));
}
