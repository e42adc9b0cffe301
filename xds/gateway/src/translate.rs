//! Manifests → per Gateway: Envoy listeners (one per port), route configurations (a virtual
//! host per hostname, routes in the spec's precedence), clusters and endpoints; and the status
//! of every GatewayClass, Gateway and HTTPRoute of weir-cp's.

use std::collections::BTreeMap;

use gateway_api::httproutes::{HttpRoute, HttpRouteRules};
use serde_json::Value;

use crate::attach::{self, Attachment};
use crate::backends::{self, Clusters};
use crate::conditions::{self, Condition, RouteParentStatus, RouteStatus, Status};
use crate::filters::{self, Filters};
use crate::key::Key;
use crate::manifests::Manifests;
use crate::matches::{self, Match, Precedence};
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

/// A rule, translated: its matches, filters and action.
struct Rule {
    matches: Vec<Match>,
    filters: Filters,
    action: Result<Value, Value>,
}

/// Where a route entry ranks: the spec's precedence, then the older route, then the route's
/// name, then the rule's and match's order.
pub(crate) type Rank = (Precedence, (bool, Option<String>), Key, usize, usize);

/// Route entries of one Gateway: by port, by hostname.
pub(crate) type Table = BTreeMap<u16, BTreeMap<Option<String>, Vec<(Rank, Vec<Value>)>>>;

/// Translates `manifests`.
pub fn translate(manifests: &Manifests) -> Translation {
    let (classes, mut gateways) = gateways::ours(manifests);
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
        let compiled = compile(key, route, manifests, &mut used);
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
        let (resources, status) = output::finish(gateway, table, used, &running);
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
    used: &mut Clusters,
) -> Result<(Vec<Rule>, Option<Condition>), String> {
    if let Some(bad) = route.spec.hostnames.iter().flatten().find(|h| !hostname::valid(h)) {
        return Err(format!("hostname {bad:?} is not valid"));
    }
    let mut problem = None;
    let mut rules = Vec::new();
    for (i, rule) in route.spec.rules.iter().flatten().enumerate() {
        let compiled =
            compile_rule(key, rule, manifests, used, &mut problem).map_err(|e| format!("rules[{i}]: {e}"))?;
        rules.push(compiled);
    }
    Ok((rules, problem))
}

fn compile_rule(
    key: &Key,
    rule: &HttpRouteRules,
    manifests: &Manifests,
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
    let mut backends = Vec::new();
    for b in refs {
        let (backend, invalid) = backends::resolve(key, b, manifests, used);
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
    // Checked once here (a prefix change needs a PathPrefix match), used per attachment.
    for (j, m) in matches.iter().enumerate() {
        envoy::routes("", m, &filters, &action).map_err(|e| format!("matches[{j}]: {e}"))?;
    }
    Ok(Rule { matches, filters, action })
}

/// Adds a route's entries to the table of the Gateway `a` attaches it to.
fn place(table: &mut Table, port: u16, a: &Attachment, key: &Key, route: &HttpRoute, rules: &[Rule]) {
    let created = route.metadata.creation_timestamp.as_ref().and_then(|t| serde_json::to_value(t).ok());
    let created = created.and_then(|t| t.as_str().map(str::to_string));
    let hosts = table.entry(port).or_default();
    for host in &a.hosts {
        let entries = hosts.entry(host.clone()).or_default();
        for (i, rule) in rules.iter().enumerate() {
            for (j, m) in rule.matches.iter().enumerate() {
                let name = format!("{key}/rule/{i}/match/{j}");
                let rank = (m.precedence.clone(), (created.is_none(), created.clone()), key.clone(), i, j);
                if let Ok(envoy) = envoy::routes(&name, m, &rule.filters, &rule.action) {
                    entries.push((rank, envoy));
                }
            }
        }
    }
}
