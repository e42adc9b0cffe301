//! The processes of a benchmark, through `weir-testkit`'s child type: the echo upstream and
//! Envoy or weir for a scenario, pinned to the placement's CPUs, each stopped by PID when
//! dropped.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use weir_testkit::{Child, http, launch};

use super::config::{self, Backends, Ports};
use super::scenario::Scenario;
use super::{Ctx, Placement};

/// A proxy started for a scenario; stopped when dropped.
pub(crate) struct Proxy {
    pub(crate) name: &'static str,
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

impl Proxy {
    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.pid()
    }
}

/// The two proxies under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Envoy,
    Weir,
}

/// Starts the echo upstream on the load's CPUs; returns it and its address.
pub(crate) fn start_upstream(ctx: &Ctx, placement: &Placement) -> anyhow::Result<(Child, SocketAddr)> {
    launch::start_echo(launch::echo(&ctx.echo, placement.load.as_deref()))
}

/// Starts Envoy or weir for a scenario (with `env` set), logging to `dir`; returns it once
/// `/ready` says LIVE.
pub(crate) fn start_proxy(
    kind: Kind,
    ctx: &Ctx,
    placement: &Placement,
    s: &Scenario,
    backends: Backends,
    dir: &Path,
    env: &[(&str, &str)],
) -> anyhow::Result<Proxy> {
    let name = match kind {
        Kind::Envoy => "envoy",
        Kind::Weir => "weir",
    };
    let path = dir.join(format!("{name}.yaml"));
    let log = dir.join(format!("{name}.log"));
    let cpus = placement.proxy.as_deref();
    // A port found free can be taken (as a client's source port) before the proxy binds it:
    // then start again on other ports.
    let mut attempt = 1;
    loop {
        let ports = Ports { listener: http::free_port()?, admin: http::free_port()? };
        let (yaml, spawn) = match kind {
            Kind::Envoy => (
                config::envoy(s, ports, backends, &ctx.filters, ctx.tls.as_ref().map(|t| &t.server))?,
                launch::envoy(&ctx.envoy, &path, placement.workers, cpus).args(["-l", "warn"]),
            ),
            Kind::Weir => (
                config::weir(s, ports, backends, &ctx.filters, ctx.tls.as_ref().map(|t| &t.server))?,
                launch::weir(&ctx.weir, &path, placement.workers, cpus).args(["--log-level", "warn"]),
            ),
        };
        std::fs::write(&path, yaml)?;
        let spawn = env.iter().fold(spawn.log(&log), |spawn, (k, v)| spawn.env(k, v));
        let mut child = spawn.start()?;
        match child.wait_ready(local(ports.admin), Duration::from_secs(120)) {
            Ok(()) => return Ok(Proxy { name, child, addr: local(ports.listener) }),
            Err(e) if attempt < 3 && format!("{e:#}").contains("Address already in use") => {
                eprintln!("    {name}: a port was taken before it could bind; starting again");
                attempt += 1;
            }
            Err(e) => return Err(e.context(name)),
        }
    }
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
