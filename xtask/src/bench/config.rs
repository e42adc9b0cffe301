//! A scenario's config for both proxies: one listener `main` with one route, the scenario's
//! chain, the upstream cluster (and the shard clusters), rendered by `weir-testkit`'s twin
//! builder as `weir.yaml` and as the Envoy bootstrap (with weir's path handling defaults). A
//! scenario calling a rate limit service also gets the HTTP/2 cluster `rls`.

use std::net::SocketAddr;
use std::path::Path;

use weir_testkit::twin::{self, CertificatePair, Cluster, Listener, ListenerTls, Plugin, SafePaths, Twin};

use super::scenario::{Route, Scenario};

/// Clusters `shard-0..SHARDS` exist for shuffle-shard (its `total_hosts`).
const SHARDS: usize = 4;

/// What a scenario's proxies forward to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backends {
    /// The echo upstream (every cluster but `rls`).
    pub(crate) echo: SocketAddr,
    /// The rate limit service, when the scenario calls one.
    pub(crate) rls: Option<SocketAddr>,
}

/// Ports of one proxy.
#[derive(Clone, Copy)]
pub struct Ports {
    /// Listener.
    pub listener: u16,
    /// Admin.
    pub admin: u16,
}

fn cluster_names(s: &Scenario) -> Vec<String> {
    let mut names = vec!["upstream".to_string()];
    if s.route == Route::ShardHeader {
        names.extend((0..SHARDS).map(|i| format!("shard-{i}")));
    }
    names
}

/// The scenario's config, both proxies' view (`tls`: the certificate of a TLS scenario).
fn twin(
    s: &Scenario,
    ports: Ports,
    backends: Backends,
    filters: &Path,
    tls: Option<&CertificatePair>,
) -> Twin {
    let route = twin::Route::prefix("default", "/");
    let route = match s.route {
        Route::Cluster => route.to_cluster("upstream"),
        Route::ShardHeader => route.to_cluster_header("x-shard-cluster"),
        Route::Direct => route.direct(200, "ok"),
    };
    let chain: Vec<&str> = s.plugins.iter().map(|p| p.name).collect();
    let mut listener = Listener::new("main", vec![route]).chain(&chain);
    listener.port = ports.listener;
    if s.transport.tls() {
        listener.tls = tls.map(|pair| ListenerTls {
            alpn_protocols: vec!["http/1.1".into()],
            ..ListenerTls::new(vec![pair.clone()])
        });
    }
    let mut clusters: Vec<Cluster> =
        cluster_names(s).iter().map(|name| Cluster::new(name, backends.echo)).collect();
    if let Some(rls) = backends.rls {
        clusters.push(Cluster { http2: true, ..Cluster::new("rls", rls) });
    }
    Twin {
        admin_port: ports.admin,
        listeners: vec![listener],
        clusters,
        plugins: s
            .plugins
            .iter()
            .map(|p| {
                Plugin::new(p.name, filters.join(format!("{}.wasm", p.name)))
                    .vm_id(p.vm_id)
                    .configuration(p.config.as_str())
            })
            .collect(),
        node: None,
    }
}

/// weir's configuration.
pub fn weir(
    s: &Scenario,
    ports: Ports,
    backends: Backends,
    filters: &Path,
    tls: Option<&CertificatePair>,
) -> anyhow::Result<String> {
    twin(s, ports, backends, filters, tls).weir_yaml()
}

/// Envoy's bootstrap.
pub fn envoy(
    s: &Scenario,
    ports: Ports,
    backends: Backends,
    filters: &Path,
    tls: Option<&CertificatePair>,
) -> anyhow::Result<String> {
    twin(s, ports, backends, filters, tls).envoy_yaml(&SafePaths)
}
