//! Running the commands xtask drives (cargo, pip, npm, rustup, wrk's installer): their output
//! shown, a failure named. Paths, the project's binaries and child processes come from
//! `weir-testkit`, shared with the test suites.

use std::process::Command;

use anyhow::{Context, bail};

/// Runs a command with its output shown, failing with its name if it fails.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("cannot run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// Makes sure `program` runs (`probe` returns its version line, or `None`); when it does not
/// and we are root on Debian, installs `package` with apt-get, else fails with the command to
/// run.
pub fn ensure_apt(program: &str, package: &str, probe: fn() -> Option<String>) -> anyhow::Result<String> {
    if let Some(v) = probe() {
        return Ok(v);
    }
    let install = format!("apt-get update && apt-get install -y {package}");
    let root =
        Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root && Command::new("apt-get").arg("--version").output().is_ok() {
        println!("==> installing {program}: {install}");
        run(Command::new("sh").arg("-c").arg(format!("{install} >/dev/null")))?;
        if let Some(v) = probe() {
            return Ok(v);
        }
    }
    bail!("{program} is missing; install it with: {install}")
}

/// Makes sure Debian's `redis-server` is installed (for weir-rls's suites and the global
/// rate limit benchmarks); returns `Redis 7.0.15`.
pub fn ensure_redis() -> anyhow::Result<String> {
    ensure_apt("redis-server", "redis-server", redis_version)
}

/// `Redis 7.0.15`, from `redis-server --version` (`Redis server v=7.0.15 ...`).
fn redis_version() -> Option<String> {
    let out = Command::new("redis-server").arg("--version").output().ok().filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().find(|w| w.starts_with("v="))?;
    Some(format!("Redis {}", version.trim_start_matches("v=")))
}

/// Makes sure Debian's `docker-registry` (the distribution registry) is installed, for the
/// OCI module suite; returns `docker-registry 2.8.2`.
pub fn ensure_registry() -> anyhow::Result<String> {
    ensure_apt("docker-registry", "docker-registry", registry_version)
}

/// `docker-registry 2.8.2+ds1`, from `docker-registry --version`.
fn registry_version() -> Option<String> {
    let out =
        Command::new("docker-registry").arg("--version").output().ok().filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().last().map(|v| format!("docker-registry {v}"))
}
