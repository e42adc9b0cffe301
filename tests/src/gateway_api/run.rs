//! Running a case against a proxy serving Gateway `gateway-conformance-infra/same-namespace`:
//! apply its manifests, wait for the proxy to ACK what weir-cp serves it, send the requests,
//! compare; and the status conditions weir-cp reports.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use serde_json::Value;

use super::case::{Case, Request, StatusExpect};
use crate::client;
use crate::e2e::cp::WeirCp;
use crate::e2e::{acked, poll};
use crate::echo::Echo;

/// The Gateway the proxies serve: their node `cluster`.
pub const SERVED: &str = "gateway-conformance-infra/same-namespace";

/// Its node group in weir-cp.
pub const GROUP: &str = "gateway:gateway-conformance-infra:same-namespace";

/// The Envoy listener of the served Gateway on `port`.
pub fn listener_name(port: u16) -> String {
    format!("gateway-conformance-infra:same-namespace:{port}")
}

/// `weir-cp gateway apply -f` of `text`.
pub fn apply(cp: &WeirCp, dir: &Path, text: &str) -> anyhow::Result<String> {
    let file = dir.join("manifests.yaml");
    std::fs::write(&file, text)?;
    cp.ok(&["gateway", "apply", "-f", file.to_str().context("a UTF-8 path")?])
}

async fn admin_json(cp: &WeirCp, path: &str) -> anyhow::Result<Value> {
    let reply = client::send(cp.admin, client::admin_get(cp.admin, path)).await?;
    anyhow::ensure!(reply.status == 200, "GET {path}: {} {}", reply.status, reply.text());
    Ok(serde_json::from_slice(&reply.body)?)
}

/// Waits until `node` ACKed node group `group`'s versions of every type it is subscribed to;
/// returns the group's cluster names.
pub async fn wait_served(cp: &WeirCp, node: &str, group: &str) -> anyhow::Result<Vec<String>> {
    let groups = admin_json(cp, "/groups").await?;
    let group = &groups[group];
    let mut want = Vec::new();
    for (kind, table) in [("lds", "listeners"), ("rds", "routes"), ("cds", "clusters"), ("eds", "endpoints")]
    {
        let empty = group[table]["resources"].as_object().is_none_or(|r| r.is_empty());
        // A proxy subscribes to no endpoints when there is no cluster: nothing to ACK.
        if !(empty && kind == "eds") {
            want.push((kind, group[table]["version"].as_str().unwrap_or_default().to_string()));
        }
    }
    poll(&format!("{node} ACKing {want:?}"), Duration::from_secs(20), Duration::from_millis(5), || async {
        let status = cp.status().await?;
        Ok(want.iter().all(|(kind, version)| acked(&status, node, kind, version)).then_some(()))
    })
    .await?;
    Ok(group["clusters"]["resources"].as_object().map(|r| r.keys().cloned().collect()).unwrap_or_default())
}

/// Which proxy an admin API belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admin {
    /// Envoy's (`/clusters?format=json`).
    Envoy(SocketAddr),
    /// weir's (`/clusters`).
    Weir(SocketAddr),
}

/// Waits until the proxy has endpoints for each of `clusters`: an ACK of a cluster's
/// endpoints can come before the response its new subscription asked for.
pub async fn wait_endpoints(admin: Admin, clusters: &[String]) -> anyhow::Result<()> {
    poll(
        &format!("endpoints of {clusters:?} in {admin:?}"),
        Duration::from_secs(20),
        Duration::from_millis(5),
        || async {
            let (addr, path) = match admin {
                Admin::Envoy(a) => (a, "/clusters?format=json"),
                Admin::Weir(a) => (a, "/clusters"),
            };
            let reply = client::send(addr, client::admin_get(addr, path)).await?;
            let body: Value = serde_json::from_slice(&reply.body)?;
            let (list, hosts) = match admin {
                Admin::Envoy(_) => (body["cluster_statuses"].clone(), "host_statuses"),
                Admin::Weir(_) => (body, "endpoints"),
            };
            let ready = |name: &String| {
                list.as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["name"] == name.as_str() && c[hosts].as_array().is_some_and(|h| !h.is_empty()))
            };
            Ok(clusters.iter().all(ready).then_some(()))
        },
    )
    .await
}

/// The status conditions of `case` weir-cp does not report: one line each.
pub async fn check_status(cp: &WeirCp, case: &Case) -> anyhow::Result<Vec<String>> {
    let status = admin_json(cp, "/gateway/status").await?;
    Ok(case.status.iter().filter_map(|want| missing_condition(&status, want)).collect())
}

fn missing_condition(status: &Value, want: &StatusExpect) -> Option<String> {
    let list = |key: &str| status[key].as_array().cloned().unwrap_or_default();
    let named =
        |o: &Value| format!("{}/{}", o["namespace"].as_str().unwrap_or(""), o["name"].as_str().unwrap_or(""));
    let found: Option<(Value, Option<i64>)> = match want.kind.as_str() {
        "GatewayClass" => list("gatewayClasses")
            .into_iter()
            .find(|c| c["name"] == want.name.as_str())
            .map(|c| (c["conditions"].clone(), None)),
        "Gateway" => list("gateways")
            .into_iter()
            .find(|g| named(g) == want.name)
            .map(|g| (g["conditions"].clone(), None)),
        "WasmPlugin" => list("wasmPlugins")
            .into_iter()
            .find(|p| named(p) == want.name)
            .map(|p| (p["conditions"].clone(), None)),
        "Listener" => {
            let (gateway, listener) = want.name.rsplit_once('/').unwrap_or_default();
            list("gateways")
                .into_iter()
                .find(|g| named(g) == gateway)
                .and_then(|g| {
                    g["listeners"]
                        .as_array()
                        .and_then(|ls| ls.iter().find(|l| l["name"] == listener).cloned())
                })
                .map(|l| (l["conditions"].clone(), l["attachedRoutes"].as_i64()))
        }
        _ => {
            let parent = want.parent.as_deref().unwrap_or(SERVED);
            list("httpRoutes")
                .into_iter()
                .find(|r| named(r) == want.name)
                .and_then(|r| {
                    r["parents"]
                        .as_array()
                        .and_then(|ps| ps.iter().find(|p| named(&p["parentRef"]) == parent).cloned())
                })
                .map(|p| (p["conditions"].clone(), None))
        }
    };
    let what = format!("{} {}: {}={} {}", want.kind, want.name, want.kind_of, want.status, want.reason);
    let Some((conditions, attached)) = found else {
        return Some(format!("{what}: no status for it"));
    };
    if let Some(n) = want.attached_routes
        && attached != Some(n)
    {
        return Some(format!("{what}: attachedRoutes {attached:?}, want {n}"));
    }
    let holds = conditions.as_array().into_iter().flatten().any(|c| {
        c["type"] == want.kind_of.as_str()
            && c["status"] == want.status.as_str()
            && c["reason"] == want.reason.as_str()
    });
    (!holds).then(|| format!("{what}: got {conditions}"))
}

fn request(r: &Request) -> http::Request<Full<Bytes>> {
    let mut builder = http::Request::builder()
        .method(r.method.as_deref().unwrap_or("GET"))
        .uri(&r.path)
        .header("host", r.host.as_deref().unwrap_or("example.com"));
    for (k, v) in &r.headers {
        builder = builder.header(k, v);
    }
    builder.body(Full::new(Bytes::new())).unwrap_or_default()
}

/// Sends `case`'s requests to `addr`: one line per expectation not met.
pub async fn check_requests(addr: SocketAddr, case: &Case) -> Vec<String> {
    let mut failures = Vec::new();
    for r in &case.requests {
        let what = format!(
            "{} {} (host {})",
            r.method.as_deref().unwrap_or("GET"),
            r.path,
            r.host.as_deref().unwrap_or("example.com")
        );
        let mut backends: BTreeMap<String, f64> = BTreeMap::new();
        let count = r.count.unwrap_or(1);
        for _ in 0..count {
            match client::send(addr, request(r)).await {
                Ok(reply) => {
                    // A split counts answers by backend, or by status when no backend answered.
                    let split = !r.expect.shares.is_empty();
                    if !split && let Some(problem) = compare(&reply, r) {
                        failures.push(format!("{what}: {problem}"));
                        break;
                    }
                    let backend = reply
                        .header("x-echo-server")
                        .map_or_else(|| reply.status.to_string(), str::to_string);
                    *backends.entry(backend).or_default() += 1.0 / count as f64;
                }
                Err(e) => {
                    failures.push(format!("{what}: {e:#}"));
                    break;
                }
            }
        }
        for (backend, want) in &r.expect.shares {
            let got = backends.get(backend).copied().unwrap_or(0.0);
            if (got - want).abs() > 0.1 {
                failures.push(format!(
                    "{what}: {backend} took {got:.2} of {count} requests, want {want} ± 0.1 ({backends:?})"
                ));
            }
        }
    }
    failures
}

/// What of `r.expect` `reply` does not meet, if anything.
fn compare(reply: &client::Reply, r: &Request) -> Option<String> {
    let expect = &r.expect;
    if reply.status != expect.status {
        return Some(format!("status {}, want {} ({})", reply.status, expect.status, reply.text()));
    }
    for (name, value) in &expect.response_headers {
        let got: Vec<&str> =
            reply.headers.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect();
        if got.join(",") != *value {
            return Some(format!("response header {name}: {got:?}, want {value:?}"));
        }
    }
    if let Some(name) = expect.response_absent.iter().find(|n| reply.header(n).is_some()) {
        return Some(format!("response header {name} present"));
    }
    if let Some(backend) = &expect.backend
        && reply.header("x-echo-server") != Some(backend.as_str())
    {
        return Some(format!("answered by {:?}, want {backend}", reply.header("x-echo-server")));
    }
    let wants_echo = expect.path.is_some()
        || expect.host.is_some()
        || !expect.headers.is_empty()
        || !expect.absent.is_empty();
    if !wants_echo {
        return None;
    }
    let echo: Echo = match serde_json::from_slice(&reply.body) {
        Ok(echo) => echo,
        Err(e) => return Some(format!("not an echo: {e}: {}", reply.text())),
    };
    if let Some(path) = &expect.path
        && echo.path != *path
    {
        return Some(format!("the backend saw path {:?}, want {path:?}", echo.path));
    }
    let values = |name: &str| -> String {
        echo.headers.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(",")
    };
    if let Some(host) = &expect.host {
        let seen = echo.header(":authority").or(echo.header("host")).unwrap_or_default();
        if seen != host {
            return Some(format!("the backend saw host {seen:?}, want {host:?}"));
        }
    }
    for (name, value) in &expect.headers {
        if values(name) != *value {
            return Some(format!("the backend saw {name}: {:?}, want {value:?}", values(name)));
        }
    }
    if let Some(name) = expect.absent.iter().find(|n| echo.header(n).is_some()) {
        return Some(format!("the backend saw {name}, which must be removed"));
    }
    None
}

/// An Envoy bootstrap for node `node` serving Gateway `cluster` (`NAMESPACE/NAME`): listeners,
/// routes and clusters from weir-cp at `xds` over state-of-the-world ADS.
pub fn envoy_bootstrap(node: &str, cluster: &str, xds: SocketAddr) -> String {
    crate::e2e::envoy_xds_bootstrap(
        node,
        xds,
        crate::e2e::XdsMode::SOTW,
        "          route_config: { virtual_hosts: [] }",
    )
    .replace("cluster: edge", &format!("cluster: {cluster}"))
    .replace("  cds_config:", "  lds_config: { ads: {}, resource_api_version: V3 }\n  cds_config:")
}

/// weir's config for node `node` serving Gateway `cluster`: no listener of its own, listeners
/// and clusters from weir-cp at `xds`.
pub fn weir_config(node: &str, cluster: &str, xds: SocketAddr) -> String {
    format!(
        r#"
admin: {{ address: "127.0.0.1:0" }}
listeners: []
clusters:
  - {{ name: weir-cp, endpoints: ["{xds}"], http2: true, connect_timeout: 1s }}
xds: {{ cluster: weir-cp, cds: true, lds: true, initial_fetch_timeout: 1s }}
node: {{ id: {node}, cluster: "{cluster}" }}
"#
    )
}

/// A port free now, for a Gateway's listener.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
