//! RDS: the route configurations `rds` listeners name, translated by
//! [`crate::config::envoy::route`] into each listener's virtual hosts (with that listener's
//! `http_filters`, which a route's `typed_per_filter_config` may disable).
//!
//! A response is applied whole (every listener's routes together) or NACKed with every refused
//! field; a route configuration not sent again keeps serving (RDS resources are named, not
//! the whole set).

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::google::protobuf::Any;
use parking_lot::Mutex;
use weir_xds::convert::unpack;

use crate::config::envoy::route::route_configuration;
use crate::config::{Config, VirtualHostConfig};
use crate::process::ProcessControl;

/// The route configurations `rds` listeners name, each once, in order.
pub fn names(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in config.listeners.iter().filter_map(|l| l.rds.as_ref()) {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// The route configurations received, by name.
#[derive(Debug, Default)]
pub struct DynamicRoutes {
    held: Mutex<BTreeMap<String, RouteConfiguration>>,
}

impl DynamicRoutes {
    /// Applies an RDS update.
    pub fn apply(
        &self,
        state: &dyn ProcessControl,
        resources: &[Any],
        subscribed: &[String],
    ) -> Result<(), String> {
        let mut held = self.held.lock();
        let mut next = held.clone();
        for any in resources {
            let pb = unpack::<RouteConfiguration>(any).map_err(|e| e.to_string())?;
            if !subscribed.contains(&pb.name) {
                return Err(format!("route configuration `{}` was not subscribed to", pb.name));
            }
            next.insert(pb.name.clone(), pb);
        }
        let generation = state.generation();
        let mut routes: BTreeMap<String, Vec<VirtualHostConfig>> = BTreeMap::new();
        let mut errors = Vec::new();
        for listener in &generation.config.listeners {
            let Some(pb) = listener.rds.as_ref().and_then(|name| next.get(name)) else { continue };
            let at = format!("route configuration `{}` (listener `{}`)", pb.name, listener.name);
            match route_configuration(pb, &listener.http_filters, "") {
                Ok(hosts) => {
                    routes.insert(listener.name.clone(), hosts);
                }
                Err(e) => errors.push(format!("{at}: {e}")),
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        state.set_xds_routes(routes).map_err(|e| e.to_string())?;
        *held = next;
        Ok(())
    }
}
