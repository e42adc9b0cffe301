//! RDS: the route configurations `rds` listeners name (in `weir.yaml`, or LDS listeners),
//! translated by [`crate::config::envoy::route`] into each listener's virtual hosts (with that
//! listener's `http_filters`, which a route's `typed_per_filter_config` may disable).
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
use crate::config::{Config, ListenerConfig, VirtualHostConfig};
use crate::process::ProcessControl;

/// The route configurations `listeners` name, each once, in order.
pub fn names<'a>(listeners: impl IntoIterator<Item = &'a ListenerConfig>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in listeners.into_iter().filter_map(|l| l.rds.as_ref()) {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// The route configurations a config's listeners name.
pub fn config_names(config: &Config) -> Vec<String> {
    names(&config.listeners)
}

/// The route configurations subscribed to (those the listeners name, changing with LDS) and
/// those received, by name.
#[derive(Debug, Default)]
pub struct DynamicRoutes {
    subscribed: Mutex<Vec<String>>,
    held: Mutex<BTreeMap<String, RouteConfiguration>>,
}

/// Every `rds` listener's virtual hosts from `held`, by listener name; an error lists every
/// route configuration refused.
pub fn routes_for<'a>(
    listeners: impl IntoIterator<Item = &'a ListenerConfig>,
    held: &BTreeMap<String, RouteConfiguration>,
) -> Result<BTreeMap<String, Vec<VirtualHostConfig>>, String> {
    let mut routes = BTreeMap::new();
    let mut errors = Vec::new();
    for listener in listeners {
        let Some(pb) = listener.rds.as_ref().and_then(|name| held.get(name)) else { continue };
        match route_configuration(pb, &listener.http_filters, "") {
            Ok(hosts) => {
                routes.insert(listener.name.clone(), hosts);
            }
            Err(e) => {
                errors.push(format!("route configuration `{}` (listener `{}`): {e}", pb.name, listener.name))
            }
        }
    }
    if errors.is_empty() { Ok(routes) } else { Err(errors.join("\n")) }
}

impl DynamicRoutes {
    /// Starts with the route configurations `weir.yaml`'s listeners name.
    pub fn new(subscribed: Vec<String>) -> DynamicRoutes {
        DynamicRoutes { subscribed: Mutex::new(subscribed), held: Mutex::default() }
    }

    /// Sets the names subscribed to (an LDS update changed the listeners).
    pub fn subscribe(&self, names: Vec<String>) {
        *self.subscribed.lock() = names;
    }

    /// Applies an RDS update.
    pub fn apply(&self, state: &dyn ProcessControl, resources: &[Any]) -> Result<(), String> {
        let subscribed = self.subscribed.lock().clone();
        let mut held = self.held.lock();
        let mut next = held.clone();
        for any in resources {
            let pb = unpack::<RouteConfiguration>(any).map_err(|e| e.to_string())?;
            if !subscribed.contains(&pb.name) {
                return Err(format!("route configuration `{}` was not subscribed to", pb.name));
            }
            next.insert(pb.name.clone(), pb);
        }
        next.retain(|name, _| subscribed.contains(name));
        let routes = routes_for(&state.generation().config.listeners, &next)?;
        state.set_xds_routes(routes).map_err(|e| e.to_string())?;
        *held = next;
        Ok(())
    }

    /// The names of the route configurations held.
    pub fn held_names(&self) -> std::collections::BTreeSet<String> {
        self.held.lock().keys().cloned().collect()
    }

    /// The virtual hosts of `listeners` from what is held.
    pub fn for_listeners<'a>(
        &self,
        listeners: impl IntoIterator<Item = &'a ListenerConfig>,
    ) -> Result<BTreeMap<String, Vec<VirtualHostConfig>>, String> {
        routes_for(listeners, &self.held.lock())
    }
}
