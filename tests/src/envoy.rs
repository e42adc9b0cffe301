//! Real Envoy for tests: started from a generated bootstrap with ephemeral ports, waited on
//! through its admin `/ready`, stopped by PID.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::client;

/// A running Envoy; killed on drop.
pub struct Envoy {
    child: Child,
    admin: SocketAddr,
    dir: tempfile::TempDir,
}

impl Envoy {
    /// Writes `config` (YAML) and starts Envoy with one worker. Waits until `/ready` says LIVE.
    pub async fn start(config: &str) -> anyhow::Result<Envoy> {
        Envoy::start_with_workers(config, 1).await
    }

    /// Like [`Envoy::start`] with `--concurrency workers`.
    pub async fn start_with_workers(config: &str, workers: usize) -> anyhow::Result<Envoy> {
        let binary = crate::paths::envoy_binary()?;
        let dir =
            tempfile::Builder::new().prefix("envoy-").tempdir_in(std::env::temp_dir()).context("temp dir")?;
        let config_path = dir.path().join("envoy.yaml");
        std::fs::write(&config_path, config)?;
        let admin_path = dir.path().join("admin-address");
        let log = std::fs::File::create(dir.path().join("envoy.log"))?;
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&config_path)
            .args(["--disable-hot-restart", "--concurrency", &workers.to_string()])
            .args(["-l", "warning", "--component-log-level", "wasm:info,config:info"])
            .arg("--admin-address-path")
            .arg(&admin_path)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut envoy = Envoy { child, admin: SocketAddr::from(([127, 0, 0, 1], 0)), dir };
        envoy.wait_ready(&admin_path).await?;
        Ok(envoy)
    }

    async fn wait_ready(&mut self, admin_path: &PathBuf) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("Envoy exited during start ({status}); log:\n{}", self.log_tail());
            }
            if Instant::now() > deadline {
                bail!("Envoy not ready after 60s; log:\n{}", self.log_tail());
            }
            if let Ok(text) = std::fs::read_to_string(admin_path)
                && let Ok(addr) = text.trim().parse::<SocketAddr>()
            {
                self.admin = addr;
                if let Ok(reply) = client::send(addr, client::get("/ready", &[])).await
                    && reply.status == 200
                    && reply.text().trim() == "LIVE"
                {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The admin address.
    pub fn admin(&self) -> SocketAddr {
        self.admin
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The bound address of a listener (configured with port 0).
    pub async fn listener(&self, name: &str) -> anyhow::Result<SocketAddr> {
        let reply = client::send(self.admin, client::get("/listeners?format=json", &[])).await?;
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
        Ok(client::send(self.admin, client::get("/stats", &[])).await?.text())
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
        let text = std::fs::read_to_string(self.dir.path().join("envoy.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The whole log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("envoy.log")).unwrap_or_default()
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
