//! Fault 6: misbehaving upstreams behind the `faulty` listener (no plugins anywhere): one that
//! resets, one that hangs, one slower than the route timeout. Envoy's semantics: 503 for a
//! reset before headers, 504 `upstream request timeout` past the route timeout.

use super::config::{Layout, Side};
use super::load;
use super::observe::{envoy_stats, prometheus};
use super::process::Proxy;
use super::report::Row;
use super::request::Outcome::{self, Status};
use super::scenario::{Checks, Env, Plan, RSS_SLACK_KIB, measure};
use super::upstream::{BadUpstream, Behaviour};

/// The route timeout on the faulty side.
pub const ROUTE_TIMEOUT: &str = "500ms";

/// Runs one upstream fault on both proxies.
pub async fn upstream(env: &Env, checks: &mut Checks, behaviour: Behaviour) -> anyhow::Result<Row> {
    let (fault, expected): (String, Outcome) = match behaviour {
        Behaviour::Reset => ("6. upstream resets every connection".into(), Status(503)),
        Behaviour::Hang => {
            (format!("6. upstream accepts, never answers (route timeout {ROUTE_TIMEOUT})"), Status(504))
        }
        Behaviour::Slow(d) => (
            format!("6. upstream answers after {} ms (route timeout {ROUTE_TIMEOUT})", d.as_millis()),
            Status(504),
        ),
        Behaviour::Large(n) => (format!("6. upstream answers with {n} bytes"), Status(200)),
    };
    let bad = BadUpstream::start(behaviour).await?;
    let mut faulty = Side::new(bad.addr, None);
    faulty.route_timeout = Some(ROUTE_TIMEOUT.into());
    let layout = Layout::new(faulty, Side::new(env.echo(), None));
    // Requests that wait for the route timeout need more clients to stay short.
    let plan = match behaviour {
        Behaviour::Reset => Plan::DEFAULT,
        _ => Plan::of(100, 20),
    };

    let mut weir = env.weir(&layout).await?;
    let mut w = measure(&mut weir, |f, h| load::both(plan.load(f), Plan::DEFAULT.load(h))).await?;
    let metrics = weir.admin_get("/stats/prometheus").await?;
    w.did = format!("{}; {}", w.faulty.outcomes_text(), weir_cluster(&metrics));
    checks.common(&fault, &mut weir, &w, RSS_SLACK_KIB);
    checks.only(&fault, &w.faulty, &[expected]);
    drop(weir);

    let mut envoy = Proxy::envoy(&layout.envoy()?, env.workers).await?;
    let mut e = measure(&mut envoy, |f, h| load::both(plan.load(f), Plan::DEFAULT.load(h))).await?;
    let stats = envoy_stats(
        &envoy,
        &[
            "cluster.faulty.upstream_rq_timeout",
            "cluster.faulty.upstream_rq_5xx",
            "cluster.faulty.upstream_cx_destroy_remote_with_active_rq",
            "cluster.faulty.upstream_rq_per_try_timeout",
        ],
    )
    .await;
    e.did = format!("{}; {stats}", e.faulty.outcomes_text());
    Ok(Row { fault, weir: Some(w), envoy: Some(e), note: None })
}

/// weir's upstream counters of the faulty cluster.
fn weir_cluster(metrics: &str) -> String {
    let mut parts = Vec::new();
    let labels = [("listener", "faulty"), ("code_class", "5xx")];
    if let Some(v) = prometheus(metrics, "weir_downstream_rq_total", &labels) {
        parts.push(format!("`weir_downstream_rq_total{{listener=\"faulty\",code_class=\"5xx\"}}` {v}"));
    }
    for class in ["2xx", "5xx"] {
        let labels = [("cluster", "faulty"), ("code_class", class)];
        if let Some(v) = prometheus(metrics, "weir_cluster_upstream_rq_total", &labels).filter(|v| *v > 0.0) {
            parts.push(format!(
                "`weir_cluster_upstream_rq_total{{cluster=\"faulty\",code_class=\"{class}\"}}` {v}"
            ));
        }
    }
    if let Some(v) =
        prometheus(metrics, "weir_cluster_upstream_cx_connect_fail_total", &[("cluster", "faulty")])
            .filter(|v| *v > 0.0)
    {
        parts.push(format!("`weir_cluster_upstream_cx_connect_fail_total` {v}"));
    }
    parts.join(", ")
}
