//! Real Envoy for the suites: started from a generated bootstrap with ephemeral ports
//! (`weir-testkit`'s launcher: its own temporary directory, ready through its admin `/ready`,
//! stopped by PID), and what its admin API tells.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use weir_testkit::launch::{self, Started};
use weir_testkit::paths;

use crate::client;

/// Envoy's log levels in the suites: guest logs at info, as weir runs them.
const LOG_LEVELS: [&str; 4] = ["-l", "warning", "--component-log-level", "wasm:info,config:info"];

/// A running Envoy; killed on drop.
pub struct Envoy {
    started: Started,
}

impl Envoy {
    /// Starts Envoy on `config` (YAML) with one worker; returns once `/ready` says LIVE.
    pub async fn start(config: &str) -> anyhow::Result<Envoy> {
        Envoy::start_with_workers(config, 1).await
    }

    /// Like [`Envoy::start`] with `--concurrency workers`.
    pub async fn start_with_workers(config: &str, workers: usize) -> anyhow::Result<Envoy> {
        Envoy::start_with_args(config, workers, &[]).await
    }

    /// Like [`Envoy::start_with_workers`] with more command-line arguments.
    pub async fn start_with_args(config: &str, workers: usize, args: &[&str]) -> anyhow::Result<Envoy> {
        let binary = paths::envoy_binary()?;
        let config = config.to_string();
        let flags: Vec<String> = LOG_LEVELS.iter().chain(args).map(ToString::to_string).collect();
        let started =
            tokio::task::spawn_blocking(move || launch::start_envoy(&binary, &config, workers, flags))
                .await??;
        Ok(Envoy { started })
    }

    /// The admin address.
    pub fn admin(&self) -> SocketAddr {
        self.started.admin
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.started.child.pid()
    }

    /// The bound address of a listener (configured with port 0).
    pub async fn listener(&self, name: &str) -> anyhow::Result<SocketAddr> {
        let reply = client::send(self.admin(), client::get("/listeners?format=json", &[])).await?;
        let json: serde_json::Value = serde_json::from_slice(&reply.body)?;
        let statuses = json["listener_statuses"].as_array().context("no listener_statuses")?;
        for status in statuses {
            if status["name"] == name {
                let sock = &status["local_address"]["socket_address"];
                let ip = sock["address"].as_str().context("address")?;
                let port = sock["port_value"].as_u64().context("port")?;
                return Ok(format!("{ip}:{port}").parse()?);
            }
        }
        bail!("Envoy has no listener `{name}`")
    }

    /// `GET /stats` text.
    pub async fn stats(&self) -> anyhow::Result<String> {
        Ok(client::send(self.admin(), client::get("/stats", &[])).await?.text())
    }

    /// A stat from `/stats` (e.g. `wasmcustom.rtds_bridge.connected`), if present.
    pub async fn stat(&self, name: &str) -> anyhow::Result<Option<u64>> {
        let text = self.stats().await?;
        let prefix = format!("{name}: ");
        Ok(text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok()))
    }

    /// Downstream connections accepted by each worker on the (non-admin) listeners
    /// (`listener.<address>.worker_<n>.downstream_cx_total`, summed per worker), in worker order.
    pub async fn worker_connections(&self) -> anyhow::Result<Vec<u64>> {
        let text = self.stats().await?;
        let mut per_worker = std::collections::BTreeMap::<u32, u64>::new();
        for line in text.lines() {
            let Some((name, value)) = line.split_once(": ") else { continue };
            let Some(rest) =
                name.strip_prefix("listener.").and_then(|r| r.strip_suffix(".downstream_cx_total"))
            else {
                continue;
            };
            let Some((address, worker)) = rest.rsplit_once(".worker_") else { continue };
            if address == "admin" {
                continue;
            }
            if let (Ok(worker), Ok(value)) = (worker.parse::<u32>(), value.trim().parse::<u64>()) {
                *per_worker.entry(worker).or_default() += value;
            }
        }
        Ok(per_worker.into_values().collect())
    }

    /// The last 40 lines of Envoy's log.
    pub fn log_tail(&self) -> String {
        self.log_lines(40)
    }

    /// The last `lines` lines of Envoy's log.
    pub fn log_lines(&self, lines: usize) -> String {
        self.started.child.log_tail(lines)
    }

    /// The whole log.
    pub fn log(&self) -> String {
        self.started.child.log()
    }
}
