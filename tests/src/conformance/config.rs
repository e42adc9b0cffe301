//! A case as one [`Twin`] description: listener `main` running the case's chain on its
//! virtual hosts (default: every path to `upstream`), over TLS for a case with `tls`, the echo
//! upstream and the case's own clusters (over TLS for those with `tls`), its plugins and node;
//! rendered as `weir.yaml` and as the Envoy bootstrap with weir's listener defaults, so both
//! hosts run the same filters the same way.

use std::net::SocketAddr;

use anyhow::Context;
use serde_json::Value;
use weir_testkit::paths;
use weir_testkit::twin::{Cluster, ClusterTls, Listener, ListenerTls, Plugin, Route, Twin, VirtualHost};

use super::case::{Case, ClusterTarget, PluginSpec};
use crate::weir_defaults::WeirDefaults;

/// Where a case's clusters point, and what its listener serves over TLS.
#[derive(Debug, Clone)]
pub struct Targets {
    /// The echo server.
    pub echo: SocketAddr,
    /// A closed port.
    pub dead: SocketAddr,
    /// The gRPC test server, when the case uses one.
    pub grpc: Option<SocketAddr>,
    /// Tagged echo servers by cluster name.
    pub tagged: Vec<(String, SocketAddr)>,
    /// Listener `main`'s TLS, for a case with `tls` (certificates generated for the run).
    pub listener_tls: Option<ListenerTls>,
    /// The TLS upstreams of clusters with `tls`, by cluster name, and those clusters' TLS.
    pub tls_upstreams: Vec<(String, SocketAddr, ClusterTls)>,
}

/// `upstream` (the echo server), then the case's clusters.
fn clusters(case: &Case, targets: &Targets) -> Vec<Cluster> {
    let mut out = vec![Cluster::new("upstream", targets.echo)];
    for c in &case.clusters {
        let (endpoint, http2) = match c.target {
            ClusterTarget::Echo => (targets.echo, c.http2),
            ClusterTarget::Dead => (targets.dead, c.http2),
            ClusterTarget::Grpc => (targets.grpc.unwrap_or(targets.dead), true),
            ClusterTarget::Tagged => {
                let addr =
                    targets.tagged.iter().find(|(n, _)| *n == c.name).map_or(targets.dead, |(_, a)| *a);
                (addr, c.http2)
            }
        };
        let more_endpoints: Vec<SocketAddr> = match c.target {
            ClusterTarget::Tagged => {
                targets.tagged.iter().filter(|(n, _)| *n == c.name).skip(1).map(|(_, a)| *a).collect()
            }
            _ => Vec::new(),
        };
        let tls_upstream = targets.tls_upstreams.iter().find(|(n, _, _)| *n == c.name);
        let endpoint = tls_upstream.map_or(endpoint, |(_, addr, _)| *addr);
        let tls = tls_upstream.map(|(_, _, tls)| tls.clone());
        out.push(Cluster {
            http2,
            tls,
            http1_trailers: c.http1_trailers,
            more_endpoints,
            lb_policy: c.lb_policy.clone(),
            metadata: c.metadata.clone(),
            ..Cluster::new(&c.name, endpoint)
        });
    }
    out
}

/// A configuration as the plugin gets it: a string as is, anything else as JSON.
fn config_string(value: &Option<Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

fn plugin(p: &PluginSpec) -> anyhow::Result<Plugin> {
    Ok(Plugin {
        root_id: p.root_id.clone(),
        vm_id: p.vm_id.clone(),
        configuration: config_string(&p.configuration),
        vm_configuration: config_string(&p.vm_configuration),
        failure_policy: p.failure_policy.clone(),
        allow_on_headers_stop_iteration: p.allow_on_headers_stop_iteration,
        environment_variables: p.environment_variables.clone(),
        ..Plugin::new(p.name(), paths::filter(&p.filter)?)
    })
}

/// The case's config, both hosts' view.
pub fn twin(case: &Case, targets: &Targets) -> anyhow::Result<Twin> {
    let virtual_hosts = match &case.virtual_hosts {
        Some(list) => list
            .as_array()
            .context("virtual_hosts must be a list")?
            .iter()
            .map(VirtualHost::from_weir)
            .collect::<anyhow::Result<_>>()?,
        None => vec![VirtualHost::any(vec![Route::prefix("default", "/").to_cluster("upstream")])],
    };
    let chain: Vec<&str> = case.plugins.iter().map(PluginSpec::name).collect();
    let listener = Listener {
        virtual_hosts,
        options: case.listener.clone().unwrap_or_default(),
        tls: targets.listener_tls.clone(),
        ..Listener::new("main", Vec::new()).chain(&chain)
    };
    Ok(Twin {
        admin_port: 0,
        listeners: vec![listener],
        clusters: clusters(case, targets),
        plugins: case.plugins.iter().map(plugin).collect::<anyhow::Result<_>>()?,
        node: case.node.clone(),
    })
}

/// weir's `weir.yaml` for the case.
pub fn weir_config(case: &Case, targets: &Targets) -> anyhow::Result<String> {
    twin(case, targets)?.weir_yaml()
}

/// Envoy's bootstrap for the case.
pub fn envoy_config(case: &Case, targets: &Targets) -> anyhow::Result<String> {
    twin(case, targets)?.envoy_yaml(&WeirDefaults)
}
