//! Drives one client attack against a running proxy's `faulty` listener, with healthy
//! requests at the same time (on the attacked listener, or on `healthy` where the attack
//! fills the attacked one), and collects the facts weir's design requires afterwards.

use std::net::SocketAddr;
use std::time::Duration;

use super::clients::{Kind, MAX_CONNECTIONS};
use super::gauges::{Gauge, reached_text};
use super::{conn, h2, paths};
use crate::faults::handle::Handle;
use crate::faults::load::{Load, Tally};
use crate::faults::request::{Outcome, get};
use crate::faults::scenario::Plan;

/// When an attacking connection the proxy never ends gives up.
const GIVE_UP: Duration = Duration::from_secs(6);
/// How long a gauge may take to come back.
const SETTLE: Duration = Duration::from_secs(5);

/// A fact weir's design requires, and whether it held.
#[derive(Debug, Clone)]
pub struct Fact {
    /// What was seen.
    pub text: String,
    /// Whether that is what weir must do.
    pub holds: bool,
}

/// What one run of an attack saw.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// The attacking side.
    pub attack: Tally,
    /// The healthy side.
    pub healthy: Tally,
    /// Facts, in order.
    pub facts: Vec<Fact>,
    /// More to say (per-spelling outcomes, bodies).
    pub notes: Vec<String>,
}

fn fact(text: String, holds: bool) -> Fact {
    Fact { text, holds }
}

/// 200 healthy requests from 4 clients, spread over about 2 s.
fn healthy(addr: SocketAddr) -> Load {
    Plan { pace: Duration::from_millis(40), ..Plan::DEFAULT }.load(addr)
}

/// Runs `kind` against `proxy`.
pub async fn drive(kind: Kind, proxy: Handle, faulty: SocketAddr, other: SocketAddr) -> Findings {
    let mut f = Findings::default();
    match kind {
        Kind::Silent | Kind::Preface => {
            let (n, first) =
                if kind == Kind::Silent { (200, &b""[..]) } else { (100, conn::PARTIAL_PREFACE) };
            (f.attack, f.healthy) =
                tokio::join!(conn::send_and_wait(faulty, n, first, GIVE_UP), healthy(faulty).run());
            let settled = Gauge::Connections.reaches(proxy, 0.0, SETTLE).await;
            f.facts.push(fact(reached_text(Gauge::Connections, proxy.kind, settled), settled.0));
        }
        Kind::H2Count | Kind::H2Size => {
            let (bad, good) = if kind == Kind::H2Count {
                (h2::many(300), h2::many(90))
            } else {
                (h2::large(70), h2::large(40))
            };
            (f.attack, f.healthy) = tokio::join!(h2::load(faulty, bad, 50, 4), h2::load(faulty, good, 50, 4));
        }
        Kind::Idle => {
            // Envoy closes an idle HTTP/1 connection after its drain and close delays too
            // (about 8 s for a 2 s `idle_timeout`): give both more time.
            let give_up = GIVE_UP + Duration::from_secs(4);
            (f.attack, f.healthy) =
                tokio::join!(conn::idle_after_one(faulty, 50, give_up), healthy(faulty).run());
            let settled = Gauge::Connections.reaches(proxy, 0.0, SETTLE).await;
            f.facts.push(fact(reached_text(Gauge::Connections, proxy.kind, settled), settled.0));
        }
        Kind::SlowBody => {
            let attack = async {
                let mut streams = conn::stalled_bodies(faulty, 50).await;
                let tally = conn::statuses(&mut streams, GIVE_UP).await;
                // The clients still hold their connections: the slots must be free anyway.
                let freed = Gauge::ActiveRequests.reaches(proxy, 0.0, SETTLE).await;
                (tally, freed)
            };
            let ((attack, freed), healthy) = tokio::join!(attack, healthy(faulty).run());
            (f.attack, f.healthy) = (attack, healthy);
            f.facts.push(fact(reached_text(Gauge::ActiveRequests, proxy.kind, freed), freed.0));
        }
        Kind::SlowReader => {
            let attack = async {
                let streams = conn::unread_responses(faulty, 20, GIVE_UP).await;
                // Nobody reads: the upstream connections must go anyway (within two
                // `stream_idle_timeout`s of the last progress, plus slack).
                let released = Gauge::UpstreamConnections.reaches(proxy, 0.0, SETTLE).await;
                let freed = Gauge::ActiveRequests.read(proxy).await;
                (conn::drain(streams, GIVE_UP).await, released, freed)
            };
            let ((attack, released, freed), healthy) = tokio::join!(attack, healthy(other).run());
            (f.attack, f.healthy) = (attack, healthy);
            f.facts.push(fact(reached_text(Gauge::UpstreamConnections, proxy.kind, released), released.0));
            let freed_text = freed.map_or_else(|| "unreadable".into(), |v| v.to_string());
            f.facts.push(fact(
                format!("`{}` {freed_text}", Gauge::ActiveRequests.name(proxy.kind)),
                freed == Some(0.0),
            ));
        }
        Kind::MaxConnections => max_connections(&mut f, proxy, faulty, other).await,
        Kind::Fds => fds(&mut f, proxy, faulty, other).await,
        Kind::InternalCluster => {
            let load = |cluster: &str| Load {
                headers: vec![("x-cluster".into(), cluster.into())],
                ..Plan::of(100, 4).load(faulty)
            };
            (f.attack, f.healthy) = tokio::join!(load("internal-svc").run(), load("public-svc").run());
        }
        Kind::PathMatrix => {
            let public = Load { path: "/public/ok".into(), ..Plan::of(100, 2).load(faulty) };
            let ((attack, lines, astray), rest, public) =
                tokio::join!(paths::matrix(faulty, 5), Plan::of(100, 2).load(faulty).run(), public.run());
            f.attack = attack;
            f.healthy = rest;
            f.healthy.merge(&public);
            let text = if astray.is_empty() {
                "every spelling landed where it must".to_string()
            } else {
                format!("landed elsewhere: {}", astray.join(", "))
            };
            f.facts.push(fact(text, astray.is_empty()));
            f.notes.push(lines.join(", "));
        }
    }
    f
}

/// More connections than the limit: the excess closed at once and counted, the rest held,
/// the other listener unaffected, and room again once the held ones go.
async fn max_connections(f: &mut Findings, proxy: Handle, faulty: SocketAddr, other: SocketAddr) {
    let attempted = 2 * MAX_CONNECTIONS;
    let (tally, held) = conn::hold(faulty, attempted, Duration::from_millis(500)).await;
    f.healthy = healthy(other).run().await;
    let overflow = Gauge::Overflow.read(proxy).await.unwrap_or(0.0);
    let (open, closed) = (held.len(), tally.count(Outcome::Reset) as usize);
    f.facts.push(fact(
        format!("{open} held and {closed} closed at once of {attempted}"),
        open <= MAX_CONNECTIONS && closed >= attempted - MAX_CONNECTIONS,
    ));
    f.facts
        .push(fact(format!("`{}` {overflow}", Gauge::Overflow.name(proxy.kind)), overflow >= closed as f64));
    f.attack = tally;
    drop(held);
    let mut served = None;
    for _ in 0..50 {
        if let Ok(reply) = get(faulty, "/", &[], Duration::from_secs(2)).await {
            served = Some(reply.status);
            if reply.status == 200 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let served_text = served.map_or_else(|| "no answer".to_string(), |s| s.to_string());
    f.facts.push(fact(format!("after they closed, a new request got {served_text}"), served == Some(200)));
}

/// File descriptors with K idle connections open: about one each.
async fn fds(f: &mut Findings, proxy: Handle, faulty: SocketAddr, other: SocketAddr) {
    const K: usize = 200;
    let before = proxy.open_fds().unwrap_or(0);
    let (tally, held) = conn::hold(faulty, K, Duration::from_millis(300)).await;
    let open = Gauge::Connections.reaches(proxy, K as f64, SETTLE).await;
    let during = proxy.open_fds().unwrap_or(0);
    f.healthy = healthy(other).run().await;
    let per = during.saturating_sub(before) as f64 / K as f64;
    f.facts.push(fact(reached_text(Gauge::Connections, proxy.kind, open), open.0));
    f.facts
        .push(fact(format!("open fds {before} → {during} with {K} connections: {per:.2} each"), per <= 1.25));
    f.attack = tally;
    drop(held);
}
