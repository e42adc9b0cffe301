//! The parts of a [`super::Twin`]: listeners with their virtual hosts, clusters, plugins.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::{Map, Value};

use super::Route;
use super::tls::{ClusterTls, ListenerTls};

/// A listener (Envoy: a listener with one HTTP connection manager).
#[derive(Debug, Clone)]
pub struct Listener {
    /// Name (also Envoy's `stat_prefix` and route configuration name).
    pub name: String,
    /// Port on 127.0.0.1 (0: ephemeral).
    pub port: u16,
    /// The chain: plugin names, in order.
    pub http_filters: Vec<String>,
    /// Virtual hosts.
    pub virtual_hosts: Vec<VirtualHost>,
    /// More weir listener fields (`normalize_path`, `request_timeout`, `max_connections`, …);
    /// Envoy gets their connection-manager equivalents (see [`super::ListenerDefaults`]) and
    /// `max_connections` as the listener's runtime connection limit.
    pub options: Map<String, Value>,
    /// TLS (plaintext when unset).
    pub tls: Option<ListenerTls>,
}

impl Listener {
    /// A listener on an ephemeral port with one virtual host for every domain holding `routes`,
    /// and no plugins.
    pub fn new(name: &str, routes: Vec<Route>) -> Listener {
        Listener {
            name: name.to_string(),
            port: 0,
            http_filters: Vec::new(),
            virtual_hosts: vec![VirtualHost::any(routes)],
            options: Map::new(),
            tls: None,
        }
    }

    /// Runs these plugins (by name) on every request.
    pub fn chain<S: AsRef<str>>(mut self, plugins: &[S]) -> Listener {
        self.http_filters = plugins.iter().map(|p| p.as_ref().to_string()).collect();
        self
    }

    /// Sets a weir listener field.
    pub fn with(mut self, field: &str, value: Value) -> Listener {
        self.options.insert(field.to_string(), value);
        self
    }

    /// Every route of every virtual host.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.virtual_hosts.iter().flat_map(|v| v.routes.iter())
    }
}

/// A virtual host, chosen by `:authority`.
#[derive(Debug, Clone)]
pub struct VirtualHost {
    /// Name.
    pub name: String,
    /// Domains (`*`, `*.example.com`, …).
    pub domains: Vec<String>,
    /// Routes, first match wins.
    pub routes: Vec<Route>,
}

impl VirtualHost {
    /// `all`, for every domain.
    pub fn any(routes: Vec<Route>) -> VirtualHost {
        VirtualHost { name: "all".into(), domains: vec!["*".into()], routes }
    }

    /// One written in weir's schema (`name`, `domains`, `routes`).
    pub fn from_weir(value: &Value) -> anyhow::Result<VirtualHost> {
        let fields = value.as_object().context("a virtual host is a map")?;
        if let Some(other) = fields.keys().find(|k| !["name", "domains", "routes"].contains(&k.as_str())) {
            anyhow::bail!("virtual host field `{other}` is not supported here");
        }
        let domains = fields.get("domains").and_then(Value::as_array).context("virtual host `domains`")?;
        let routes = fields.get("routes").and_then(Value::as_array).context("virtual host `routes`")?;
        Ok(VirtualHost {
            name: fields.get("name").and_then(Value::as_str).context("virtual host `name`")?.to_string(),
            domains: domains
                .iter()
                .map(|d| d.as_str().map(str::to_string).context("a domain"))
                .collect::<Result<_, _>>()?,
            routes: routes.iter().map(|r| Route::from_weir(r.clone())).collect::<Result<_, _>>()?,
        })
    }
}

/// A static cluster with one endpoint.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Name.
    pub name: String,
    /// Its endpoint.
    pub endpoint: SocketAddr,
    /// Speak HTTP/2 (h2c) to it.
    pub http2: bool,
    /// weir's `internal`: never reached through `cluster_header` (Envoy has no equivalent).
    pub internal: bool,
    /// HTTP/1.1 trailers written whatever the endpoint announced (`enable_trailers`).
    pub http1_trailers: bool,
    /// Endpoints after `endpoint`, in order.
    pub more_endpoints: Vec<SocketAddr>,
    /// weir's `lb_policy` (`ring_hash`, `maglev`, ...); Envoy's is the same in capitals.
    pub lb_policy: Option<String>,
    /// `metadata` (`{filter_metadata: …}`), the same in both schemas.
    pub metadata: Option<serde_json::Value>,
    /// TLS to the endpoint (cleartext when unset).
    pub tls: Option<ClusterTls>,
}

impl Cluster {
    /// An HTTP/1.1 cluster.
    pub fn new(name: &str, endpoint: SocketAddr) -> Cluster {
        Cluster {
            name: name.to_string(),
            endpoint,
            http2: false,
            internal: false,
            http1_trailers: false,
            more_endpoints: Vec::new(),
            lb_policy: None,
            metadata: None,
            tls: None,
        }
    }
}

/// A proxy-wasm plugin.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// Name (Envoy: the filter's and the plugin's).
    pub name: String,
    /// The module.
    pub wasm: PathBuf,
    /// Root id.
    pub root_id: String,
    /// VM id.
    pub vm_id: String,
    /// Configuration (bytes for `proxy_on_configure`).
    pub configuration: Option<String>,
    /// VM configuration (bytes for `proxy_on_vm_start`).
    pub vm_configuration: Option<String>,
    /// `FAIL_CLOSED`, `FAIL_OPEN` or `FAIL_RELOAD`; unset: each proxy's default (`FAIL_CLOSED`).
    pub failure_policy: Option<String>,
    /// Envoy's `allow_on_headers_stop_iteration`.
    pub allow_on_headers_stop_iteration: bool,
    /// The VM's environment (`{key_values, host_env_keys}`, both proxies' shape).
    pub environment_variables: Option<Value>,
    /// weir's `limits` (Envoy has no equivalent).
    pub limits: Option<Value>,
}

impl Plugin {
    /// `wasm` as `name`, everything else at its default.
    pub fn new(name: &str, wasm: impl Into<PathBuf>) -> Plugin {
        Plugin {
            name: name.to_string(),
            wasm: wasm.into(),
            root_id: String::new(),
            vm_id: String::new(),
            configuration: None,
            vm_configuration: None,
            failure_policy: None,
            allow_on_headers_stop_iteration: false,
            environment_variables: None,
            limits: None,
        }
    }

    /// Sets the VM id.
    pub fn vm_id(mut self, vm_id: &str) -> Plugin {
        self.vm_id = vm_id.to_string();
        self
    }

    /// Sets the configuration.
    pub fn configuration(mut self, configuration: impl Into<String>) -> Plugin {
        self.configuration = Some(configuration.into());
        self
    }

    /// Sets the failure policy.
    pub fn failure_policy(mut self, policy: &str) -> Plugin {
        self.failure_policy = Some(policy.to_string());
        self
    }
}
