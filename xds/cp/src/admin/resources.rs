//! `/clusters`, `/endpoints`, `/routes`, `/listeners` and `/apply`: the CDS, EDS, RDS and
//! LDS resources, in Envoy's shape.
//!
//! | request | does |
//! |---|---|
//! | `GET /clusters`, `GET /endpoints`, `GET /routes`, `GET /listeners` | every resource (`{version, resources: {name: {version, value}}}`) |
//! | `POST /apply` | `{"clusters": [...], "endpoints": [...], "routes": [...], "listeners": [...], "group"?: {name, nodes}}` (JSON or YAML): each list given becomes the whole of its type (the group's, with `group`); a type left out stays |
//! | `GET /groups`, `DELETE /groups/{name}` | node groups: their selectors and resources; removing one gives its nodes everyone's resources again |

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use hyper::body::Incoming;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::reply::{self, Failure, Reply};
use super::views::ChangeView;
use super::{Call, with_store};
use crate::envoy_resource::{EnvoyResource, Named, ResourceSet};
use crate::groups::GroupSpec;
use crate::state::TypeState;

/// What `POST /apply` takes: Envoy resources by type.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyBody {
    #[serde(default)]
    clusters: Option<Vec<Value>>,
    #[serde(default)]
    endpoints: Option<Vec<Value>>,
    #[serde(default)]
    routes: Option<Vec<Value>>,
    #[serde(default)]
    listeners: Option<Vec<Value>>,
    /// The node group these resources are for (`{name, nodes: {ids, cluster, metadata}}`);
    /// omitted: everyone else's.
    #[serde(default)]
    group: Option<GroupSpec>,
}

/// One type's resources as shown.
#[derive(Debug, Serialize)]
struct TableView<'a> {
    version: String,
    resources: BTreeMap<&'a str, EntryView<'a>>,
}

/// One node group as shown: its selector and its resources.
#[derive(Debug, Serialize)]
struct GroupView<'a> {
    nodes: &'a crate::groups::NodeSelector,
    clusters: TableView<'a>,
    endpoints: TableView<'a>,
    routes: TableView<'a>,
    listeners: TableView<'a>,
}

#[derive(Debug, Serialize)]
struct EntryView<'a> {
    version: String,
    value: &'a Value,
}

fn table<M>(t: &TypeState<EnvoyResource<M>>) -> TableView<'_> {
    TableView {
        version: t.version.to_string(),
        resources: t
            .resources
            .iter()
            .map(|(n, e)| (n.as_str(), EntryView { version: e.version.to_string(), value: e.value.json() }))
            .collect(),
    }
}

/// Handles `/{first}/...`.
pub async fn handle(call: &Call<'_>, first: &str, rest: &[String], body: Incoming) -> Result<Reply, Failure> {
    let (shared, method, uri) = (call.shared, &call.parts.method, &call.parts.uri);
    match (first, method, rest) {
        ("clusters" | "endpoints" | "routes" | "listeners", &Method::GET, []) => {
            reply::query(uri, &[])?;
            let state = shared.store.snapshot();
            let view = match first {
                "clusters" => serde_json::to_value(table(&state.clusters)),
                "endpoints" => serde_json::to_value(table(&state.endpoints)),
                "routes" => serde_json::to_value(table(&state.routes)),
                _ => serde_json::to_value(table(&state.listeners)),
            };
            let view = view.map_err(|e| Failure {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: e.to_string(),
                challenge: None,
            })?;
            Ok(reply::json(StatusCode::OK, &view))
        }
        ("apply", &Method::POST, []) => {
            reply::query(uri, &[])?;
            let bytes = reply::body(&call.parts.headers, body, weir_admin_guard::YAML).await?;
            let body: ApplyBody = serde_json::from_value(reply::json_or_yaml(&bytes)?)
                .map_err(|e| Failure::bad_request(format!("invalid apply body: {e}")))?;
            let set = ResourceSet {
                clusters: body.clusters.map(|c| parse_all(c, "clusters")).transpose()?,
                endpoints: body.endpoints.map(|e| parse_all(e, "endpoints")).transpose()?,
                routes: body.routes.map(|r| parse_all(r, "routes")).transpose()?,
                listeners: body.listeners.map(|l| parse_all(l, "listeners")).transpose()?,
            };
            let group = body.group;
            let changes = with_store(shared, move |store| store.apply_resources(set, group)).await?;
            // `{"clusters": {changed, version}, "endpoints": …, "routes": …}`
            let view: BTreeMap<&str, ChangeView> =
                ResourceSet::KEYS.into_iter().zip(changes.into_iter().map(ChangeView::from)).collect();
            Ok(reply::json(StatusCode::OK, &view))
        }
        ("groups", &Method::GET, []) => {
            reply::query(uri, &[])?;
            let state = shared.store.snapshot();
            let view: BTreeMap<&str, GroupView<'_>> = state
                .groups
                .iter()
                .map(|(name, g)| {
                    let group = GroupView {
                        nodes: &g.nodes,
                        clusters: table(&g.clusters),
                        endpoints: table(&g.endpoints),
                        routes: table(&g.routes),
                        listeners: table(&g.listeners),
                    };
                    (name.as_str(), group)
                })
                .collect();
            Ok(reply::json(StatusCode::OK, &view))
        }
        ("groups", &Method::DELETE, [name]) => {
            reply::query(uri, &[])?;
            let name = name.clone();
            let change = with_store(shared, move |store| store.remove_group(&name)).await?;
            Ok(reply::json(StatusCode::OK, &ChangeView::from(change)))
        }
        ("clusters" | "endpoints" | "routes" | "listeners" | "apply" | "groups", _, []) => {
            Err(Failure::method(method, uri.path()))
        }
        _ => Err(Failure::not_found(format!("no such resource: {}", uri.path()))),
    }
}

/// Parses every resource of a list; the error names the element and the field.
fn parse_all<M: Named>(values: Vec<Value>, what: &str) -> Result<Vec<EnvoyResource<M>>, Failure> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            EnvoyResource::parse(v).map_err(|e| {
                let sep = if e.path.is_empty() { "" } else { "." };
                Failure::bad_request(format!("{what}[{i}]{sep}{}: {}", e.path, e.reason))
            })
        })
        .collect()
}
