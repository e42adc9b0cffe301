//! CDS and EDS: the clusters the control plane gives this node, translated by
//! [`crate::config::envoy::cluster`] and added to `weir.yaml`'s.
//!
//! As in Envoy, an EDS cluster warms: it is not used (routes to it answer 503) until its
//! endpoints arrive; a CDS update asks the client for the EDS resources of its EDS clusters
//! (and drops those no cluster names any more). Each update is applied whole or NACKed with
//! every reason, the clusters served before staying in place.

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::google::protobuf::Any;
use parking_lot::Mutex;
use weir_xds::client::{Applied, Subscription};
use weir_xds::convert::unpack;
use weir_xds::types;

use crate::config::envoy::cluster::{EnvoyCluster, cluster, load_assignment};
use crate::config::{ClusterConfig, EndpointConfig, check_cluster_settings};
use crate::process::ProcessControl;

/// What CDS and EDS brought: clusters by name, endpoints by EDS service name.
#[derive(Debug, Default)]
pub struct DynamicClusters {
    inner: Mutex<Held>,
}

#[derive(Debug, Default, Clone)]
struct Held {
    clusters: BTreeMap<String, EnvoyCluster>,
    endpoints: BTreeMap<String, Vec<EndpointConfig>>,
}

impl Held {
    /// The clusters ready to serve: static ones, and EDS ones whose endpoints arrived.
    fn ready(&self) -> Vec<ClusterConfig> {
        self.clusters
            .values()
            .filter_map(|c| match &c.eds_service {
                None => Some(c.config.clone()),
                Some(service) => self
                    .endpoints
                    .get(service)
                    .map(|endpoints| ClusterConfig { endpoints: endpoints.clone(), ..c.config.clone() }),
            })
            .collect()
    }

    /// The EDS services the clusters need, sorted, each once.
    fn services(&self) -> Vec<String> {
        let mut names: Vec<String> = self.clusters.values().filter_map(|c| c.eds_service.clone()).collect();
        names.sort();
        names.dedup();
        names
    }
}

impl DynamicClusters {
    /// Applies a CDS update (every cluster of the node); asks for the EDS services it needs.
    pub fn apply_cds(&self, state: &dyn ProcessControl, resources: &[Any]) -> Result<Applied, String> {
        let mut clusters = BTreeMap::new();
        let mut errors = Vec::new();
        for any in resources {
            let translated = unpack::<Cluster>(any).map_err(|e| e.to_string()).and_then(|pb| {
                let at = format!("cluster `{}`", pb.name);
                cluster(&pb, "").map_err(|e| format!("{at}: {e}")).and_then(|c| {
                    check_cluster_settings(&c.config, "").map_err(|e| format!("{at}: {e}"))?;
                    Ok(c)
                })
            });
            match translated {
                Ok(c) if clusters.contains_key(&c.config.name) => {
                    errors.push(format!("cluster `{}` is given twice", c.config.name));
                }
                Ok(c) => {
                    clusters.insert(c.config.name.clone(), c);
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        let mut inner = self.inner.lock();
        let mut next = Held { clusters, endpoints: inner.endpoints.clone() };
        let services = next.services();
        next.endpoints.retain(|service, _| services.contains(service));
        state.set_xds_clusters(next.ready()).map_err(|e| e.to_string())?;
        *inner = next;
        Ok(Applied {
            resubscribe: vec![Subscription { type_url: types::ENDPOINT.into(), resource_names: services }],
        })
    }

    /// Applies an EDS update (the assignments of subscribed services).
    pub fn apply_eds(&self, state: &dyn ProcessControl, resources: &[Any]) -> Result<Applied, String> {
        let mut inner = self.inner.lock();
        let services = inner.services();
        let mut next = inner.clone();
        for any in resources {
            let pb = unpack::<ClusterLoadAssignment>(any).map_err(|e| e.to_string())?;
            let at = format!("endpoints `{}`", pb.cluster_name);
            if !services.contains(&pb.cluster_name) {
                return Err(format!("{at}: no EDS cluster names this service"));
            }
            let endpoints = load_assignment(&pb, "").map_err(|e| format!("{at}: {e}"))?;
            next.endpoints.insert(pb.cluster_name, endpoints);
        }
        state.set_xds_clusters(next.ready()).map_err(|e| e.to_string())?;
        *inner = next;
        Ok(Applied::default())
    }
}
