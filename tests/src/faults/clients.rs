//! Fault 7: hostile clients on the `faulty` listener while healthy clients use the same
//! listener: malformed requests (400), oversized request heads (431), slowloris against a 1 s
//! `request_headers_timeout`. The "healthy" numbers are the healthy clients of the attacked
//! listener, during the attack.

use std::net::SocketAddr;
use std::time::Duration;

use super::attack;
use super::config::{Layout, Side};
use super::load::Tally;
use super::observe::{envoy_stats, prometheus};
use super::process::{Kind, Proxy};
use super::report::{Observed, Row};
use super::request::Outcome::{self, Status};
use super::scenario::{Checks, Env, Plan, RSS_SLACK_KIB, measure};

/// The attacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// 200 malformed requests.
    Malformed,
    /// 200 request heads over the size or count limit.
    Oversized,
    /// 200 clients sending one header byte per second.
    Slowloris,
}

/// `request_headers_timeout` of the attacked listener.
pub const HEADERS_TIMEOUT: &str = "1s";
/// How long the slowloris attack goes on (attackers reconnect when cut off).
pub const SLOWLORIS_FOR: Duration = Duration::from_secs(3);
/// When a slowloris connection the proxy never cut off gives up.
pub const GIVE_UP: Duration = Duration::from_secs(6);

impl Attack {
    fn describe(self) -> (&'static str, &'static [Outcome]) {
        match self {
            Attack::Malformed => ("7. malformed requests (6 kinds, 200 in all)", &[Status(400)]),
            Attack::Oversized => ("7. request head of 100 KiB or 150 headers (200 in all)", &[Status(431)]),
            Attack::Slowloris => (
                "7. slowloris for 3 s: 200 clients, each a connection sending a header byte per second \
                 (reconnecting when cut off), request_headers_timeout 1s",
                &[Status(408)],
            ),
        }
    }

    /// The attack on `target` and, at the same time, healthy clients on it.
    async fn run(self, target: SocketAddr) -> (Tally, Tally) {
        let limit = Duration::from_secs(5);
        let mut healthy = Plan::DEFAULT.load(target);
        match self {
            Attack::Malformed | Attack::Oversized => {
                let requests =
                    if self == Attack::Malformed { attack::malformed() } else { attack::oversized() };
                tokio::join!(attack::send_raw(target, &requests, 200, limit), healthy.run())
            }
            Attack::Slowloris => {
                // Spread the healthy requests over the attack.
                healthy.pace = Duration::from_millis(50);
                let attack = attack::slowloris(target, 200, SLOWLORIS_FOR, GIVE_UP);
                let healthy = async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    healthy.run().await
                };
                tokio::join!(attack, healthy)
            }
        }
    }
}

/// Runs one attack on both proxies.
pub async fn attack(env: &Env, checks: &mut Checks, attack: Attack) -> anyhow::Result<Row> {
    let (fault, expected) = attack.describe();
    let mut faulty = Side::new(env.echo(), None);
    faulty.request_headers_timeout = Some(HEADERS_TIMEOUT.into());
    let layout = Layout::new(faulty, Side::new(env.echo(), None));

    let mut weir = env.weir(&layout).await?;
    let mut w = measure(&mut weir, |f, _| attack.run(f)).await?;
    w.did = describe(&weir, &w).await;
    checks.common(fault, &mut weir, &w, RSS_SLACK_KIB);
    checks.only(fault, &w.faulty, expected);
    drop(weir);

    let mut envoy = Proxy::envoy(&layout.envoy()?, env.workers).await?;
    let mut e = measure(&mut envoy, |f, _| attack.run(f)).await?;
    e.did = describe(&envoy, &e).await;
    Ok(Row { fault: fault.to_string(), weir: Some(w), envoy: Some(e), note: None })
}

/// Outcomes of the attack, how long the proxy took to end the attacking connections, and
/// the connections still open afterwards.
async fn describe(proxy: &Proxy, o: &Observed) -> String {
    let ended = format!("each attacking connection ended after {}", o.faulty.latency_text());
    let open = match proxy.kind {
        Kind::Weir => proxy.admin_get("/stats/prometheus").await.ok().and_then(|m| {
            prometheus(&m, "weir_downstream_cx_active", &[("listener", "faulty")])
                .map(|v| format!("`weir_downstream_cx_active{{listener=\"faulty\"}}` {v} afterwards"))
        }),
        Kind::Envoy => Some(
            envoy_stats(
                proxy,
                &[
                    "http.faulty.downstream_cx_active",
                    "http.faulty.downstream_rq_4xx",
                    "downstream_rq_timeout",
                ],
            )
            .await,
        ),
    };
    format!(
        "{} ({ended}); {}; healthy latency {}",
        o.faulty.outcomes_text(),
        open.unwrap_or_default(),
        o.healthy.latency_text()
    )
}
