//! weir-cp's GatewayClasses and Gateways: which are ours, their bind address, and each
//! listener's hostname, the routes it allows, and whether it can be programmed.

use std::net::IpAddr;

use gateway_api::gateways::{
    Gateway, GatewayListeners, GatewayListenersAllowedRoutesNamespacesFrom as From,
    GatewayListenersAllowedRoutesNamespacesSelector as Selector,
};

use crate::conditions::{Condition, GatewayClassStatus, RouteKind};
use crate::key::Key;
use crate::manifests::Manifests;
use crate::{CONTROLLER_NAME, GROUP, hostname};

/// A Gateway of weir-cp's.
pub(crate) struct GatewayModel<'a> {
    pub key: Key,
    pub gateway: &'a Gateway,
    /// The address its listeners bind, or why it has none weir-cp can use.
    pub address: Result<IpAddr, String>,
    pub listeners: Vec<ListenerModel>,
}

/// A Gateway listener.
pub(crate) struct ListenerModel {
    pub name: String,
    pub port: u16,
    pub hostname: Option<String>,
    /// Which namespaces' routes it takes.
    pub from: From,
    pub selector: Option<Selector>,
    /// Whether HTTPRoutes may attach (its `allowedRoutes.kinds` lists it, or lists none).
    pub takes_http_routes: bool,
    pub supported_kinds: Vec<RouteKind>,
    /// `Accepted`, `ResolvedRefs`, `Conflicted` (and `Programmed`, added once known).
    pub conditions: Vec<Condition>,
    /// Whether its routes are served (accepted, not in conflict).
    pub usable: bool,
    pub attached: i32,
}

impl ListenerModel {
    /// Whether a route in namespace `route_ns` may attach, by namespace.
    pub fn allows_namespace(&self, gateway_ns: &str, route_ns: &str, manifests: &Manifests) -> bool {
        match self.from {
            From::All => true,
            From::Same => gateway_ns == route_ns,
            From::Selector => {
                let labels = manifests.namespaces.get(route_ns).and_then(|n| n.metadata.labels.clone());
                let mut labels = labels.unwrap_or_default();
                // The label Kubernetes gives every namespace.
                labels.insert("kubernetes.io/metadata.name".into(), route_ns.to_string());
                self.selector.as_ref().is_some_and(|s| {
                    s.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v))
                        && s.match_expressions.iter().flatten().all(|e| {
                            let values = e.values.as_deref().unwrap_or_default();
                            let value = labels.get(&e.key);
                            match e.operator.as_str() {
                                "In" => value.is_some_and(|v| values.contains(v)),
                                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                                "Exists" => value.is_some(),
                                "DoesNotExist" => value.is_none(),
                                _ => false,
                            }
                        })
                })
            }
        }
    }
}

/// The GatewayClasses naming [`CONTROLLER_NAME`] (all accepted) and their Gateways.
pub(crate) fn ours(manifests: &Manifests) -> (Vec<GatewayClassStatus>, Vec<GatewayModel<'_>>) {
    let classes: Vec<GatewayClassStatus> = manifests
        .classes
        .iter()
        .filter(|(_, c)| c.spec.controller_name == CONTROLLER_NAME)
        .map(|(name, c)| GatewayClassStatus {
            name: name.clone(),
            conditions: crate::conditions::observed(
                vec![Condition::yes("Accepted", "Accepted", "weir-cp serves this class")],
                c.metadata.generation,
            ),
        })
        .collect();
    let gateways = manifests
        .gateways
        .iter()
        .filter(|(_, g)| classes.iter().any(|c| c.name == g.spec.gateway_class_name))
        .map(|(key, gateway)| model(key, gateway))
        .collect();
    (classes, gateways)
}

fn model<'a>(key: &Key, gateway: &'a Gateway) -> GatewayModel<'a> {
    let address = match gateway.spec.addresses.as_deref().unwrap_or_default() {
        [] => Ok(IpAddr::from([0, 0, 0, 0])),
        [one] if one.r#type.as_deref().is_none_or(|t| t == "IPAddress") => {
            let value = one.value.as_deref().unwrap_or_default();
            value.parse().map_err(|_| format!("addresses[0].value: {value:?} is not an IP address"))
        }
        [_] => Err("addresses[0].type: weir-cp binds IPAddress addresses only".into()),
        _ => Err("addresses: weir-cp binds one address per Gateway".into()),
    };
    let mut listeners: Vec<ListenerModel> = gateway.spec.listeners.iter().map(listener).collect();
    // Two listeners on one port with one hostname: both in conflict, neither served.
    for i in 0..listeners.len() {
        let clash = listeners.iter().enumerate().any(|(j, other)| {
            j != i && other.port == listeners[i].port && other.hostname == listeners[i].hostname
        });
        if clash {
            let l = &mut listeners[i];
            l.usable = false;
            l.conditions.retain(|c| c.kind != "Conflicted");
            l.conditions.push(Condition::yes(
                "Conflicted",
                "HostnameConflict",
                "another listener has this port and hostname",
            ));
        }
    }
    GatewayModel { key: key.clone(), gateway, address, listeners }
}

fn listener(l: &GatewayListeners) -> ListenerModel {
    let mut conditions = Vec::new();
    let mut usable = true;
    let port = u16::try_from(l.port).ok().filter(|p| *p > 0);
    if l.protocol != "HTTP" {
        usable = false;
        conditions.push(Condition::no(
            "Accepted",
            "UnsupportedProtocol",
            format!("protocol {}: weir-cp serves HTTP listeners only", l.protocol),
        ));
    } else if port.is_none() {
        usable = false;
        conditions.push(Condition::no(
            "Accepted",
            "UnsupportedValue",
            format!("port {} is not 1-65535", l.port),
        ));
    } else if let Some(host) = l.hostname.as_deref().filter(|h| !hostname::valid(h)) {
        usable = false;
        conditions.push(Condition::no(
            "Accepted",
            "UnsupportedValue",
            format!("hostname {host:?} is not valid"),
        ));
    } else {
        conditions.push(Condition::yes("Accepted", "Accepted", "listener accepted"));
    }
    let allowed = l.allowed_routes.as_ref();
    let namespaces = allowed.and_then(|a| a.namespaces.as_ref());
    let from = namespaces.and_then(|n| n.from.clone()).unwrap_or(From::Same);
    let selector = namespaces.and_then(|n| n.selector.clone());
    let http = RouteKind { group: GROUP.into(), kind: "HTTPRoute".into() };
    // No list, or an empty one: the protocol's default kinds (HTTPRoute for HTTP).
    let (takes_http_routes, supported_kinds) =
        match allowed.and_then(|a| a.kinds.as_ref()).filter(|k| !k.is_empty()) {
            None => (true, vec![http]),
            Some(kinds) => {
                let valid = |k: &&gateway_api::gateways::GatewayListenersAllowedRoutesKinds| {
                    k.kind == "HTTPRoute" && k.group.as_deref().is_none_or(|g| g == GROUP)
                };
                let takes = kinds.iter().any(|k| valid(&k));
                if kinds.iter().any(|k| !valid(&k)) {
                    conditions.push(Condition::no(
                        "ResolvedRefs",
                        "InvalidRouteKinds",
                        "allowedRoutes.kinds lists a kind other than HTTPRoute",
                    ));
                }
                (takes, if takes { vec![http] } else { Vec::new() })
            }
        };
    if !conditions.iter().any(|c| c.kind == "ResolvedRefs") {
        conditions.push(Condition::yes("ResolvedRefs", "ResolvedRefs", "references resolved"));
    }
    conditions.push(Condition::no("Conflicted", "NoConflicts", "no conflicts"));
    ListenerModel {
        name: l.name.clone(),
        port: port.unwrap_or_default(),
        hostname: l.hostname.clone(),
        from,
        selector,
        takes_http_routes,
        supported_kinds,
        conditions,
        usable,
        attached: 0,
    }
}
