//! A conformance case file (`tests/conformance/<case>/case.yaml`): one filter chain, its
//! configuration, the clusters and listener settings it needs, requests and expectations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use super::Expect;
use super::tls_case::{RequestTls, TlsSpec};
use super::tls_upstream::UpstreamTlsSpec;

/// One case file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case shows.
    pub description: String,
    /// The plugin chain, in order.
    #[serde(default)]
    pub plugins: Vec<PluginSpec>,
    /// Extra clusters besides `upstream` (the echo server).
    #[serde(default)]
    pub clusters: Vec<ClusterSpec>,
    /// Virtual hosts (weir's schema); default: `*` → prefix `/` → `upstream`, route `default`.
    #[serde(default)]
    pub virtual_hosts: Option<serde_json::Value>,
    /// The proxy's identity (weir's `node`: `id`, `cluster`, `metadata`), given to Envoy's
    /// bootstrap `node` too.
    #[serde(default)]
    pub node: Option<serde_json::Value>,
    /// Listener settings (weir's schema, e.g. `normalize_path: false`), given to Envoy's HTTP
    /// connection manager too (weir's defaults where the case says nothing).
    #[serde(default)]
    pub listener: Option<serde_json::Map<String, serde_json::Value>>,
    /// Requests, sent in order to each host.
    pub requests: Vec<RequestSpec>,
    /// Stats that must read so in each host's `/stats` after the requests: a number for a
    /// counter or gauge, a string for the exact text after `<name>: ` (a histogram's line).
    #[serde(default)]
    pub stats: BTreeMap<String, StatValue>,
    /// Hosts whose answers may differ from each other (only expectations are checked).
    #[serde(default)]
    pub no_compare: bool,
    /// Listener `main` terminates TLS with certificates generated for the run, and every
    /// request goes over TLS (see [`TlsSpec`]).
    #[serde(default)]
    pub tls: Option<TlsSpec>,
}

/// What a `stats` entry expects.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum StatValue {
    /// A counter's or gauge's value.
    Number(u64),
    /// The exact text after `<name>: ` (e.g. a histogram's `No recorded values`).
    Text(String),
}

impl std::fmt::Display for StatValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatValue::Number(n) => write!(f, "{n}"),
            StatValue::Text(t) => write!(f, "{t:?}"),
        }
    }
}

/// A plugin in the chain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSpec {
    /// Built filter name (`target/filters/<filter>.wasm`).
    pub filter: String,
    /// Plugin name (default: the filter name).
    #[serde(default)]
    pub name: Option<String>,
    /// Root id.
    #[serde(default)]
    pub root_id: String,
    /// VM id.
    #[serde(default)]
    pub vm_id: String,
    /// Plugin configuration (string as is, anything else as JSON).
    #[serde(default)]
    pub configuration: Option<serde_json::Value>,
    /// VM configuration.
    #[serde(default)]
    pub vm_configuration: Option<serde_json::Value>,
    /// `FAIL_CLOSED` (default), `FAIL_OPEN`, `FAIL_RELOAD`.
    #[serde(default)]
    pub failure_policy: Option<String>,
    /// Envoy's `allow_on_headers_stop_iteration`.
    #[serde(default)]
    pub allow_on_headers_stop_iteration: bool,
    /// The VM's environment (`{key_values, host_env_keys}`, both hosts' shape).
    #[serde(default)]
    pub environment_variables: Option<serde_json::Value>,
}

impl PluginSpec {
    /// The plugin's name.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.filter)
    }
}

/// An extra cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Name.
    pub name: String,
    /// `echo` (default) or `dead` (a closed port).
    #[serde(default)]
    pub target: ClusterTarget,
    /// Speak h2c.
    #[serde(default)]
    pub http2: bool,
    /// Target `tagged`: this many echo servers, tagged `<name>-0`, `<name>-1`, ... (one, tagged
    /// `<name>`, by default).
    #[serde(default)]
    pub endpoints: Option<u32>,
    /// weir's `lb_policy` (`ring_hash`, `maglev`, ...), given to Envoy in capitals.
    #[serde(default)]
    pub lb_policy: Option<String>,
    /// Its `metadata` (`{filter_metadata: …}`, the same in both schemas).
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    /// Write HTTP/1.1 trailers to it whatever it announced, and (Envoy) read its trailers
    /// (`http_protocol_options.enable_trailers`).
    #[serde(default)]
    pub http1_trailers: bool,
    /// TLS to it (target `echo` only): a TLS server generated for the run stands in front of
    /// the echo server.
    #[serde(default)]
    pub tls: Option<UpstreamTlsSpec>,
}

/// Where an extra cluster points.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClusterTarget {
    /// The echo server.
    #[default]
    Echo,
    /// A port nothing listens on.
    Dead,
    /// The tonic gRPC test server (HTTP/2).
    Grpc,
    /// An echo server of its own, answering with `x-echo-server: <cluster name>`.
    Tagged,
}

/// One request and what must come back.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Label in reports.
    pub name: String,
    /// Method (default GET).
    #[serde(default = "default_method")]
    pub method: String,
    /// Path with query.
    pub path: String,
    /// `:authority` (default `example.com`).
    #[serde(default)]
    pub authority: Option<String>,
    /// Headers.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Body.
    #[serde(default)]
    pub body: Option<String>,
    /// Repeat `body` this many times (large bodies arrive in several chunks).
    #[serde(default)]
    pub body_repeat: Option<usize>,
    /// Send again (every 100 ms) until the expectations hold, at most this many times; for
    /// effects that take time (timers, queues).
    #[serde(default)]
    pub retry: u32,
    /// Speak HTTP/2 (prior knowledge) instead of HTTP/1.1 (plaintext cases only).
    #[serde(default)]
    pub http2: bool,
    /// How to connect, in a case with `tls`: SNI, ALPN offer, client certificate (default:
    /// none of them).
    #[serde(default)]
    pub tls: Option<RequestTls>,

    /// Expectations.
    pub expect: Expect,
}

fn default_method() -> String {
    "GET".into()
}

/// Loads every case under `dir`, sorted by name.
pub fn load_all(dir: &Path) -> anyhow::Result<Vec<(String, Case)>> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let path = entry?.path();
        let file = path.join("case.yaml");
        if !file.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&file)?;
        let case: Case = serde_norway::from_str(&text).with_context(|| format!("{}", file.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        cases.push((name, case));
    }
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(cases)
}

/// The conformance case directory.
pub fn cases_dir() -> PathBuf {
    weir_testkit::paths::workspace().join("tests").join("conformance")
}

/// Fails unless every referenced filter is built and the case is consistent.
pub fn check_filters(case: &Case) -> anyhow::Result<()> {
    for plugin in &case.plugins {
        weir_testkit::paths::filter(&plugin.filter)?;
    }
    if case.requests.is_empty() {
        bail!("case has no requests");
    }
    super::tls_case::validate(case)
}
