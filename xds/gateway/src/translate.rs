//! Manifests → per Gateway: Envoy listeners (one per port), route configurations (a virtual
//! host per hostname, routes in the spec's precedence), clusters and endpoints; and the status
//! of every GatewayClass, Gateway and HTTPRoute of weir-cp's.

use std::collections::BTreeMap;

use gateway_api::httproutes::{HttpRoute, HttpRouteRules};
use serde_json::Value;

use crate::attach::{self, Attachment};
use crate::backends::{self, Catalog, Clusters};
use crate::conditions::{self, Condition, RouteParentStatus, RouteStatus, Status};
use crate::filters;
use crate::key::Key;
use crate::manifests::Manifests;
use crate::matches::{self, Precedence};
use crate::plugins::Plugin;
use crate::{CONTROLLER_NAME, envoy, gateways, hostname, output};

/// What one Gateway is served as (to the nodes of its group).
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayResources {
    /// Which Gateway.
    pub key: Key,
    /// Envoy `Listener`s.
    pub listeners: Vec<Value>,
    /// Envoy `RouteConfiguration`s.
    pub routes: Vec<Value>,
    /// Envoy `Cluster`s.
    pub clusters: Vec<Value>,
    /// Envoy `ClusterLoadAssignment`s.
    pub endpoints: Vec<Value>,
}

/// The result of [`translate`].
#[derive(Debug, Clone)]
pub struct Translation {
    /// Per Gateway of weir-cp's.
    pub gateways: Vec<GatewayResources>,
    /// The status conditions.
    pub status: Status,
}

/// A rule, translated: per match, its precedence and its Envoy routes.
struct Rule {
    matches: Vec<(Precedence, Vec<Value>)>,
}

/// Most route entries one Gateway serves: a route that would pass it is not accepted.
pub const MAX_ROUTE_ENTRIES: usize = 20_000;

/// Where a route entry ranks: the spec's precedence, then the older route, then the route's
/// name, then the rule's and match's order.
pub(crate) type Rank = (Precedence, (bool, Option<String>), Key, usize, usize);

/// Route entries of one Gateway: by port, by hostname.
pub(crate) type Table = BTreeMap<u16, BTreeMap<Option<String>, Vec<(Rank, Vec<Value>)>>>;

/// The largest weight of a backendRef (the CRD's).
const MAX_WEIGHT: i32 = 1_000_000;

/// Translates `manifests`.
pub fn translate(manifests: &Manifests) -> Translation {
    let (classes, mut gateways) = gateways::ours(manifests);
    let mut catalog = Catalog::new(manifests);
    let mut tables: Vec<Table> = gateways.iter().map(|_| Table::new()).collect();
    let mut clusters: Vec<Clusters> = gateways.iter().map(|_| Clusters::default()).collect();
    let mut attached: Vec<Vec<Key>> = gateways.iter().map(|_| Vec::new()).collect();
    let mut routes = Vec::new();
    for (key, route) in &manifests.routes {
        let (parents, attachments) = attach::attach(key, route, &gateways, manifests);
        if parents.is_empty() {
            continue;
        }
        let mut used = Clusters::default();
        let mut compiled = compile(key, route, manifests, &mut catalog, &mut used);
        // Every Gateway it attaches to must have room for its entries.
        if let Ok((rules, _)) = &compiled {
            let entries: usize = rules.iter().map(|r| r.matches.len()).sum();
            let full = attachments.iter().any(|a| {
                let held: usize = tables[a.gateway].values().flat_map(|h| h.values()).map(Vec::len).sum();
                held + entries * a.hosts.len() > MAX_ROUTE_ENTRIES
            });
            if full {
                compiled =
                    Err(format!("its Gateway would serve more than {MAX_ROUTE_ENTRIES} route entries"));
            }
        }
        let resolved = match &compiled {
            Ok((_, Some(problem))) => problem.clone(),
            _ => Condition::yes("ResolvedRefs", "ResolvedRefs", "all backendRefs resolved"),
        };
        let mut statuses = Vec::new();
        for parent in parents {
            let accepted = match (&compiled, parent.accepted.status) {
                (Err(reason), "True") => Condition::no("Accepted", "UnsupportedValue", reason.clone()),
                _ => parent.accepted,
            };
            statuses.push(RouteParentStatus {
                parent_ref: parent.parent_ref,
                controller_name: CONTROLLER_NAME,
                conditions: conditions::observed(vec![accepted, resolved.clone()], route.metadata.generation),
            });
        }
        if let Ok((rules, _)) = &compiled {
            for a in &attachments {
                gateways[a.gateway].listeners[a.listener].attached += 1;
                if !attached[a.gateway].contains(key) {
                    attached[a.gateway].push(key.clone());
                }
                let port = gateways[a.gateway].listeners[a.listener].port;
                place(&mut tables[a.gateway], port, a, key, route, rules);
                clusters[a.gateway].extend(&used);
            }
        }
        routes.push(RouteStatus { key: key.clone(), parents: statuses });
    }
    let plugins: Vec<(Key, Result<Plugin, Condition>)> =
        manifests.plugins.iter().map(|(key, p)| (key.clone(), Plugin::new(key, p))).collect();
    let mut out = Vec::new();
    let mut statuses = Vec::new();
    for (((gateway, table), used), attached) in gateways.iter_mut().zip(tables).zip(clusters).zip(&attached) {
        let running: Vec<&Plugin> = plugins
            .iter()
            .filter_map(|(_, p)| p.as_ref().ok())
            .filter(|p| p.reaches(&gateway.key, attached))
            .collect();
        let (resources, status) = output::finish(gateway, table, used.into_resources(&catalog), &running);
        out.push(resources);
        statuses.push(status);
    }
    let wasm_plugins = plugins
        .into_iter()
        .map(|(key, p)| output::plugin_status(key, p, &gateways, &attached, manifests))
        .collect();
    let status = Status {
        controller_name: CONTROLLER_NAME,
        gateway_classes: classes,
        gateways: statuses,
        routes,
        wasm_plugins,
        ignored: manifests.ignored.clone(),
    };
    Translation { gateways: out, status }
}

/// Checks and translates a route's rules; the `ResolvedRefs` problem of its backends, if any.
fn compile(
    key: &Key,
    route: &HttpRoute,
    manifests: &Manifests,
    catalog: &mut Catalog<'_>,
    used: &mut Clusters,
) -> Result<(Vec<Rule>, Option<Condition>), String> {
    if let Some(bad) = route.spec.hostnames.iter().flatten().find(|h| !hostname::valid(h)) {
        return Err(format!("hostname {bad:?} is not valid"));
    }
    let mut problem = None;
    let mut rules = Vec::new();
    for (i, rule) in route.spec.rules.iter().flatten().enumerate() {
        let at = Place { key, rule: i };
        let compiled = compile_rule(&at, rule, manifests, catalog, used, &mut problem)
            .map_err(|e| format!("rules[{i}]: {e}"))?;
        rules.push(compiled);
    }
    Ok((rules, problem))
}

/// A rule of a route.
struct Place<'a> {
    key: &'a Key,
    rule: usize,
}

fn compile_rule(
    at: &Place<'_>,
    rule: &HttpRouteRules,
    manifests: &Manifests,
    catalog: &mut Catalog<'_>,
    used: &mut Clusters,
    problem: &mut Option<Condition>,
) -> Result<Rule, String> {
    if rule.timeouts.is_some() {
        return Err("timeouts are not supported by weir-cp".into());
    }
    let filters = filters::parse(rule.filters.as_deref().unwrap_or_default())?;
    let refs = rule.backend_refs.as_deref().unwrap_or_default();
    if refs.iter().any(|b| b.filters.as_ref().is_some_and(|f| !f.is_empty())) {
        return Err("backendRefs[].filters are not supported by weir-cp".into());
    }
    if filters.redirect.is_some() && !refs.is_empty() {
        return Err("RequestRedirect cannot be combined with backendRefs".into());
    }
    if let Some(w) = refs.iter().filter_map(|b| b.weight).find(|w| !(0..=MAX_WEIGHT).contains(w)) {
        return Err(format!("backendRefs: weight {w} is not 0 to {MAX_WEIGHT}"));
    }
    let mut backends = Vec::new();
    for b in refs {
        let (backend, invalid) = backends::resolve(at.key, b, manifests, catalog, used);
        backends.push(backend);
        if problem.is_none() {
            *problem = invalid;
        }
    }
    let matches = match rule.matches.as_deref() {
        None | Some([]) => vec![matches::translate(None)?],
        Some(list) => list.iter().map(|m| matches::translate(Some(m))).collect::<Result<_, _>>()?,
    };
    let action = envoy::action(&backends);
    let matches = matches
        .into_iter()
        .enumerate()
        .map(|(j, m)| {
            let name = format!("{}/rule/{}/match/{j}", at.key, at.rule);
            let routes =
                envoy::routes(&name, &m, &filters, &action).map_err(|e| format!("matches[{j}]: {e}"))?;
            Ok((m.precedence, routes))
        })
        .collect::<Result<_, String>>()?;
    Ok(Rule { matches })
}

/// Adds a route's entries to the table of the Gateway `a` attaches it to.
fn place(table: &mut Table, port: u16, a: &Attachment, key: &Key, route: &HttpRoute, rules: &[Rule]) {
    let created = route.metadata.creation_timestamp.as_ref().and_then(|t| serde_json::to_value(t).ok());
    let created = created.and_then(|t| t.as_str().map(str::to_string));
    let hosts = table.entry(port).or_default();
    for host in &a.hosts {
        let entries = hosts.entry(host.clone()).or_default();
        for (i, rule) in rules.iter().enumerate() {
            for (j, (precedence, routes)) in rule.matches.iter().enumerate() {
                let rank = (precedence.clone(), (created.is_none(), created.clone()), key.clone(), i, j);
                entries.push((rank, routes.clone()));
            }
        }
    }
}
