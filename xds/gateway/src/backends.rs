//! `backendRefs`: a Service port resolved to an EDS cluster and its endpoints (from the
//! Service's EndpointSlices), or the reason it cannot be (its share of requests gets 500).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use gateway_api::httproutes::HttpRouteRulesBackendRefs;
use k8s_openapi::api::discovery::v1::EndpointSlice;
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

/// Every Service port's cluster and endpoints, made once per translation when a route first
/// uses it (`None`: no ready endpoint); and each Service's EndpointSlices.
pub(crate) struct Catalog<'a> {
    made: BTreeMap<String, Option<(Value, Value)>>,
    slices: BTreeMap<Key, Vec<&'a EndpointSlice>>,
}

impl<'a> Catalog<'a> {
    /// Indexes `manifests`' EndpointSlices by Service.
    pub fn new(manifests: &'a Manifests) -> Catalog<'a> {
        let mut slices: BTreeMap<Key, Vec<&EndpointSlice>> = BTreeMap::new();
        for (key, slice) in &manifests.slices {
            if let Some(service) = slice.metadata.labels.as_ref().and_then(|l| l.get(SERVICE_LABEL)) {
                slices.entry(Key::new(&key.namespace, service)).or_default().push(slice);
            }
        }
        Catalog { made: BTreeMap::new(), slices }
    }
}

/// The clusters a Gateway's routes use, by name.
#[derive(Default)]
pub(crate) struct Clusters(BTreeSet<String>);

impl Clusters {
    /// The Envoy clusters and cluster load assignments.
    pub fn into_resources(self, catalog: &Catalog<'_>) -> (Vec<Value>, Vec<Value>) {
        self.0.iter().filter_map(|name| catalog.made.get(name).cloned().flatten()).unzip()
    }

    /// Adds `other`'s clusters.
    pub fn extend(&mut self, other: &Clusters) {
        self.0.extend(other.0.iter().cloned());
    }
}

/// Resolves `backend` of a route in `route`'s namespace: the backend, and the `ResolvedRefs`
/// problem if the reference is invalid.
pub(crate) fn resolve(
    route: &Key,
    backend: &HttpRouteRulesBackendRefs,
    manifests: &Manifests,
    catalog: &mut Catalog<'_>,
    clusters: &mut Clusters,
) -> (Backend, Option<Condition>) {
    // Checked by the route (0 to 1,000,000).
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
    let name = format!("{}:{port}", service.id());
    if !catalog.made.contains_key(&name) {
        let endpoints = ready_endpoints(catalog, &service, service_port.name.as_deref());
        let made = (!endpoints.is_empty()).then(|| {
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
        catalog.made.insert(name.clone(), made);
    }
    if catalog.made.get(&name).is_none_or(Option::is_none) {
        return (Backend::Fails { weight }, None);
    }
    clusters.0.insert(name.clone());
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
/// EndpointSlices, each once.
fn ready_endpoints(catalog: &Catalog<'_>, service: &Key, port_name: Option<&str>) -> Vec<(String, u16)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for slice in catalog.slices.get(service).into_iter().flatten() {
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
                if address.parse::<std::net::IpAddr>().is_ok() && seen.insert((address.as_str(), port)) {
                    out.push((address.clone(), port));
                }
            }
        }
    }
    out
}
