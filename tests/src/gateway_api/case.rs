//! A ported Gateway API conformance case: manifests in, requests and their expected backend,
//! status and headers out; and the status conditions weir-cp must report.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// One case file (`tests/gateway-api/cases/NAME.yaml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The upstream conformance test it follows (`HTTPRouteExactPathMatching`).
    pub upstream: String,
    /// What it shows.
    pub description: String,
    /// Whether the case gives Gateway `gateway-conformance-infra/same-namespace` itself
    /// (else the base one: listener `http` on the test's port, routes from the same namespace).
    #[serde(default)]
    pub own_gateway: bool,
    /// The case's manifests (YAML documents); `${PORT}` is the port of the Gateway served,
    /// `${FILTER:name}` the path of built filter `name` (`target/filters/name.wasm`).
    pub manifests: String,
    /// Requests to the served Gateway.
    #[serde(default)]
    pub requests: Vec<Request>,
    /// Status conditions weir-cp must report.
    #[serde(default)]
    pub status: Vec<StatusExpect>,
}

/// A request and what must come of it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The path (and query).
    pub path: String,
    /// The `Host` header (default `example.com`).
    #[serde(default)]
    pub host: Option<String>,
    /// The method (default `GET`).
    #[serde(default)]
    pub method: Option<String>,
    /// Request headers.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Sent this many times (the weights cases).
    #[serde(default)]
    pub count: Option<usize>,
    /// What must come back.
    pub expect: Expect,
}

/// What a request must get.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The status.
    pub status: u16,
    /// The backend (a base Service's name) that answered.
    #[serde(default)]
    pub backend: Option<String>,
    /// The path (and query) the backend saw.
    #[serde(default)]
    pub path: Option<String>,
    /// The `Host` the backend saw.
    #[serde(default)]
    pub host: Option<String>,
    /// Request headers the backend saw (every value of the name, joined by `,`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request headers the backend must not see.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Response headers.
    #[serde(default)]
    pub response_headers: BTreeMap<String, String>,
    /// Response headers that must not be there.
    #[serde(default)]
    pub response_absent: Vec<String>,
    /// With `count`: each backend's share of the answers (± 0.1); answers no backend gave
    /// count by status (`"500"`). `status` is then not checked.
    #[serde(default)]
    pub shares: BTreeMap<String, f64>,
}

/// A condition weir-cp must report.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusExpect {
    /// `HTTPRoute`, `Gateway`, `Listener` (of a Gateway), `GatewayClass` or `WasmPlugin`.
    pub kind: String,
    /// `namespace/name` (`name` for a GatewayClass; `namespace/gateway/listener` for a
    /// listener).
    pub name: String,
    /// For an HTTPRoute: the parent Gateway, `namespace/name` (default: the served one).
    #[serde(default)]
    pub parent: Option<String>,
    /// The condition type.
    #[serde(rename = "type")]
    pub kind_of: String,
    /// `True` or `False`.
    pub status: String,
    /// The reason.
    pub reason: String,
    /// For a listener: its `attachedRoutes`.
    #[serde(default)]
    pub attached_routes: Option<i64>,
}

/// Every case of `dir`, by file stem, in name order.
pub fn load(dir: &Path) -> anyhow::Result<Vec<(String, Case)>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)?;
            let case: Case = serde_norway::from_str(&text).with_context(|| format!("{}", path.display()))?;
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            Ok((stem, case))
        })
        .collect()
}
