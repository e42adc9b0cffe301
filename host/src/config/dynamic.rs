//! The dynamic parts of `weir.yaml`: runtime layers (Envoy's `layered_runtime`), the xDS
//! client, plugins whose configuration comes from ECDS, and listener TLS from SDS.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, duration};

/// Runtime values for filters (Envoy's `layered_runtime`): layers merged in order, later layers
/// override earlier ones. Published to filters through shared data (`docs/runtime-values.md`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// The layers, lowest precedence first.
    #[serde(default)]
    pub layers: Vec<RuntimeLayerConfig>,
}

/// One runtime layer: exactly one of `static_layer`, `rtds_layer` or `admin_layer`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeLayerConfig {
    /// Unique layer name (shown in `/runtime` and in the published snapshot's `layers`).
    pub name: String,
    /// Values given here: a nested mapping, flattened to dotted keys as Envoy does (lists and
    /// nulls are refused).
    #[serde(default)]
    pub static_layer: Option<serde_json::Value>,
    /// Values pushed by the control plane over RTDS (needs `xds`).
    #[serde(default)]
    pub rtds_layer: Option<RtdsLayerConfig>,
    /// Values set through the admin API (`POST /runtime_modify?key=value`, Envoy's
    /// `admin_layer`); empty at start, kept across reloads. At most one such layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_layer: Option<AdminLayerConfig>,
}

/// An admin layer (no settings).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminLayerConfig {}

/// An RTDS layer.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RtdsLayerConfig {
    /// The `Runtime` resource to subscribe to (default: the layer's name).
    #[serde(default)]
    pub name: Option<String>,
}

impl RuntimeLayerConfig {
    /// The RTDS resource name, if this is an RTDS layer.
    pub fn rtds_resource(&self) -> Option<&str> {
        self.rtds_layer.as_ref().map(|r| r.name.as_deref().unwrap_or(&self.name))
    }
}

/// The xDS client: the ADS stream to the control plane (`weir-cp` or any xDS server), and
/// per-type streams for the types in `separate_streams`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct XdsConfig {
    /// The cluster that reaches the control plane; it must set `http2: true`. Its endpoints
    /// are tried in turn.
    pub cluster: String,
    /// Deprecated: set `node.id`. This proxy's node id, as the control plane sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// Deprecated: set `node.cluster`. This proxy's node cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_cluster: Option<String>,
    /// How long start-up waits for the first answer to every subscription before serving
    /// without it (Envoy's `initial_fetch_timeout`, default 15s; `0s` waits forever).
    #[serde(default = "default_initial_fetch_timeout", with = "duration")]
    pub initial_fetch_timeout: Duration,
    /// State of the world (`GRPC`, default) or incremental (`DELTA_GRPC`) xDS, as Envoy's
    /// `api_type`.
    #[serde(default)]
    pub api_type: ApiType,
    /// Take clusters from the control plane too (CDS, every cluster of this node, with the
    /// endpoints of EDS clusters from EDS), next to those in `clusters`; as Envoy's
    /// `dynamic_resources.cds_config: { ads: {} }`. Routes may then name clusters that are
    /// not in `clusters`: they answer 503 until the cluster arrives (and, for EDS, its
    /// endpoints), as Envoy's `validate_clusters: false`.
    #[serde(default)]
    pub cds: bool,
    /// Take listeners from the control plane too (LDS, every listener of this node), next to
    /// those in `listeners`; as Envoy's `dynamic_resources.lds_config: { ads: {} }`. Their
    /// routes are inline or from RDS; their Wasm filters become plugins.
    #[serde(default)]
    pub lds: bool,
    /// The resource types fetched each on a stream of its own, on the type's discovery
    /// service (`/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters`, ...), as
    /// Envoy does for a config source with `api_config_source` rather than `ads`; the other
    /// types share the ADS stream. All streams go to `cluster` over one HTTP/2 connection.
    /// Any of `rtds`, `ecds`, `sds`, `lds`, `rds`, `cds`, `eds`; default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub separate_streams: Vec<XdsType>,
}

/// A resource type weir takes over xDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum XdsType {
    /// Runtime layers.
    Rtds,
    /// Filter configurations.
    Ecds,
    /// TLS secrets.
    Sds,
    /// Listeners.
    Lds,
    /// Route configurations.
    Rds,
    /// Clusters.
    Cds,
    /// Endpoints.
    Eds,
}

impl XdsType {
    /// The type's resource type URL.
    pub fn type_url(self) -> &'static str {
        use weir_xds::types;
        match self {
            XdsType::Rtds => types::RUNTIME,
            XdsType::Ecds => types::EXTENSION_CONFIG,
            XdsType::Sds => types::SECRET,
            XdsType::Lds => types::LISTENER,
            XdsType::Rds => types::ROUTE,
            XdsType::Cds => types::CLUSTER,
            XdsType::Eds => types::ENDPOINT,
        }
    }
}

/// Envoy's `api_type` of an ADS config source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApiType {
    /// State of the world: every response holds every subscribed resource.
    #[default]
    Grpc,
    /// Delta: responses hold what changed and what was removed.
    DeltaGrpc,
}

fn default_initial_fetch_timeout() -> Duration {
    Duration::from_secs(15)
}

/// Checks the runtime layers, the xDS client and plugins' `config_discovery`.
pub(super) fn check(config: &Config) -> Result<(), ConfigError> {
    let mut names = std::collections::HashSet::new();
    let mut admin = None;
    for (i, layer) in config.runtime.layers.iter().enumerate() {
        let at = format!("runtime.layers[{i}]");
        if layer.name.is_empty() || !names.insert(layer.name.as_str()) {
            return Err(ConfigError::invalid(format!("{at}.name"), "must be non-empty and unique"));
        }
        match (&layer.static_layer, &layer.rtds_layer, &layer.admin_layer) {
            (Some(values), None, None) => {
                weir_runtime::flatten(values)
                    .map_err(|e| ConfigError::invalid(format!("{at}.static_layer"), e.to_string()))?;
            }
            (None, Some(_), None) if config.xds.is_none() => {
                return Err(ConfigError::invalid(format!("{at}.rtds_layer"), "needs an `xds` section"));
            }
            (None, Some(_), None) => {}
            (None, None, Some(_)) if admin.replace(i).is_some() => {
                return Err(ConfigError::invalid(
                    format!("{at}.admin_layer"),
                    "only one admin layer may be set",
                ));
            }
            (None, None, Some(_)) => {}
            _ => {
                return Err(ConfigError::invalid(
                    at,
                    "set exactly one of `static_layer`, `rtds_layer` or `admin_layer`",
                ));
            }
        }
    }
    if let Some(xds) = &config.xds {
        match config.cluster(&xds.cluster) {
            None => {
                return Err(ConfigError::invalid(
                    "xds.cluster",
                    format!("no cluster named `{}`", xds.cluster),
                ));
            }
            Some(c) if !c.http2 => {
                return Err(ConfigError::invalid("xds.cluster", "the cluster must set `http2: true` (gRPC)"));
            }
            Some(_) => {}
        }
    }
    check_sds(config)?;
    let mut resources = std::collections::HashSet::new();
    for (i, plugin) in config.plugins.iter().enumerate() {
        if let Some(discovery) = &plugin.config_discovery {
            let at = format!("plugins[{i}].config_discovery");
            if config.xds.is_none() {
                return Err(ConfigError::invalid(at, "needs an `xds` section"));
            }
            let name = discovery.resource_name.as_deref().unwrap_or(&plugin.name);
            if !resources.insert(name) {
                return Err(ConfigError::invalid(at, format!("resource `{name}` is used by another plugin")));
            }
        }
    }
    Ok(())
}

/// Listeners' SDS secrets need `xds`; the admin server's TLS reads files only (it starts
/// before the xDS client).
fn check_sds(config: &Config) -> Result<(), ConfigError> {
    for (l, listener) in config.listeners.iter().enumerate() {
        if let Some(field) = listener.tls.as_ref().and_then(|t| sds_field(t, &format!("listeners[{l}].tls")))
            && config.xds.is_none()
        {
            return Err(ConfigError::invalid(
                field,
                "needs an `xds` section (SDS secrets come from the control plane)",
            ));
        }
    }
    if let Some(field) =
        config.admin.as_ref().and_then(|a| a.tls.as_ref()).and_then(|t| sds_field(t, "admin.tls"))
    {
        return Err(ConfigError::invalid(
            field,
            "the admin server's TLS reads files only (it starts before xDS)",
        ));
    }
    Ok(())
}

/// The first field of `tls` (at `at`) that names an SDS secret.
fn sds_field(tls: &weir_tls::DownstreamTls, at: &str) -> Option<String> {
    let certificate = tls.certificates.iter().position(|c| c.sds().is_some());
    certificate.map(|i| format!("{at}.certificates[{i}].sds")).or_else(|| {
        let ca = tls.client_certificates.as_ref().and_then(|c| c.trusted_ca_sds.as_ref());
        ca.map(|_| format!("{at}.client_certificates.trusted_ca_sds"))
    })
}
