//! What a Gateway becomes once its routes are placed: its listeners (with the Wasm plugins
//! that reach it) and route configurations, its status; and each plugin's status.

use serde_json::{Value, json};

use crate::conditions::{self, Condition, GatewayStatus, ListenerStatus};
use crate::gateways::GatewayModel;
use crate::key::Key;
use crate::manifests::Manifests;
use crate::plugins::{Plugin, PluginStatus};
use crate::translate::{GatewayResources, Rank, Table};
use crate::{envoy, hostname};

/// A Gateway's resources and status.
pub(crate) fn finish(
    gateway: &mut GatewayModel<'_>,
    mut table: Table,
    (clusters, endpoints): (Vec<Value>, Vec<Value>),
    plugins: &[&Plugin],
) -> (GatewayResources, GatewayStatus) {
    let generation = gateway.gateway.metadata.generation;
    let address = gateway.address.clone();
    let mut listeners = Vec::new();
    let mut route_configs = Vec::new();
    let mut statuses = Vec::new();
    for l in &gateway.listeners {
        let programmed = l.usable && address.is_ok();
        if programmed {
            // A listener's own hostname has a virtual host even without routes: its requests
            // are answered 404, not by another listener's routes.
            table.entry(l.port).or_default().entry(l.hostname.clone()).or_default();
        }
        let mut conditions = l.conditions.clone();
        conditions.push(match programmed {
            true => Condition::yes("Programmed", "Programmed", "served"),
            false => Condition::no("Programmed", "Invalid", "not served"),
        });
        statuses.push(ListenerStatus {
            name: l.name.clone(),
            attached_routes: l.attached,
            supported_kinds: l.supported_kinds.clone(),
            conditions: conditions::observed(conditions, generation),
        });
    }
    if let Ok(ip) = address {
        for (port, mut hosts) in table {
            let name = format!("{}:{port}", gateway.key.id());
            let filters: Vec<Value> = plugins.iter().map(|p| p.filter.clone()).collect();
            listeners.push(envoy::listener(&name, ip, port, &filters));
            // Plugins that run on some routes only must not meet requests no route takes:
            // those end on a last route, answering 404 as no route would, with them off.
            let route_only: Vec<&str> = plugins
                .iter()
                .filter(|p| !p.gateways.contains(&gateway.key))
                .map(|p| p.filter_name.as_str())
                .collect();
            if !route_only.is_empty() {
                hosts.entry(None).or_default();
            }
            let virtual_hosts: Vec<Value> = hosts
                .into_iter()
                .map(|(host, entries)| {
                    virtual_host(&gateway.key, host.as_deref(), entries, plugins, &route_only)
                })
                .collect();
            route_configs.push(json!({"name": name, "virtual_hosts": virtual_hosts}));
        }
    }
    let any_programmed = !listeners.is_empty();
    let conditions = match &gateway.address {
        Ok(_) => vec![
            Condition::yes("Accepted", "Accepted", "weir-cp serves this Gateway"),
            match any_programmed {
                true => Condition::yes("Programmed", "Programmed", "served to the nodes of its group"),
                false => Condition::no("Programmed", "Invalid", "no listener can be served"),
            },
        ],
        Err(reason) => vec![
            Condition::no("Accepted", "UnsupportedAddress", reason.clone()),
            Condition::no("Programmed", "AddressNotUsable", reason.clone()),
        ],
    };
    let resources =
        GatewayResources { key: gateway.key.clone(), listeners, routes: route_configs, clusters, endpoints };
    let status = GatewayStatus {
        key: gateway.key.clone(),
        conditions: conditions::observed(conditions, generation),
        listeners: statuses,
    };
    (resources, status)
}

/// The virtual host for `host` (`None`: any) of Gateway `gateway`: its route entries in
/// order, each with the plugins it does not run off; a last 404 route with `route_only` off.
fn virtual_host(
    gateway: &Key,
    host: Option<&str>,
    mut entries: Vec<(Rank, Vec<Value>)>,
    plugins: &[&Plugin],
    route_only: &[&str],
) -> Value {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut routes = Vec::new();
    for (rank, entry) in entries {
        let off: Vec<&str> = plugins
            .iter()
            .filter(|p| !p.runs_for(gateway, &rank.2))
            .map(|p| p.filter_name.as_str())
            .collect();
        for mut route in entry {
            envoy::disable(&mut route, &off);
            routes.push(route);
        }
    }
    if !route_only.is_empty() {
        let mut last = json!({"name": "weir-gateway/no-route", "match": {"prefix": "/"}, "direct_response": {"status": 404}});
        envoy::disable(&mut last, route_only);
        routes.push(last);
    }
    json!({"name": host.unwrap_or("*"), "domains": hostname::domains(host), "routes": routes})
}

/// A plugin's status: where it runs, and whether every target was found.
pub(crate) fn plugin_status(
    key: Key,
    plugin: Result<Plugin, Condition>,
    gateways: &[GatewayModel<'_>],
    attached: &[Vec<Key>],
    manifests: &Manifests,
) -> PluginStatus {
    let generation = manifests.plugins.get(&key).and_then(|p| p.metadata.generation);
    let plugin = match plugin {
        Ok(plugin) => plugin,
        Err(condition) => {
            return PluginStatus {
                key,
                gateways: Vec::new(),
                conditions: conditions::observed(vec![condition], generation),
            };
        }
    };
    let running: Vec<String> = gateways
        .iter()
        .zip(attached)
        .filter(|(g, routes)| plugin.reaches(&g.key, routes))
        .map(|(g, _)| g.key.to_string())
        .collect();
    let missing: Vec<String> = plugin
        .gateways
        .iter()
        .filter(|t| !gateways.iter().any(|g| g.key == **t))
        .map(|t| format!("Gateway {t}"))
        .chain(
            plugin
                .routes
                .iter()
                .filter(|t| !manifests.routes.contains_key(*t))
                .map(|t| format!("HTTPRoute {t}")),
        )
        .collect();
    let accepted = match missing.is_empty() {
        true => Condition::yes("Accepted", "Accepted", "every target found"),
        false => Condition::no("Accepted", "TargetNotFound", format!("not found: {}", missing.join(", "))),
    };
    PluginStatus { key, gateways: running, conditions: conditions::observed(vec![accepted], generation) }
}
