//! What every fault scenario shares: the fixtures (echo upstream, module cache), the bounded
//! load plan, running one proxy through it, and the checks that must hold for weir afterwards.

use std::net::SocketAddr;
use std::time::Duration;

use super::config::Layout;
use super::load::{self, Load, Tally};
use super::process::Proxy;
use super::report::Observed;
use crate::echo::EchoServer;

/// Shared by every scenario.
pub struct Env {
    /// The healthy upstream.
    pub echo: EchoServer,
    /// `--module-cache` of every weir run, so only the first compiles the modules.
    pub cache: tempfile::TempDir,
    /// weir's workers (`--concurrency`).
    pub workers: usize,
}

impl Env {
    /// Starts the echo upstream.
    pub fn start(workers: usize) -> anyhow::Result<Env> {
        Ok(Env { echo: EchoServer::start()?, cache: tempfile::tempdir()?, workers })
    }

    /// The echo upstream's address.
    pub fn echo(&self) -> SocketAddr {
        self.echo.addr()
    }

    /// Starts weir on `layout`.
    pub async fn weir(&self, layout: &Layout) -> anyhow::Result<Proxy> {
        let port = weir_testkit::http::free_port()?;
        Proxy::weir(&layout.weir(port)?, port, self.workers, self.cache.path()).await
    }
}

/// The bounded load of a scenario, the same on both sides and for both proxies.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Requests per side.
    pub requests: usize,
    /// Concurrent clients per side.
    pub clients: usize,
    /// Deadline of each request.
    pub timeout: Duration,
    /// Pause of each client between its requests.
    pub pace: Duration,
    /// No request starts after this long.
    pub budget: Option<Duration>,
}

impl Plan {
    /// 200 requests per side from 4 clients, 5 s each.
    pub const DEFAULT: Plan = Plan {
        requests: 200,
        clients: 4,
        timeout: Duration::from_secs(5),
        pace: Duration::ZERO,
        budget: None,
    };

    /// `requests` from `clients` clients, 5 s each.
    pub const fn of(requests: usize, clients: usize) -> Plan {
        Plan { requests, clients, ..Plan::DEFAULT }
    }

    /// This plan against one address.
    pub fn load(&self, addr: SocketAddr) -> Load {
        let mut load = Load::new(addr, self.requests, self.clients, self.timeout);
        load.pace = self.pace;
        load.budget = self.budget;
        load
    }
}

/// Memory read before and after `work`, which runs against the proxy's `faulty` and `healthy`
/// listeners; `did` is left for the scenario to fill in.
pub async fn measure<F, Fut>(proxy: &mut Proxy, work: F) -> anyhow::Result<Observed>
where
    F: FnOnce(SocketAddr, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = (Tally, Tally)>,
{
    let (observed, ()) = measure_with(proxy, |f, h| async move {
        let (faulty, healthy) = work(f, h).await;
        (faulty, healthy, ())
    })
    .await?;
    Ok(observed)
}

/// [`measure`] for work that also finds something else (`T`).
pub async fn measure_with<F, Fut, T>(proxy: &mut Proxy, work: F) -> anyhow::Result<(Observed, T)>
where
    F: FnOnce(SocketAddr, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = (Tally, Tally, T)>,
{
    let faulty = proxy.listener("faulty").await?;
    let healthy = proxy.listener("healthy").await?;
    let rss_before = proxy.rss_kib();
    let peak_reset = proxy.reset_peak();
    let (faulty, healthy, found) = work(faulty, healthy).await;
    // Let background work (VM replacement, connection teardown) settle before reading memory.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let alive = proxy.alive();
    let rss_after = if alive { proxy.rss_kib() } else { None };
    let rss_peak = if alive && peak_reset { proxy.peak_kib() } else { None };
    Ok((Observed { did: String::new(), faulty, healthy, rss_before, rss_after, rss_peak }, found))
}

/// Runs `plan` on both listeners at once.
pub async fn drive(proxy: &mut Proxy, plan: Plan) -> anyhow::Result<Observed> {
    measure(proxy, |faulty, healthy| load::both(plan.load(faulty), plan.load(healthy))).await
}

/// What must hold for weir after a fault, collected rather than panicking so the table is
/// always written.
#[derive(Debug, Default)]
pub struct Checks {
    /// Violations, each naming its fault.
    pub violations: Vec<String>,
}

/// 256 MiB: the generous bound on how much weir's memory may grow during one fault.
pub const RSS_SLACK_KIB: u64 = 256 * 1024;

impl Checks {
    /// Records a violation unless `ok`.
    pub fn require(&mut self, fault: &str, ok: bool, what: impl std::fmt::Display) {
        if !ok {
            self.violations.push(format!("[{fault}] {what}"));
        }
    }

    /// After every fault: weir runs, served every healthy request, and its memory grew by less
    /// than `slack_kib`.
    pub fn common(&mut self, fault: &str, weir: &mut Proxy, observed: &Observed, slack_kib: u64) {
        self.require(fault, weir.alive(), format!("weir exited; log:\n{}", weir.log_tail(30)));
        self.require(
            fault,
            observed.healthy.failed == 0,
            format!("healthy side failed {}: {}", observed.healthy.ratio(), observed.healthy.outcomes_text()),
        );
        match (observed.rss_before, observed.rss_after) {
            (Some(before), Some(after)) => self.require(
                fault,
                after < before + slack_kib,
                format!("RSS grew from {before} KiB to {after} KiB (bound: +{slack_kib} KiB)"),
            ),
            _ => self.require(fault, false, "weir's RSS could not be read after the fault"),
        }
    }

    /// The faulty side only saw `allowed` outcomes.
    pub fn only(&mut self, fault: &str, side: &Tally, allowed: &[super::request::Outcome]) {
        let unexpected = side.unexpected(allowed);
        let allowed: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        self.require(
            fault,
            unexpected.is_empty(),
            format!("faulty side: expected only {allowed:?} (Envoy's semantics), also got {unexpected:?}"),
        );
    }
}
