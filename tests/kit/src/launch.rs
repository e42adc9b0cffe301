//! The processes the suites, the demo and the benchmark start, as [`Spawn`]s with the flags
//! every caller passes (callers add their own: log levels, module cache, …): Envoy, `weir`,
//! and the echo upstream; and Envoy or `weir` started on a config text in a temporary
//! directory, ready ([`start_envoy`], [`start_weir`]). `weir-cp` has its own type,
//! [`crate::cp::WeirCp`].

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::child::{Child, Spawn};

/// Envoy on `config` with `workers` workers and no hot-restart socket, pinned to `cpus` when
/// given.
pub fn envoy(binary: &Path, config: &Path, workers: usize, cpus: Option<&str>) -> Spawn {
    Spawn::pinned("envoy", binary, cpus).arg("-c").arg(config).args([
        "--disable-hot-restart",
        "--concurrency",
        &workers.to_string(),
    ])
}

/// `weir` on `config` with `workers` workers, pinned to `cpus` when given.
pub fn weir(binary: &Path, config: &Path, workers: usize, cpus: Option<&str>) -> Spawn {
    Spawn::pinned("weir", binary, cpus).arg("-c").arg(config).args(["--concurrency", &workers.to_string()])
}

/// The echo upstream as a process (`weir-echo`), known as `upstream`, pinned to `cpus` when
/// given; [`start_echo`] starts it.
pub fn echo(binary: &Path, cpus: Option<&str>) -> Spawn {
    Spawn::pinned("upstream", binary, cpus)
}

/// Starts `weir-echo` and reads the address of its `listening on <addr>` line.
pub fn start_echo(spawn: Spawn) -> anyhow::Result<(Child, SocketAddr)> {
    let (child, line) = spawn.start_reading_line(Duration::from_secs(30))?;
    let addr = line
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .with_context(|| format!("unexpected upstream output {line:?}"))?;
    Ok((child, addr))
}

/// A proxy running on a config written into a temporary directory of its own, which holds
/// its log (`proxy.log`) too and is removed once the process is stopped.
#[derive(Debug)]
pub struct Started {
    /// The process.
    pub child: Child,
    /// Its admin address.
    pub admin: SocketAddr,
    /// The directory (dropped after `child`).
    pub dir: tempfile::TempDir,
}

/// How long a proxy may take to become ready.
const READY: Duration = Duration::from_secs(60);

/// Writes `config` into `dir` as `file`, returning its path.
fn write_config(dir: &tempfile::TempDir, file: &str, config: &str) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.path().join(file);
    std::fs::write(&path, config).with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}

/// Envoy on `config` (ports 0: ephemeral) with `workers` workers and `flags` (log levels, …),
/// its admin address read from `--admin-address-path`; returns once `/ready` says LIVE.
pub fn start_envoy<S: AsRef<OsStr>>(
    binary: &Path,
    config: &str,
    workers: usize,
    flags: impl IntoIterator<Item = S>,
) -> anyhow::Result<Started> {
    let dir = tempfile::Builder::new().prefix("envoy-").tempdir()?;
    let path = write_config(&dir, "envoy.yaml", config)?;
    let admin_file = dir.path().join("admin-address");
    let mut child = envoy(binary, &path, workers, None)
        .args(flags)
        .arg("--admin-address-path")
        .arg(&admin_file)
        .log(dir.path().join("proxy.log"))
        .start()?;
    let admin = child.wait_ready_file(&admin_file, READY)?;
    Ok(Started { child, admin, dir })
}

/// `weir` on `config`, whose admin server is on 127.0.0.1:`admin_port`, with `workers`
/// workers and `flags`; returns once `/ready` says LIVE.
pub fn start_weir<S: AsRef<OsStr>>(
    binary: &Path,
    config: &str,
    admin_port: u16,
    workers: usize,
    flags: impl IntoIterator<Item = S>,
) -> anyhow::Result<Started> {
    let dir = tempfile::Builder::new().prefix("weir-").tempdir()?;
    let path = write_config(&dir, "weir.yaml", config)?;
    let mut child =
        weir(binary, &path, workers, None).args(flags).log(dir.path().join("proxy.log")).start()?;
    let admin = SocketAddr::from(([127, 0, 0, 1], admin_port));
    child.wait_ready(admin, READY)?;
    Ok(Started { child, admin, dir })
}
