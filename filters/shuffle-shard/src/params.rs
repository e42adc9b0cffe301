//! Where `total_hosts` and the shard size come from, for one request. Pure: it reads a runtime
//! [`Snapshot`] that the caller fetched, so it is tested natively.
//!
//! - `total_hosts`: runtime `<prefix>.total_hosts` when it is a valid number in
//!   `1..=max_total_hosts`, else the configured `total_hosts`.
//! - shard size: the first valid of runtime `<prefix>.customer.<id>.shard_size`, runtime
//!   `<prefix>.default_shard_size` (both must be ≥ 1), else the configured `shard_size`; then
//!   clamped to `total_hosts`.
//!
//! A key that is present but unusable (0, negative, a fraction, text that is not a number, a
//! boolean, too large) is *invalid*: it is reported in [`Resolved::invalid`] (the filter counts
//! it in `shuffle_shard.invalid_runtime`) and the next source is used. Numbers may be JSON
//! numbers or strings of digits, as Envoy's runtime accepts.

use std::fmt;

use weir_sdk::runtime::Snapshot;

use crate::config::Config;
use crate::decimal::push_u32;

/// Where the shard size came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeSource {
    /// `<prefix>.customer.<id>.shard_size`.
    Customer,
    /// `<prefix>.default_shard_size`.
    Runtime,
    /// The plugin configuration's `shard_size`.
    Config,
}

/// Where `total_hosts` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalSource {
    /// `<prefix>.total_hosts`.
    Runtime,
    /// The plugin configuration's `total_hosts`.
    Config,
}

impl SizeSource {
    fn as_str(self) -> &'static str {
        match self {
            SizeSource::Customer => "customer",
            SizeSource::Runtime => "runtime",
            SizeSource::Config => "config",
        }
    }
}

impl TotalSource {
    fn as_str(self) -> &'static str {
        match self {
            TotalSource::Runtime => "runtime",
            TotalSource::Config => "config",
        }
    }
}

/// The numbers for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Number of hosts (≥ 1).
    pub total: u32,
    /// Shard size (`1..=total`).
    pub size: u32,
    /// Where `size` came from.
    pub size_source: SizeSource,
    /// Where `total` came from.
    pub total_source: TotalSource,
    /// The chosen size was larger than `total` and was clamped to it.
    pub clamped: bool,
    /// Runtime keys that were present but invalid, in the order they were consulted.
    pub invalid: Vec<String>,
}

/// The `x-shard-config` value: `total=10;size=3;source=runtime;total_source=runtime`, with
/// `;clamped=true` appended when the size was clamped.
impl Resolved {
    /// The `x-shard-config` value (built without the formatting machinery, slow in Wasm).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(64);
        self.render_into(&mut out);
        out
    }

    /// [`Resolved::render`], appended to `out`.
    pub fn render_into(&self, out: &mut String) {
        out.push_str("total=");
        push_u32(out, self.total);
        out.push_str(";size=");
        push_u32(out, self.size);
        out.push_str(";source=");
        out.push_str(self.size_source.as_str());
        out.push_str(";total_source=");
        out.push_str(self.total_source.as_str());
        if self.clamped {
            out.push_str(";clamped=true");
        }
    }
}

impl fmt::Display for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// A runtime number: `None` when absent, `Some(Err(()))` when present but not usable.
fn lookup(snapshot: Option<&Snapshot>, key: &str, max: u32) -> Option<Result<u32, ()>> {
    let snapshot = snapshot?;
    snapshot.values.get(key)?;
    let valid = snapshot.u64(key).filter(|n| (1..=u64::from(max)).contains(n));
    Some(valid.and_then(|n| u32::try_from(n).ok()).ok_or(()))
}

/// Resolves total and shard size for `customer` (`None` when the id is not UTF-8: the
/// per-customer key is then not consulted).
pub fn resolve(snapshot: Option<&Snapshot>, customer: Option<&str>, config: &Config) -> Resolved {
    let mut invalid = Vec::new();
    let mut consult = |key: &str, max: u32| match lookup(snapshot, key, max) {
        Some(Ok(n)) => Some(n),
        Some(Err(())) => {
            invalid.push(key.to_string());
            None
        }
        None => None,
    };
    let (total, total_source) = match consult(&config.total_key, config.max_total_hosts) {
        Some(n) => (n, TotalSource::Runtime),
        None => (config.total_hosts, TotalSource::Config),
    };
    // The per-customer key is built only when there are runtime values to look it up in.
    let customer_size = customer
        .filter(|_| snapshot.is_some_and(|s| !s.values.is_empty()))
        .and_then(|id| consult(&format!("{}{id}.shard_size", config.customer_key_prefix), u32::MAX));
    let (size, size_source) = match customer_size {
        Some(n) => (n, SizeSource::Customer),
        None => match consult(&config.default_size_key, u32::MAX) {
            Some(n) => (n, SizeSource::Runtime),
            None => (config.shard_size, SizeSource::Config),
        },
    };
    let total = total.max(1);
    let clamped = size > total;
    Resolved { total, size: size.clamp(1, total), size_source, total_source, clamped, invalid }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(values: serde_json::Value) -> Snapshot {
        let text = serde_json::json!({"format": 1, "version": 1, "values": values}).to_string();
        Snapshot::parse(text.as_bytes()).unwrap()
    }

    fn config() -> Config {
        weir_sdk::config::parse_config(br#"{"total_hosts": 8, "shard_size": 2, "max_total_hosts": 100}"#)
            .unwrap()
    }

    #[test]
    fn precedence_customer_then_runtime_default_then_config() {
        let s = snapshot(serde_json::json!({
            "shuffle_sharding.total_hosts": 10,
            "shuffle_sharding.default_shard_size": "4",
            "shuffle_sharding.customer.customer-A.shard_size": 5,
        }));
        let a = resolve(Some(&s), Some("customer-A"), &config());
        assert_eq!(
            (a.total, a.size, a.size_source, a.total_source),
            (10, 5, SizeSource::Customer, TotalSource::Runtime)
        );
        assert_eq!(a.to_string(), "total=10;size=5;source=customer;total_source=runtime");
        let b = resolve(Some(&s), Some("customer-B"), &config());
        assert_eq!((b.size, b.size_source), (4, SizeSource::Runtime));
        let none = resolve(None, Some("customer-A"), &config());
        assert_eq!(none.to_string(), "total=8;size=2;source=config;total_source=config");
        assert!(none.invalid.is_empty());
    }

    #[test]
    fn invalid_values_fall_back_and_are_reported() {
        let s = snapshot(serde_json::json!({
            "shuffle_sharding.total_hosts": 0,
            "shuffle_sharding.default_shard_size": "lots",
            "shuffle_sharding.customer.c.shard_size": -3,
        }));
        let r = resolve(Some(&s), Some("c"), &config());
        assert_eq!(
            (r.total, r.size, r.size_source, r.total_source),
            (8, 2, SizeSource::Config, TotalSource::Config)
        );
        assert_eq!(
            r.invalid,
            [
                "shuffle_sharding.total_hosts",
                "shuffle_sharding.customer.c.shard_size",
                "shuffle_sharding.default_shard_size"
            ]
        );
        for bad in [
            serde_json::json!(101),
            serde_json::json!(2.5),
            serde_json::json!(true),
            serde_json::json!({"a": 1}),
        ] {
            let s = snapshot(serde_json::json!({"shuffle_sharding.total_hosts": bad}));
            let r = resolve(Some(&s), None, &config());
            assert_eq!((r.total, r.invalid.len()), (8, 1), "{bad}");
        }
    }

    #[test]
    fn size_larger_than_total_is_clamped() {
        let s = snapshot(
            serde_json::json!({"shuffle_sharding.total_hosts": 3, "shuffle_sharding.default_shard_size": 7}),
        );
        let r = resolve(Some(&s), Some("c"), &config());
        assert_eq!((r.total, r.size, r.clamped), (3, 3, true));
        assert_eq!(r.to_string(), "total=3;size=3;source=runtime;total_source=runtime;clamped=true");
        assert!(r.invalid.is_empty(), "clamping is not an invalid value");
    }

    #[test]
    fn non_utf8_customer_skips_the_per_customer_key() {
        let s = snapshot(serde_json::json!({"shuffle_sharding.default_shard_size": 1}));
        let r = resolve(Some(&s), None, &config());
        assert_eq!(r.size_source, SizeSource::Runtime);
    }
}
