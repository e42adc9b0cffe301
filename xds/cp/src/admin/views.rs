//! The JSON documents the admin API serves (also parsed by the CLI).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ecds::EcdsConfig;
use crate::kind::Kind;
use crate::layer;
use crate::secret::SecretConfig;
use crate::state::{Entry, State};
use crate::status::{Counters, NodeStatus, Page};
use crate::store::Change;

/// One runtime layer (`GET /runtime/{layer}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerView {
    /// The RTDS version at which it last changed.
    pub version: String,
    /// Its values, flattened to dotted keys as proxies see them.
    pub values: BTreeMap<String, Value>,
    /// Why proxies will reject it, for a layer pushed unchecked with an invalid entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<String>,
}

impl LayerView {
    /// The view of a stored layer.
    pub fn of(entry: &Entry<Value>) -> LayerView {
        LayerView {
            version: entry.version.to_string(),
            values: layer::flatten_lenient(&entry.value),
            invalid: weir_runtime::flatten(&entry.value).err().map(|e| e.to_string()),
        }
    }
}

/// Every runtime layer (`GET /runtime`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeView {
    /// The RTDS version.
    pub version: String,
    /// Layers by name.
    pub layers: BTreeMap<String, LayerView>,
}

impl RuntimeView {
    /// The view of the state.
    pub fn of(state: &State) -> RuntimeView {
        RuntimeView {
            version: state.runtime.version.to_string(),
            layers: state.runtime.resources.iter().map(|(k, e)| (k.clone(), LayerView::of(e))).collect(),
        }
    }
}

/// One ECDS resource (`GET /ecds/{name}`). Its `configuration` is
/// `{"redacted": true, "sha256": …, "bytes": …}` unless `show_secrets` was asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcdsEntryView {
    /// The ECDS version at which it last changed.
    pub version: String,
    /// The configuration.
    pub config: EcdsConfig,
}

/// Every ECDS resource (`GET /ecds`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcdsView {
    /// The ECDS version.
    pub version: String,
    /// Resources by name.
    pub configs: BTreeMap<String, EcdsEntryView>,
}

impl EcdsEntryView {
    /// The view of a stored resource; its `configuration` redacted unless `show_secrets`.
    pub fn of(entry: &Entry<EcdsConfig>, show_secrets: bool) -> EcdsEntryView {
        let mut config = entry.value.clone();
        if !show_secrets && let Some(text) = config.configuration_text() {
            config.configuration = weir_admin_guard::redacted(text.as_bytes());
        }
        EcdsEntryView { version: entry.version.to_string(), config }
    }
}

impl EcdsView {
    /// The view of the state; configurations redacted unless `show_secrets`.
    pub fn of(state: &State, show_secrets: bool) -> EcdsView {
        EcdsView {
            version: state.ecds.version.to_string(),
            configs: state
                .ecds
                .resources
                .iter()
                .map(|(k, e)| (k.clone(), EcdsEntryView::of(e, show_secrets)))
                .collect(),
        }
    }
}

/// One SDS secret (`GET /secrets/{name}`). The private key is never shown: only its size and
/// SHA-256 (`{"redacted": true, "sha256": …, "bytes": …}`); certificates are public.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretEntryView {
    /// The SDS version at which it last changed.
    pub version: String,
    /// `tls_certificate` or `validation_context`.
    pub kind: String,
    /// The certificate chain (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_chain: Option<String>,
    /// The private key, redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<Value>,
    /// The CA bundle (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_ca: Option<String>,
}

impl SecretEntryView {
    /// The view of a stored secret.
    pub fn of(entry: &Entry<SecretConfig>) -> SecretEntryView {
        let s = &entry.value;
        let kind = if s.trusted_ca.is_some() { "validation_context" } else { "tls_certificate" };
        SecretEntryView {
            version: entry.version.to_string(),
            kind: kind.to_string(),
            certificate_chain: s.certificate_chain.clone(),
            private_key: s.private_key.as_ref().map(|k| weir_admin_guard::redacted(k.as_bytes())),
            trusted_ca: s.trusted_ca.clone(),
        }
    }
}

/// Every SDS secret (`GET /secrets`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretsView {
    /// The SDS version.
    pub version: String,
    /// Secrets by name.
    pub secrets: BTreeMap<String, SecretEntryView>,
}

impl SecretsView {
    /// The view of the state.
    pub fn of(state: &State) -> SecretsView {
        SecretsView {
            version: state.secrets.version.to_string(),
            secrets: state
                .secrets
                .resources
                .iter()
                .map(|(k, e)| (k.clone(), SecretEntryView::of(e)))
                .collect(),
        }
    }
}

/// The answer to a change (`PUT`, `POST`, `DELETE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeView {
    /// Whether anything changed.
    pub changed: bool,
    /// The type's version after the change.
    pub version: String,
}

impl From<Change> for ChangeView {
    fn from(c: Change) -> ChangeView {
        ChangeView { changed: c.changed, version: c.version.to_string() }
    }
}

/// `GET /status`: one page of the nodes a query selects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    /// Current version per type (`rtds`, `ecds`, `sds`, ...).
    pub versions: BTreeMap<String, String>,
    /// Process-wide counters.
    pub counters: Counters,
    /// How many nodes the query selects, in all pages.
    #[serde(default)]
    pub matching: usize,
    /// The next page's cursor (`?after=`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// This page's nodes, by id.
    pub nodes: Vec<NodeStatus>,
}

impl StatusView {
    /// The view of the versions and a page of the registry.
    pub fn of(versions: BTreeMap<String, String>, page: Page) -> StatusView {
        StatusView {
            versions,
            counters: page.counters,
            matching: page.matching,
            next: page.next,
            nodes: page.nodes,
        }
    }
}

/// Every type's current version, as `/status` and `/metrics` show them.
pub fn versions(state_versions: impl Fn(Kind) -> u64) -> BTreeMap<String, String> {
    Kind::ALL.iter().map(|k| (k.short().to_string(), state_versions(*k).to_string())).collect()
}
