//! The hostile-client attacks: what each does, the `faulty` listener it runs against (short
//! timeouts and limits; the same options given to Envoy), and what weir must answer. The
//! comment on each says what weir did before issue 19 was fixed, and so which assertion that
//! behaviour fails.

use serde_json::json;

use super::wat;
use crate::faults::config::{ClusterDef, Layout, PluginDef, RouteDef, Side};
use crate::faults::request::Outcome::{self, Reset, Status, Timeout};
use crate::faults::scenario::Env;

/// The attacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Connections that send nothing.
    Silent,
    /// Half an HTTP/2 preface.
    Preface,
    /// HTTP/2 requests with 300 headers.
    H2Count,
    /// HTTP/2 requests with a 70 KiB header block.
    H2Size,
    /// Keep-alive connections left idle after one exchange.
    Idle,
    /// Request bodies that stall.
    SlowBody,
    /// Responses nobody reads.
    SlowReader,
    /// More connections than the listener's `max_connections`.
    MaxConnections,
    /// File descriptors per idle connection.
    Fds,
    /// `cluster_header` naming an internal cluster.
    InternalCluster,
    /// The path-bypass matrix.
    PathMatrix,
}

/// One attack.
#[derive(Debug, Clone, Copy)]
pub struct ClientAttack {
    /// Short key (`WEIR_HOSTILE=key` selects it).
    pub key: &'static str,
    /// What it does, for the table.
    pub title: &'static str,
    /// Which.
    pub kind: Kind,
    /// The only outcomes the attacking side may get from weir.
    pub expected: &'static [Outcome],
    /// A host defect this attack reproduces.
    pub known_defect: Option<&'static str>,
}

/// The attacks, in the table's order.
pub const ATTACKS: &[ClientAttack] = &[
    // Old: a client that sent nothing was never closed (every connection `timeout`, the gauge
    // stays at 200).
    ClientAttack {
        key: "silent",
        title: "200 connections that send nothing (`request_headers_timeout` 1s)",
        kind: Kind::Silent,
        expected: &[Reset],
        known_defect: None,
    },
    // Old: a partial HTTP/2 preface was never closed.
    ClientAttack {
        key: "h2-preface",
        title: "100 connections that send half an HTTP/2 preface (`request_headers_timeout` 1s)",
        kind: Kind::Preface,
        expected: &[Reset],
        known_defect: None,
    },
    // Old: HTTP/2 ignored `max_request_headers`: 300 headers were accepted (200).
    ClientAttack {
        key: "h2-headers-count",
        title: "HTTP/2 requests with 300 headers (limit 100); healthy: 90 headers",
        kind: Kind::H2Count,
        expected: &[Status(431), Reset],
        known_defect: None,
    },
    // Old: HTTP/2 applied 16 KiB instead of `max_request_headers_kb` (the healthy 40 KiB
    // requests failed).
    ClientAttack {
        key: "h2-headers-size",
        title: "HTTP/2 requests with a 70 KiB header block (limit 60 KiB); healthy: 40 KiB",
        kind: Kind::H2Size,
        expected: &[Status(431), Reset],
        known_defect: None,
    },
    // Old: an idle keep-alive connection got a 408 once `request_headers_timeout` passed.
    ClientAttack {
        key: "idle-keepalive",
        title: "50 keep-alive connections left idle after one exchange (`request_headers_timeout` 1s, \
                `idle_timeout` 2s): closed, no 408",
        kind: Kind::Idle,
        expected: &[Reset],
        known_defect: None,
    },
    // Old: slow bodies held their circuit-breaker slots (active requests stayed up).
    ClientAttack {
        key: "slow-body",
        title: "50 request bodies that stop after 10 of 1000 bytes (`stream_idle_timeout` 1s)",
        kind: Kind::SlowBody,
        expected: &[Status(408)],
        known_defect: None,
    },
    // Old: slow readers held their upstream requests and connections.
    ClientAttack {
        key: "slow-reader",
        title: "20 clients that never read a 64 MiB response (`stream_idle_timeout` 1s)",
        kind: Kind::SlowReader,
        expected: &[Reset],
        known_defect: None,
    },
    // Old: no per-listener connection limit (all 100 held).
    ClientAttack {
        key: "max-connections",
        title: "100 connections to a listener with `max_connections` 50",
        kind: Kind::MaxConnections,
        expected: &[Reset, Timeout],
        known_defect: None,
    },
    // Old: each connection held two file descriptors.
    ClientAttack {
        key: "fds",
        title: "file descriptors with 200 idle connections open",
        kind: Kind::Fds,
        expected: &[Timeout],
        known_defect: None,
    },
    // Old: no `internal` clusters: the client reached it (200).
    ClientAttack {
        key: "internal-cluster",
        title: "`cluster_header` naming an `internal` cluster (100 requests); healthy: a public one",
        kind: Kind::InternalCluster,
        expected: &[Status(503)],
        known_defect: None,
    },
    // Old: policies ran on the raw path (`/x/../admin`, `//admin`, `/%61dmin`, … reached the
    // upstream as `/admin` without the guard).
    ClientAttack {
        key: "path-matrix",
        title: "9 spellings of `/admin` × 5 against `/admin` guarded by a route-level plugin (403) and \
                `/public` with `http_filters: []`; `/x/%252e%252e/admin` must reach the upstream as sent",
        kind: Kind::PathMatrix,
        // 403 for every spelling but the double-encoded one (see `paths::Landing`).
        expected: &[Status(403), Status(200)],
        known_defect: None,
    },
];

/// `request_headers_timeout` of the attacked listener where it matters.
pub const HEADERS_TIMEOUT: &str = "1s";
/// weir's access log of the `cluster_header` row (in the suite's scratch directory).
pub const ACCESS_LOG: &str = "internal-cluster-access.log";
/// `max_connections` of the attacked listener.
pub const MAX_CONNECTIONS: usize = 50;

/// The attacked listener (and what it needs) for `kind`; `upstream` serves the attacked
/// listener (the slow reader's large-body server, else the echo server).
pub fn layout(
    env: &Env,
    kind: Kind,
    upstream: std::net::SocketAddr,
    dir: &std::path::Path,
) -> anyhow::Result<Layout> {
    let base = Side::new(upstream, None);
    let faulty = match kind {
        Kind::Silent | Kind::Preface => base.with("request_headers_timeout", json!(HEADERS_TIMEOUT)),
        Kind::Idle => {
            base.with("request_headers_timeout", json!(HEADERS_TIMEOUT)).with("idle_timeout", json!("2s"))
        }
        Kind::SlowBody | Kind::SlowReader => base.with("stream_idle_timeout", json!("1s")),
        Kind::MaxConnections => {
            base.with("max_connections", json!(MAX_CONNECTIONS)).with("request_headers_timeout", json!("10s"))
        }
        Kind::Fds => base.with("request_headers_timeout", json!("30s")),
        Kind::H2Count | Kind::H2Size => base,
        Kind::InternalCluster => {
            let by_header =
                RouteDef { cluster_header: Some("x-cluster".into()), ..RouteDef::prefix("by-header", "/") };
            Side { routes: vec![by_header], ..base.with("access_log", json!(dir.join(ACCESS_LOG))) }
        }
        Kind::PathMatrix => {
            let route = |name: &str, prefix: &str, chain: &[&str]| RouteDef {
                plugins: Some(chain.iter().map(ToString::to_string).collect()),
                ..RouteDef::prefix(name, prefix)
            };
            let routes = vec![
                route("public", "/public", &[]),
                route("admin", "/admin", &["guard"]),
                route("rest", "/", &[]),
            ];
            Side { routes, ..base }
        }
    };
    let mut layout = Layout::new(faulty, Side::new(env.echo(), None));
    if kind == Kind::InternalCluster {
        for (name, internal) in [("internal-svc", true), ("public-svc", false)] {
            layout.clusters.push(ClusterDef { name: name.into(), addr: env.echo(), http2: false, internal });
        }
    }
    if kind == Kind::PathMatrix {
        let wasm = wat::write(dir, "guard", &super::paths::guard())?;
        layout.route_plugins.push(PluginDef {
            name: "guard".into(),
            wasm,
            configuration: String::new(),
            failure_policy: "FAIL_CLOSED".into(),
            limits: json!({}),
        });
    }
    Ok(layout)
}
