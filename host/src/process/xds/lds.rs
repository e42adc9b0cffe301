//! LDS: the listeners the control plane gives this node (wildcard), translated by
//! [`crate::config::envoy::listener`] next to `weir.yaml`'s; their Wasm filters become
//! plugins, their `rds` names join the RDS subscription.
//!
//! An update replaces every dynamic listener: new ones start (their sockets bound before the
//! update is ACKed), removed ones stop accepting and drain, changed ones take the new config
//! for new requests. Applied whole or NACKed with every refused field.
//!
//! **Warming**, as Envoy's: a listener whose `rds` route configuration has not arrived yet does
//! not start (a changed one keeps serving its previous version) until that route configuration
//! arrives, or `xds.initial_fetch_timeout` after the update (then it starts without routes,
//! answering 404 until they come).

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::google::protobuf::Any;
use parking_lot::Mutex;
use weir_xds::client::{Applied, Subscription};
use weir_xds::convert::unpack;
use weir_xds::types;

use super::rds::{self, DynamicRoutes};
use crate::config::envoy::{MAX_LDS_LISTENERS, Refusals, listener};
use crate::config::{ListenerConfig, PluginConfig};
use crate::process::ProcessControl;

/// The listeners LDS gave (the others are `weir.yaml`'s).
#[derive(Debug, Default)]
pub struct DynamicListeners {
    lds: Mutex<Lds>,
}

#[derive(Debug, Default)]
struct Lds {
    /// The listeners of the last update, and the plugins their filters need.
    wanted: Vec<ListenerConfig>,
    plugins: Vec<PluginConfig>,
    /// The dynamic listeners serving (some may be the previous version of a warming one).
    serving: Vec<ListenerConfig>,
    /// Whether a wanted listener waits for its routes.
    warming: bool,
    /// When warming listeners start without their routes (`None`: they wait as long as it
    /// takes, `initial_fetch_timeout: 0s`).
    deadline: Option<Instant>,
    /// Whether a timer thread waits for `deadline`.
    timer: bool,
}

impl DynamicListeners {
    /// Applies an LDS update; asks for the route configurations every listener now names.
    /// Listeners whose routes are missing warm for up to `warm_for`.
    pub fn apply(
        self: &Arc<Self>,
        state: &Arc<dyn ProcessControl>,
        routes: &Arc<DynamicRoutes>,
        resources: &[Any],
        warm_for: Duration,
    ) -> Result<Applied, String> {
        let (wanted, plugins) = translate(resources)?;
        let mut lds = self.lds.lock();
        let previous =
            (std::mem::replace(&mut lds.wanted, wanted), std::mem::replace(&mut lds.plugins, plugins));
        let warming = match install(&mut lds, &**state, routes, false) {
            Ok(warming) => warming,
            Err(e) => {
                (lds.wanted, lds.plugins) = previous;
                return Err(e);
            }
        };
        // Routes for the base listeners, the wanted ones and those still serving while theirs warm.
        let generation = state.generation();
        let base = own_listeners(&generation.config, &lds.serving);
        let route_names = rds::names(base.chain(&lds.wanted).chain(&lds.serving));
        routes.subscribe(route_names.clone());
        lds.warming = warming;
        lds.deadline = (warming && !warm_for.is_zero()).then(|| Instant::now() + warm_for);
        if lds.deadline.is_some() && !lds.timer {
            lds.timer = true;
            self.start_timer(Arc::downgrade(state), routes.clone());
        }
        Ok(Applied {
            resubscribe: vec![Subscription { type_url: types::ROUTE.into(), resource_names: route_names }],
        })
    }

    /// Starts the listeners whose routes arrived (after an RDS update).
    pub fn routes_arrived(&self, state: &dyn ProcessControl, routes: &DynamicRoutes) -> Result<(), String> {
        let mut lds = self.lds.lock();
        if !lds.warming {
            return Ok(());
        }
        lds.warming = install(&mut lds, state, routes, false)?;
        if !lds.warming {
            lds.deadline = None;
        }
        Ok(())
    }

    /// One thread waiting for the warming deadline (which later updates may move), then
    /// starting the warming listeners without their routes.
    fn start_timer(self: &Arc<Self>, state: Weak<dyn ProcessControl>, routes: Arc<DynamicRoutes>) {
        let this = Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("weir-lds-warming".into()).spawn(move || {
            loop {
                let Some(this) = this.upgrade() else { return };
                let deadline = this.lds.lock().deadline;
                match deadline {
                    Some(at) if Instant::now() < at => std::thread::sleep(at - Instant::now()),
                    Some(_) => {
                        let mut lds = this.lds.lock();
                        let due = lds.deadline.is_some_and(|at| Instant::now() >= at);
                        if due && let Some(state) = state.upgrade() {
                            tracing::warn!("LDS: listeners start without their routes (RDS did not answer within initial_fetch_timeout)");
                            if let Err(e) = install(&mut lds, &*state, &routes, true) {
                                tracing::error!(error = %e, "LDS: warming listeners could not start");
                            }
                            (lds.warming, lds.deadline) = (false, None);
                        }
                    }
                    None => {}
                }
                let mut lds = this.lds.lock();
                if lds.deadline.is_none() {
                    lds.timer = false;
                    return;
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "LDS: cannot start the warming timer");
            self.lds.lock().timer = false;
        }
    }
}

/// `weir.yaml`'s listeners: those of the running `config` that are not the `serving` LDS ones.
fn own_listeners<'a>(
    config: &'a crate::config::Config,
    serving: &'a [ListenerConfig],
) -> impl Iterator<Item = &'a ListenerConfig> {
    config.listeners.iter().filter(|l| !serving.iter().any(|s| s.name == l.name))
}

/// Installs the wanted listeners that are ready (no `rds`, or their routes held; all with
/// `force`), the serving version of the others; returns whether any still warms.
fn install(
    lds: &mut Lds,
    state: &dyn ProcessControl,
    routes: &DynamicRoutes,
    force: bool,
) -> Result<bool, String> {
    let held = routes.held_names();
    let mut warming = false;
    let mut next = Vec::new();
    for listener in &lds.wanted {
        let ready = force || listener.rds.as_ref().is_none_or(|name| held.contains(name));
        if ready {
            next.push(listener.clone());
            continue;
        }
        warming = true;
        if let Some(previous) = lds.serving.iter().find(|l| l.name == listener.name) {
            next.push(previous.clone());
        }
    }
    let generation = state.generation();
    let hosts = routes.for_listeners(own_listeners(&generation.config, &lds.serving).chain(&next))?;
    state.set_xds_listeners(next.clone(), lds.plugins.clone(), hosts).map_err(|e| e.to_string())?;
    lds.serving = next;
    Ok(warming)
}

/// Every listener of an update, and the plugins their filters need.
fn translate(resources: &[Any]) -> Result<(Vec<ListenerConfig>, Vec<PluginConfig>), String> {
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
