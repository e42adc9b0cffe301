//! The proxies under test as child processes — the `weir` binary and real Envoy — through
//! `weir-testkit`'s launcher (ready through the admin `/ready`, stopped by PID: SIGKILL, or
//! SIGTERM on request, never by name), so their memory can be read from `/proc/<pid>`.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use serde_json::Value;
use weir_testkit::bins::{self, Bin, Profile};
use weir_testkit::launch::{self, Started};
use weir_testkit::{paths, procfs};

use super::handle::Handle;

/// Which proxy a process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The `weir` binary.
    Weir,
    /// Envoy 1.40.
    Envoy,
}

/// A running proxy; killed on drop.
pub struct Proxy {
    /// Which one.
    pub kind: Kind,
    started: Started,
}

impl Proxy {
    /// Starts `weir -c <config>` with `workers` workers; `admin_port` must be the port the
    /// config's admin server uses. `cache` is the shared `--module-cache` directory.
    pub async fn weir(config: &str, admin_port: u16, workers: usize, cache: &Path) -> anyhow::Result<Proxy> {
        let binary = bins::path(Bin::Weir, Profile::Debug)?;
        let (config, cache) = (config.to_string(), cache.as_os_str().to_owned());
        let started = tokio::task::spawn_blocking(move || {
            let flags = [OsStr::new("--log-level"), OsStr::new("info"), OsStr::new("--module-cache"), &cache];
            launch::start_weir(&binary, &config, admin_port, workers, flags)
        })
        .await??;
        Ok(Proxy { kind: Kind::Weir, started })
    }

    /// Starts Envoy with `workers` workers (`--concurrency`), its own admin port and no
    /// hot-restart socket.
    pub async fn envoy(config: &str, workers: usize) -> anyhow::Result<Proxy> {
        let binary = paths::envoy_binary()?;
        let config = config.to_string();
        let flags = ["-l", "warning", "--component-log-level", "wasm:info"];
        let started =
            tokio::task::spawn_blocking(move || launch::start_envoy(&binary, &config, workers, flags))
                .await??;
        Ok(Proxy { kind: Kind::Envoy, started })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.started.child.pid()
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        self.started.child.alive()
    }

    /// Resident memory in KiB (`VmRSS`), `None` once the process is gone.
    pub fn rss_kib(&self) -> Option<u64> {
        procfs::rss_kib(self.pid())
    }

    /// The most resident memory since the last [`Proxy::reset_peak`] (or the start), in KiB
    /// (`VmHWM`).
    pub fn peak_kib(&self) -> Option<u64> {
        procfs::peak_kib(self.pid())
    }

    /// Starts the peak (`VmHWM`) again from the current resident memory; false when the
    /// kernel refused.
    pub fn reset_peak(&self) -> bool {
        procfs::reset_peak(self.pid())
    }

    /// `GET` on the admin port (2 s limit); the body as text.
    pub async fn admin_get(&self, path: &str) -> anyhow::Result<String> {
        self.handle().admin_get(path).await
    }

    /// What a scenario needs of the process while the process itself is borrowed.
    pub fn handle(&self) -> Handle {
        Handle { kind: self.kind, admin: self.started.admin, pid: self.pid() }
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
        self.started.child.terminate();
    }

    /// SIGKILL by PID, then reaps it.
    pub fn kill(&mut self) {
        self.started.child.kill();
    }

    /// The whole log (weir's stderr, or Envoy's log).
    pub fn log(&self) -> String {
        self.started.child.log()
    }

    /// Where the log is.
    pub fn log_path(&self) -> &Path {
        self.started.child.log_path()
    }

    /// Size of the log in bytes.
    pub fn log_bytes(&self) -> u64 {
        self.started.child.log_bytes()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        self.started.child.log_tail(n)
    }
}
