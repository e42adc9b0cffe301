//! `backendRefs`: a Service port resolved to an EDS cluster and its endpoints (from the
//! Service's EndpointSlices), or the reason it cannot be (its share of requests gets 500).

use std::collections::BTreeMap;

use gateway_api::httproutes::HttpRouteRulesBackendRefs;
use serde_json::{Value, json};

use crate::GROUP;
use crate::conditions::Condition;
use crate::key::Key;
use crate::manifests::Manifests;

/// The label an EndpointSlice names its Service with.
const SERVICE_LABEL: &str = "kubernetes.io/service-name";

/// One backend of a rule.
pub(crate) enum Backend {
    /// Forwarded to this cluster.
    Cluster { name: String, weight: u32 },
    /// Answered 500 (invalid, or a Service without ready endpoints).
    Fails { weight: u32 },
}

/// The clusters and endpoints a Gateway's routes use, by cluster name.
#[derive(Default)]
pub(crate) struct Clusters(BTreeMap<String, (Value, Value)>);

impl Clusters {
    /// The Envoy clusters and cluster load assignments.
    pub fn into_resources(self) -> (Vec<Value>, Vec<Value>) {
        self.0.into_values().unzip()
    }

    /// Adds `other`'s clusters.
    pub fn extend(&mut self, other: &Clusters) {
        for (name, resources) in &other.0 {
            self.0.entry(name.clone()).or_insert_with(|| resources.clone());
        }
    }
}

/// Resolves `backend` of a route in `route`'s namespace: the backend, and the `ResolvedRefs`
/// problem if the reference is invalid.
pub(crate) fn resolve(
    route: &Key,
    backend: &HttpRouteRulesBackendRefs,
    manifests: &Manifests,
    clusters: &mut Clusters,
) -> (Backend, Option<Condition>) {
    let weight = u32::try_from(backend.weight.unwrap_or(1)).unwrap_or(0);
    let fails = |reason: &'static str, message: String| {
        (Backend::Fails { weight }, Some(Condition::no("ResolvedRefs", reason, message)))
    };
    let group = backend.group.as_deref().unwrap_or("");
    let kind = backend.kind.as_deref().unwrap_or("Service");
    if !group.is_empty() || kind != "Service" {
        return fails(
            "InvalidKind",
            format!("backendRef {group}/{kind} {}: only Services are backends", backend.name),
        );
    }
    let namespace = backend.namespace.as_deref().unwrap_or(&route.namespace);
    let service = Key::new(namespace, &backend.name);
    if namespace != route.namespace && !granted(manifests, route, &service) {
        return fails(
            "RefNotPermitted",
            format!(
                "Service {service}: no ReferenceGrant in {namespace} allows HTTPRoutes from {}",
                route.namespace
            ),
        );
    }
    let Some(svc) = manifests.services.get(&service) else {
        return fails("BackendNotFound", format!("Service {service} not found"));
    };
    let Some(port) = backend.port else {
        return fails("BackendNotFound", format!("Service {service}: backendRef has no port"));
    };
    let ports = svc.spec.as_ref().and_then(|s| s.ports.as_deref()).unwrap_or_default();
    let Some(service_port) = ports.iter().find(|p| p.port == port) else {
        return fails("BackendNotFound", format!("Service {service} has no port {port}"));
    };
    let endpoints = ready_endpoints(manifests, &service, service_port.name.as_deref());
    if endpoints.is_empty() {
        return (Backend::Fails { weight }, None);
    }
    let name = format!("{}:{port}", service.id());
    clusters.0.entry(name.clone()).or_insert_with(|| {
        let cluster = json!({
            "name": name,
            "type": "EDS",
            "eds_cluster_config": {"eds_config": {"ads": {}, "resource_api_version": "V3"}},
        });
        let lb: Vec<Value> = endpoints
            .iter()
            .map(|(address, port)| {
                json!({"endpoint": {"address": {"socket_address": {"address": address, "port_value": port}}}})
            })
            .collect();
        (cluster, json!({"cluster_name": name, "endpoints": [{"lb_endpoints": lb}]}))
    });
    (Backend::Cluster { name, weight }, None)
}

/// Whether a ReferenceGrant in `to`'s namespace lets HTTPRoutes of `from`'s namespace use
/// Service `to`.
fn granted(manifests: &Manifests, from: &Key, to: &Key) -> bool {
    manifests.grants.iter().filter(|(key, _)| key.namespace == to.namespace).any(|(_, grant)| {
        grant
            .spec
            .from
            .iter()
            .any(|f| f.group == GROUP && f.kind == "HTTPRoute" && f.namespace == from.namespace)
            && grant.spec.to.iter().any(|t| {
                t.group.is_empty() && t.kind == "Service" && t.name.as_deref().is_none_or(|n| n == to.name)
            })
    })
}

/// The ready `(address, port)`s of Service `service`'s port named `port_name`, from its
/// EndpointSlices.
fn ready_endpoints(manifests: &Manifests, service: &Key, port_name: Option<&str>) -> Vec<(String, u16)> {
    let mut out = Vec::new();
    for (key, slice) in &manifests.slices {
        let labels = slice.metadata.labels.as_ref();
        if key.namespace != service.namespace
            || labels.and_then(|l| l.get(SERVICE_LABEL)) != Some(&service.name)
        {
            continue;
        }
        let ports = slice.ports.as_deref().unwrap_or_default();
        let port = ports
            .iter()
            .find(|p| p.name.as_deref().unwrap_or("") == port_name.unwrap_or(""))
            .and_then(|p| p.port)
            .and_then(|p| u16::try_from(p).ok());
        let Some(port) = port else { continue };
        for endpoint in &slice.endpoints {
            if endpoint.conditions.as_ref().and_then(|c| c.ready) == Some(false) {
                continue;
            }
            for address in &endpoint.addresses {
                if address.parse::<std::net::IpAddr>().is_ok() && !out.contains(&(address.clone(), port)) {
                    out.push((address.clone(), port));
                }
            }
        }
    }
    out
}
