//! The plugin configuration (JSON), validated while it is parsed so that a bad configuration
//! fails `on_configure` with a message naming the field, never a request later.
//!
//! Per-route overrides use weir-sdk's `rules` (see [`weir_sdk::rules`]): each rule's `config`
//! is merged over the top level and validated the same way.

use std::rc::Rc;

use serde::Deserialize;

/// What to do with a request that has no (or an empty) customer-id header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnMissingCustomer {
    /// Answer 400 with a JSON error; the request does not reach any upstream.
    #[default]
    Reject,
    /// Shard the request as the customer `default_customer`.
    Default,
}

/// The configuration as written; [`Config`] is the validated form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// See [`Config::header`].
    #[serde(default = "default_header")]
    header: String,
    /// See [`Config::total_hosts`].
    #[serde(default = "one")]
    total_hosts: u32,
    /// See [`Config::shard_size`].
    #[serde(default = "one")]
    shard_size: u32,
    /// See [`Config::max_total_hosts`].
    #[serde(default = "default_max_total_hosts")]
    max_total_hosts: u32,
    /// See [`Config::seed`].
    #[serde(default)]
    seed: u64,
    /// See [`Config::runtime_prefix`].
    #[serde(default = "default_runtime_prefix")]
    runtime_prefix: String,
    /// See [`Config::cluster_header`].
    #[serde(default = "default_cluster_header")]
    cluster_header: String,
    /// See [`Config::cluster_pattern`].
    #[serde(default = "default_cluster_pattern")]
    cluster_pattern: String,
    /// See [`Config::hosts_header`].
    #[serde(default = "default_hosts_header")]
    hosts_header: String,
    /// See [`Config::config_header`].
    #[serde(default = "default_config_header")]
    config_header: String,
    /// See [`Config::response_headers`].
    #[serde(default = "yes")]
    response_headers: bool,
    /// See [`Config::hash_query`].
    #[serde(default)]
    hash_query: bool,
    /// See [`Config::on_missing_customer`].
    #[serde(default)]
    on_missing_customer: OnMissingCustomer,
    /// See [`Config::default_customer`].
    #[serde(default)]
    default_customer: Option<String>,
}

/// The validated plugin configuration. Every field has a default; `{}` is a valid
/// configuration (one host, shard size one, until runtime values say more).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct Config {
    /// Request header carrying the customer id. Default `x-customer-id`.
    pub header: String,
    /// Number of hosts when the runtime has no valid `<prefix>.total_hosts`. Default 1.
    pub total_hosts: u32,
    /// Shard size when the runtime has neither a valid per-customer
    /// `<prefix>.customer.<id>.shard_size` nor `<prefix>.default_shard_size`. Default 1; at
    /// most `total_hosts`.
    pub shard_size: u32,
    /// Largest `total_hosts` accepted from the runtime (the per-request cost is one 8-byte
    /// XXH64 per host). A larger runtime value is invalid and falls back to `total_hosts`.
    /// Default 10000.
    pub max_total_hosts: u32,
    /// XXH64 seed of the customer key. Changing it reshuffles every customer. Default 0.
    pub seed: u64,
    /// Prefix of the runtime keys. Default `shuffle_sharding`.
    pub runtime_prefix: String,
    /// Request header set to the chosen host's cluster name, for the route's
    /// `cluster_header`. Any value the client sent is replaced. Default `x-shard-cluster`.
    pub cluster_header: Rc<str>,
    /// Cluster name of a host: `{index}` is replaced by the host index. Default
    /// `shard-{index}`.
    pub cluster_pattern: String,
    /// Request header listing the shard's host indices in ascending order (`3,7,9`); empty
    /// disables it. Default `x-shard-hosts`.
    pub hosts_header: Rc<str>,
    /// Request header describing where the numbers came from
    /// (`total=10;size=3;source=runtime;total_source=runtime`); empty disables it. Default
    /// `x-shard-config`.
    pub config_header: Rc<str>,
    /// Also set the cluster, hosts and config headers on the response. Default true.
    pub response_headers: bool,
    /// Hash `:path` with its query string; by default only the part before `?` picks the
    /// host inside the shard. Default false.
    pub hash_query: bool,
    /// What to do without a customer id. Default `reject`.
    pub on_missing_customer: OnMissingCustomer,
    /// The customer id used for requests without one when `on_missing_customer` is
    /// `default` (required then).
    pub default_customer: Option<String>,
    /// `cluster_pattern` split around `{index}` (derived).
    pub cluster_parts: Vec<String>,
    /// `<runtime_prefix>.total_hosts` (derived).
    pub total_key: String,
    /// `<runtime_prefix>.default_shard_size` (derived).
    pub default_size_key: String,
    /// `<runtime_prefix>.customer.` (derived; the per-customer key is this, the id, `.shard_size`).
    pub customer_key_prefix: String,
}

impl TryFrom<RawConfig> for Config {
    type Error = String;

    fn try_from(raw: RawConfig) -> Result<Config, String> {
        header_name("header", &raw.header, false)?;
        header_name("cluster_header", &raw.cluster_header, false)?;
        header_name("hosts_header", &raw.hosts_header, true)?;
        header_name("config_header", &raw.config_header, true)?;
        if raw.total_hosts == 0 || raw.total_hosts > raw.max_total_hosts {
            return Err(format!("`total_hosts` must be 1..={} (max_total_hosts)", raw.max_total_hosts));
        }
        if raw.shard_size == 0 || raw.shard_size > raw.total_hosts {
            return Err(format!("`shard_size` must be 1..={} (total_hosts)", raw.total_hosts));
        }
        if !raw.cluster_pattern.contains("{index}") {
            return Err("`cluster_pattern` must contain `{index}`".into());
        }
        if !raw.cluster_pattern.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("`cluster_pattern` must be visible ASCII without spaces".into());
        }
        if raw.runtime_prefix.is_empty() {
            return Err("`runtime_prefix` must not be empty".into());
        }
        if raw.on_missing_customer == OnMissingCustomer::Default
            && raw.default_customer.as_deref().is_none_or(|c| c.trim().is_empty())
        {
            return Err("`on_missing_customer: default` needs a non-empty `default_customer`".into());
        }
        Ok(Config {
            header: raw.header.to_ascii_lowercase(),
            total_hosts: raw.total_hosts,
            shard_size: raw.shard_size,
            max_total_hosts: raw.max_total_hosts,
            seed: raw.seed,
            total_key: format!("{}.total_hosts", raw.runtime_prefix),
            default_size_key: format!("{}.default_shard_size", raw.runtime_prefix),
            customer_key_prefix: format!("{}.customer.", raw.runtime_prefix),
            runtime_prefix: raw.runtime_prefix,
            cluster_header: raw.cluster_header.to_ascii_lowercase().into(),
            cluster_parts: raw.cluster_pattern.split("{index}").map(str::to_string).collect(),
            cluster_pattern: raw.cluster_pattern,
            hosts_header: raw.hosts_header.to_ascii_lowercase().into(),
            config_header: raw.config_header.to_ascii_lowercase().into(),
            response_headers: raw.response_headers,
            hash_query: raw.hash_query,
            on_missing_customer: raw.on_missing_customer,
            default_customer: raw.default_customer,
        })
    }
}

/// A header name must be a non-empty HTTP token (no pseudo-headers); `optional` allows "".
fn header_name(field: &str, name: &str, optional: bool) -> Result<(), String> {
    if name.is_empty() {
        return if optional { Ok(()) } else { Err(format!("`{field}` must not be empty")) };
    }
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !name.bytes().all(token) {
        return Err(format!("`{field}`: {name:?} is not a valid header name"));
    }
    Ok(())
}

fn default_header() -> String {
    "x-customer-id".into()
}
fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn default_max_total_hosts() -> u32 {
    10_000
}
fn default_runtime_prefix() -> String {
    "shuffle_sharding".into()
}
fn default_cluster_header() -> String {
    "x-shard-cluster".into()
}
fn default_cluster_pattern() -> String {
    "shard-{index}".into()
}
fn default_hosts_header() -> String {
    "x-shard-hosts".into()
}
fn default_config_header() -> String {
    "x-shard-config".into()
}

#[cfg(test)]
mod tests {
    use weir_sdk::config::parse_config;
    use weir_sdk::rules::{RequestKey, Rules};

    use super::*;

    fn error(json: &str) -> String {
        parse_config::<Config>(json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn defaults() {
        let c: Config = parse_config(b"").unwrap();
        assert_eq!((c.header.as_str(), c.total_hosts, c.shard_size, c.seed), ("x-customer-id", 1, 1, 0));
        assert_eq!((&*c.cluster_header, c.cluster_pattern.as_str()), ("x-shard-cluster", "shard-{index}"));
        assert_eq!((&*c.hosts_header, &*c.config_header), ("x-shard-hosts", "x-shard-config"));
        assert_eq!((c.max_total_hosts, c.runtime_prefix.as_str()), (10_000, "shuffle_sharding"));
        assert!(c.response_headers && !c.hash_query);
        assert_eq!(c.on_missing_customer, OnMissingCustomer::Reject);
        let c: Config = parse_config(br#"{"header": "X-Tenant", "seed": 18446744073709551615}"#).unwrap();
        assert_eq!((c.header.as_str(), c.seed), ("x-tenant", u64::MAX));
    }

    #[test]
    fn errors_name_the_field() {
        assert!(error(r#"{"shard_size": 0}"#).contains("`shard_size` must be 1..=1"));
        assert!(error(r#"{"total_hosts": 0}"#).contains("`total_hosts`"));
        assert!(error(r#"{"total_hosts": 20, "max_total_hosts": 10}"#).contains("`total_hosts`"));
        assert!(error(r#"{"cluster_pattern": "shard-"}"#).contains("{index}"));
        assert!(error(r#"{"cluster_pattern": "shard {index}"}"#).contains("visible ASCII"));
        assert!(error(r#"{"cluster_header": ""}"#).contains("`cluster_header` must not be empty"));
        assert!(error(r#"{"hosts_header": "a b"}"#).contains("`hosts_header`"));
        assert!(error(r#"{"on_missing_customer": "default"}"#).contains("default_customer"));
        assert!(error(r#"{"on_missing_customer": "maybe"}"#).contains("unknown variant"));
        assert!(error(r#"{"total": 3}"#).contains("unknown field `total`"));
        assert!(error(r#"{"seed": -1}"#).contains("invalid value"));
    }

    #[test]
    fn rules_are_validated_and_selected() {
        let rules = Rules::<Config>::parse(
            br#"{"total_hosts": 4, "rules": [{"match": {"route": "admin"}, "config": {"shard_size": 4}}]}"#,
        )
        .unwrap();
        let key = |route: &str| RequestKey { route: route.into(), ..RequestKey::default() };
        assert_eq!(rules.select(&key("admin")).shard_size, 4);
        assert_eq!(rules.select(&key("other")).shard_size, 1);
        let err = Rules::<Config>::parse(br#"{"rules": [{"config": {"shard_size": 2}}]}"#).unwrap_err();
        assert!(err.message.starts_with("rules[0].config") && err.message.contains("shard_size"), "{err}");
    }
}
