//! Which listeners of weir-cp's Gateways an HTTPRoute attaches to (its `parentRefs`, the
//! listeners' `allowedRoutes`, hostname intersection), and its `Accepted` condition per parent.

use gateway_api::httproutes::HttpRoute;

use crate::conditions::{Condition, ParentRef};
use crate::gateways::GatewayModel;
use crate::key::Key;
use crate::manifests::Manifests;
use crate::{GROUP, hostname};

/// A route served on a listener, for these hostnames (`None`: any).
pub(crate) struct Attachment {
    pub gateway: usize,
    pub listener: usize,
    pub hosts: Vec<Option<String>>,
}

/// One parent of weir-cp's: how the route names it, and the route's `Accepted` there.
pub(crate) struct Parent {
    pub parent_ref: ParentRef,
    pub accepted: Condition,
}

/// The route's parents among `gateways` and where it attaches.
pub(crate) fn attach(
    key: &Key,
    route: &HttpRoute,
    gateways: &[GatewayModel<'_>],
    manifests: &Manifests,
) -> (Vec<Parent>, Vec<Attachment>) {
    let mut parents = Vec::new();
    let mut attachments: Vec<Attachment> = Vec::new();
    let hostnames = route.spec.hostnames.as_deref().unwrap_or_default();
    for p in route.spec.parent_refs.iter().flatten() {
        if p.group.as_deref().unwrap_or(GROUP) != GROUP || p.kind.as_deref().unwrap_or("Gateway") != "Gateway"
        {
            continue;
        }
        let namespace = p.namespace.clone().unwrap_or_else(|| key.namespace.clone());
        let gateway_key = Key::new(&namespace, &p.name);
        let Some(g) = gateways.iter().position(|g| g.key == gateway_key) else {
            continue;
        };
        let gateway = &gateways[g];
        let parent_ref =
            ParentRef { namespace, name: p.name.clone(), section_name: p.section_name.clone(), port: p.port };
        let named: Vec<usize> = (0..gateway.listeners.len())
            .filter(|i| {
                let l = &gateway.listeners[*i];
                p.section_name.as_ref().is_none_or(|s| *s == l.name)
                    && p.port.is_none_or(|port| port == i32::from(l.port))
            })
            .collect();
        let accepted = if named.is_empty() {
            Condition::no(
                "Accepted",
                "NoMatchingParent",
                "no listener of the Gateway has this sectionName and port",
            )
        } else {
            let allowing: Vec<usize> = named
                .into_iter()
                .filter(|i| {
                    let l = &gateway.listeners[*i];
                    gateway.address.is_ok()
                        && l.usable
                        && l.takes_http_routes
                        && l.allows_namespace(&gateway.key.namespace, &key.namespace, manifests)
                })
                .collect();
            let mut found = Vec::new();
            for i in &allowing {
                if let Some(hosts) = hostname::intersect(gateway.listeners[*i].hostname.as_deref(), hostnames)
                {
                    found.push(Attachment { gateway: g, listener: *i, hosts });
                }
            }
            for a in found.iter_mut() {
                a.hosts.retain(|h| most_specific(gateway, a.listener, h.as_deref()));
            }
            // Attached, though each of its hostnames may be served by a more specific listener.
            let attached = !found.is_empty();
            found.retain(|a| !a.hosts.is_empty());
            if allowing.is_empty() {
                Condition::no(
                    "Accepted",
                    "NotAllowedByListeners",
                    "no listener allows this route (namespace, kind or state)",
                )
            } else if !attached {
                Condition::no(
                    "Accepted",
                    "NoMatchingListenerHostname",
                    "the route's hostnames and the listeners' do not meet",
                )
            } else {
                for a in found {
                    // One attachment per listener, however many parentRefs lead to it.
                    match attachments.iter_mut().find(|b| b.gateway == a.gateway && b.listener == a.listener)
                    {
                        Some(b) => {
                            for h in a.hosts {
                                if !b.hosts.contains(&h) {
                                    b.hosts.push(h);
                                }
                            }
                        }
                        None => attachments.push(a),
                    }
                }
                Condition::yes("Accepted", "Accepted", "route accepted")
            }
        };
        parents.push(Parent { parent_ref, accepted });
    }
    (parents, attachments)
}

/// Whether listener `listener` is, of the Gateway's served listeners on its port, the one
/// whose hostname matches `host` most specifically (an exact name, then the longest wildcard,
/// then none): requests for `host` go to that listener's routes only.
fn most_specific(gateway: &GatewayModel<'_>, listener: usize, host: Option<&str>) -> bool {
    let Some(host) = host else { return true };
    let port = gateway.listeners[listener].port;
    let rank = |hostname: Option<&str>| -> Option<(u8, usize)> {
        match hostname {
            None => Some((0, 0)),
            Some(l) if l == host => Some((2, l.len())),
            Some(l) if hostname::within(host, l) => Some((1, l.len())),
            Some(_) => None,
        }
    };
    let own = rank(gateway.listeners[listener].hostname.as_deref());
    let best = gateway
        .listeners
        .iter()
        .filter(|l| l.usable && l.port == port)
        .filter_map(|l| rank(l.hostname.as_deref()))
        .max();
    own.is_some() && own == best
}
