//! `weir.yaml` and `envoy.yaml` for a scenario: the same listener, route, clusters, `.wasm`
//! files and plugin configurations in both proxies.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use super::scenario::{Route, Scenario};
use crate::bootstrap::{self, quoted};

/// Clusters `shard-0..SHARDS` exist for shuffle-shard (its `total_hosts`).
const SHARDS: usize = 4;

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

/// weir's configuration.
pub fn weir(s: &Scenario, ports: Ports, upstream: SocketAddr, filters: &Path) -> String {
    let chain: Vec<&str> = s.plugins.iter().map(|p| p.name).collect();
    let action = match s.route {
        Route::Cluster => "route: { cluster: upstream }",
        Route::ShardHeader => "route: { cluster_header: x-shard-cluster }",
        Route::Direct => "direct_response: { status: 200, body: ok }",
    };
    let mut out = format!(
        "admin:\n  address: 127.0.0.1:{admin}\nlisteners:\n  - name: main\n    address: 127.0.0.1:{port}\n    \
         http_filters: [{chain}]\n    virtual_hosts:\n      - name: all\n        domains: [\"*\"]\n        routes:\n          \
         - name: default\n            match: {{ prefix: / }}\n            {action}\nclusters:\n",
        admin = ports.admin,
        port = ports.listener,
        chain = chain.join(", "),
    );
    for name in cluster_names(s) {
        writeln!(out, "  - name: {name}\n    endpoints: [\"{upstream}\"]").unwrap();
    }
    out.push_str(if s.plugins.is_empty() { "plugins: []\n" } else { "plugins:\n" });
    for p in &s.plugins {
        writeln!(
            out,
            "  - name: {name}\n    wasm: {dir}/{name}.wasm\n    vm_id: {vm_id}\n    configuration: {config}",
            name = p.name,
            dir = filters.display(),
            vm_id = quoted(p.vm_id),
            config = quoted(&p.config),
        )
        .unwrap();
    }
    out
}

/// Envoy's bootstrap.
pub fn envoy(s: &Scenario, ports: Ports, upstream: SocketAddr, filters: &Path) -> String {
    let action = match s.route {
        Route::Cluster => "route: { cluster: upstream }",
        Route::ShardHeader => "route: { cluster_header: x-shard-cluster }",
        Route::Direct => "direct_response: { status: 200, body: { inline_string: ok } }",
    };
    let filters_yaml: String =
        s.plugins.iter().map(|p| bootstrap::wasm_filter(p.name, Some(p.vm_id), filters, &p.config)).collect();
    let clusters: String =
        cluster_names(s).iter().map(|name| bootstrap::static_cluster(name, upstream)).collect();
    bootstrap::envoy(ports.admin, ports.listener, action, &filters_yaml, &clusters)
}
