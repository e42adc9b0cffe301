//! The rate limit service of the global scenarios: a real Redis (`redis-server`, installed
//! like wrk) and `weir-rls` (release) serving [`super::scenario::RLS_LIMITS`], both on the load's
//! CPUs so that the proxy's CPUs measure the proxy alone. Stopped by PID when dropped.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use weir_testkit::Child;
use weir_testkit::child::Spawn;
use weir_testkit::redis::Redis;

use super::scenario::RLS_LIMITS;
use super::{Ctx, Placement};

/// A running service.
pub(crate) struct Rls {
    /// Stopped first: it holds connections to Redis.
    _service: Child,
    _redis: Redis,
    /// The gRPC address.
    pub(crate) addr: SocketAddr,
}

/// Starts Redis and weir-rls in `dir`.
pub(crate) fn start(ctx: &Ctx, placement: &Placement, dir: &std::path::Path) -> anyhow::Result<Rls> {
    let redis = Redis::start()?;
    if let (Some(cpus), Some(pid)) = (placement.load.as_deref(), redis.pid()) {
        let status = Command::new("taskset").args(["-a", "-p", "-c", cpus, &pid.to_string()]).output()?;
        if !status.status.success() {
            bail!("taskset {cpus} for redis-server: {}", String::from_utf8_lossy(&status.stderr));
        }
    }
    let limits = dir.join("limits.yaml");
    std::fs::write(&limits, RLS_LIMITS)?;
    let (service, line) = Spawn::pinned("weir-rls", &ctx.rls, placement.load.as_deref())
        .arg("--config")
        .arg(&limits)
        .args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--redis"])
        .arg(redis.url())
        .log(dir.join("weir-rls.log"))
        .start_reading_line(Duration::from_secs(30))?;
    let addresses: Value =
        serde_json::from_str(&line).with_context(|| format!("weir-rls printed {line:?}"))?;
    let addr = addresses["grpc"].as_str().context("weir-rls printed no grpc address")?.parse()?;
    Ok(Rls { _service: service, _redis: redis, addr })
}
