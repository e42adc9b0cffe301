//! The proxies under test as child processes — the `weir` binary and real Envoy — so their
//! resident memory can be read from `/proc/<pid>/status`. Readiness by polling the admin
//! `/ready`; stopped by PID (SIGKILL, or SIGTERM on request), never by name.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use super::handle::Handle;

/// Which proxy a process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The `weir` binary.
    Weir,
    /// Envoy 1.40.
    Envoy,
}

/// Builds `weir` once per test process (`cargo build -p weir-host --bin weir`), or uses
/// `WEIR_BIN`.
pub fn weir_binary() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        if let Some(path) = std::env::var_os("WEIR_BIN") {
            return Ok(PathBuf::from(path));
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .current_dir(crate::paths::workspace())
            .args(["build", "--quiet", "-p", "weir-host", "--bin", "weir"])
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !output.status.success() {
            return Err(format!("building weir failed:\n{}", String::from_utf8_lossy(&output.stderr)));
        }
        Ok(crate::paths::target_dir().join("debug").join("weir"))
    });
    built.clone().map_err(anyhow::Error::msg)
}

/// A free port on 127.0.0.1 (bound, then released) for weir's admin server.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running proxy; killed on drop.
pub struct Proxy {
    /// Which one.
    pub kind: Kind,
    child: Child,
    admin: SocketAddr,
    dir: tempfile::TempDir,
}

impl Proxy {
    /// Starts `weir -c <config>` with `workers` workers; `admin_port` must be the port the
    /// config's admin server uses. `cache` is the shared `--module-cache` directory.
    pub async fn weir(config: &str, admin_port: u16, workers: usize, cache: &Path) -> anyhow::Result<Proxy> {
        let dir = tempfile::Builder::new().prefix("weir-fault-").tempdir()?;
        let path = dir.path().join("weir.yaml");
        std::fs::write(&path, config)?;
        let log = std::fs::File::create(dir.path().join("proxy.log"))?;
        let child = Command::new(weir_binary()?)
            .arg("-c")
            .arg(&path)
            .args(["--concurrency", &workers.to_string(), "--log-level", "info", "--module-cache"])
            .arg(cache)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .context("cannot start weir")?;
        let admin = SocketAddr::from(([127, 0, 0, 1], admin_port));
        let mut proxy = Proxy { kind: Kind::Weir, child, admin, dir };
        proxy.wait_ready(None).await?;
        Ok(proxy)
    }

    /// Starts Envoy with `workers` workers (`--concurrency`), its own admin port and no
    /// hot-restart socket.
    pub async fn envoy(config: &str, workers: usize) -> anyhow::Result<Proxy> {
        let binary = crate::paths::envoy_binary()?;
        let dir = tempfile::Builder::new().prefix("envoy-fault-").tempdir()?;
        let path = dir.path().join("envoy.yaml");
        std::fs::write(&path, config)?;
        let admin_path = dir.path().join("admin-address");
        let log = std::fs::File::create(dir.path().join("proxy.log"))?;
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&path)
            .args(["--disable-hot-restart", "--concurrency", &workers.to_string()])
            .args(["-l", "warning", "--component-log-level", "wasm:info"])
            .arg("--admin-address-path")
            .arg(&admin_path)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let admin = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut proxy = Proxy { kind: Kind::Envoy, child, admin, dir };
        proxy.wait_ready(Some(&admin_path)).await?;
        Ok(proxy)
    }

    async fn wait_ready(&mut self, admin_path: Option<&Path>) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{:?} exited during start ({status}); log:\n{}", self.kind, self.log_tail(30));
            }
            if Instant::now() > deadline {
                bail!("{:?} not ready after 60s; log:\n{}", self.kind, self.log_tail(30));
            }
            if let Some(path) = admin_path
                && let Ok(text) = std::fs::read_to_string(path)
                && let Ok(addr) = text.trim().parse::<SocketAddr>()
            {
                self.admin = addr;
            }
            if self.admin.port() != 0
                && let Ok(text) = self.admin_get("/ready").await
                && text.trim() == "LIVE"
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Resident memory in KiB (`VmRSS`), `None` once the process is gone.
    pub fn rss_kib(&self) -> Option<u64> {
        self.status_kib("VmRSS:")
    }

    /// The most resident memory since the last [`Proxy::reset_peak`] (or the start), in KiB
    /// (`VmHWM`).
    pub fn peak_kib(&self) -> Option<u64> {
        self.status_kib("VmHWM:")
    }

    /// Starts the peak (`VmHWM`) again from the current resident memory (Linux's
    /// `/proc/<pid>/clear_refs`, value 5); false when the kernel refused.
    pub fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }

    fn status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// `GET` on the admin port (2 s limit); the body as text.
    pub async fn admin_get(&self, path: &str) -> anyhow::Result<String> {
        self.handle().admin_get(path).await
    }

    /// What a scenario needs of the process while the process itself is borrowed.
    pub fn handle(&self) -> Handle {
        Handle { kind: self.kind, admin: self.admin, pid: self.pid() }
    }

    /// The bound address of a listener.
    pub async fn listener(&self, name: &str) -> anyhow::Result<SocketAddr> {
        let (path, list) = match self.kind {
            Kind::Weir => ("/listeners", None),
            Kind::Envoy => ("/listeners?format=json", Some("listener_statuses")),
        };
        let json: Value = serde_json::from_str(&self.admin_get(path).await?)?;
        let entries = match list {
            Some(key) => json[key].as_array(),
            None => json.as_array(),
        }
        .context("no listener list")?;
        let entry =
            entries.iter().find(|l| l["name"] == name).with_context(|| format!("no listener {name}"))?;
        let addr = match self.kind {
            Kind::Weir => entry["address"].as_str().context("address")?.to_string(),
            Kind::Envoy => {
                let sock = &entry["local_address"]["socket_address"];
                format!("{}:{}", sock["address"].as_str().context("ip")?, sock["port_value"])
            }
        };
        Ok(addr.parse()?)
    }

    /// Sends SIGTERM to the process by PID.
    pub fn terminate(&self) {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
    }

    /// SIGKILL by PID, then reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The whole log (weir's stderr, or Envoy's log).
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.log_path()).unwrap_or_default()).into_owned()
    }

    /// Where the log is.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("proxy.log")
    }

    /// Size of the log in bytes.
    pub fn log_bytes(&self) -> u64 {
        std::fs::metadata(self.dir.path().join("proxy.log")).map_or(0, |m| m.len())
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = self.log();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.kill();
    }
}
