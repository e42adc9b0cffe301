//! LDS: the listeners the control plane gives this node (wildcard), translated by
//! [`crate::config::envoy::listener`] next to `weir.yaml`'s; their Wasm filters become
//! plugins, their `rds` names join the RDS subscription.
//!
//! An update replaces every dynamic listener: new ones start (their sockets bound before the
//! update is ACKed), removed ones stop accepting and drain, changed ones take the new config
//! for new requests. Applied whole or NACKed with every refused field.

use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::google::protobuf::Any;
use parking_lot::Mutex;
use weir_xds::client::{Applied, Subscription};
use weir_xds::convert::unpack;
use weir_xds::types;

use super::rds::{self, DynamicRoutes};
use crate::config::ListenerConfig;
use crate::config::envoy::{MAX_LDS_LISTENERS, Refusals, listener};
use crate::process::ProcessControl;

/// The names of the listeners LDS gave (the others are `weir.yaml`'s).
#[derive(Debug, Default)]
pub struct DynamicListeners {
    names: Mutex<Vec<String>>,
}

impl DynamicListeners {
    /// Applies an LDS update; asks for the route configurations every listener now names.
    pub fn apply(
        &self,
        state: &dyn ProcessControl,
        routes: &DynamicRoutes,
        resources: &[Any],
    ) -> Result<Applied, String> {
        let mut names = self.names.lock();
        let listeners = translate(resources)?;
        let generation = state.generation();
        let base = generation.config.listeners.iter().filter(|l| !names.contains(&l.name));
        let all: Vec<&ListenerConfig> = base.chain(&listeners.0).collect();
        let route_names = rds::names(all.iter().copied());
        let hosts = routes.for_listeners(all.iter().copied())?;
        let next: Vec<String> = listeners.0.iter().map(|l| l.name.clone()).collect();
        state.set_xds_listeners(listeners.0, listeners.1, hosts).map_err(|e| e.to_string())?;
        *names = next;
        routes.subscribe(route_names.clone());
        Ok(Applied {
            resubscribe: vec![Subscription { type_url: types::ROUTE.into(), resource_names: route_names }],
        })
    }
}

/// Every listener of an update, and the plugins their filters need.
fn translate(resources: &[Any]) -> Result<(Vec<ListenerConfig>, Vec<crate::config::PluginConfig>), String> {
    if resources.len() > MAX_LDS_LISTENERS {
        return Err(format!(
            "{} listeners: weir takes at most {MAX_LDS_LISTENERS} from LDS",
            resources.len()
        ));
    }
    let mut listeners: Vec<ListenerConfig> = Vec::new();
    let mut plugins = Vec::new();
    let mut errors = Vec::new();
    for any in resources {
        let pb = match unpack::<Listener>(any) {
            Ok(pb) => pb,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        let mut refusals = Refusals::default();
        let translated = listener::checked(&pb, &mut plugins, &mut refusals);
        match (refusals.into_result(()), translated) {
            (Ok(()), Some(l)) if listeners.iter().any(|o| o.name == l.name) => {
                errors.push(format!("listener `{}` is given twice", l.name));
            }
            (Ok(()), Some(l)) => listeners.push(l),
            (Ok(()), None) => errors.push(format!("listener `{}` could not be translated", pb.name)),
            (Err(e), _) => errors.push(format!("listener `{}`: {e}", pb.name)),
        }
    }
    if errors.is_empty() { Ok((listeners, plugins)) } else { Err(errors.join("\n")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_listeners_than_the_cap_are_refused_before_any_is_read() {
        let resources = vec![Any::default(); MAX_LDS_LISTENERS + 1];
        let e = translate(&resources).unwrap_err();
        assert!(e.contains("1001 listeners: weir takes at most 1000"), "{e}");
    }
}
