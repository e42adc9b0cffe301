//! Runtime values: the merged RTDS snapshot, the same way in Envoy and in weir.
//!
//! Envoy gives Wasm filters no access to its runtime, so both hosts publish the merged runtime
//! snapshot into proxy-wasm shared data (weir from its own xDS client; Envoy through the
//! `rtds-bridge` singleton service, with the filters' `vm_id`). The snapshot is JSON:
//!
//! ```json
//! {"format": 1, "version": 7, "layers": ["base", "overrides"],
//!  "values": {"shuffle_sharding.total_hosts": 10, "feature.enabled": true}}
//! ```
//!
//! and [`weir_abi::runtime::VERSION_KEY`] holds `version` as text. Lookups read only the
//! version key; the snapshot is parsed again only when the version moved, and kept per VM.
//! See `docs/runtime-values.md`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde::Deserialize;
use serde_json::Value as Json;
use weir_abi::runtime::{FORMAT, SNAPSHOT_KEY, VERSION_KEY};

use crate::host;

/// A parsed runtime snapshot.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Snapshot {
    /// Encoding version ([`FORMAT`]).
    pub format: u32,
    /// Snapshot version: changes whenever any value changes.
    pub version: u64,
    /// Layer names, lowest precedence first.
    #[serde(default)]
    pub layers: Vec<String>,
    /// Flattened values (`"a.b.c"` → number, string, bool, or a `{numerator, denominator}`
    /// fractional percent).
    #[serde(default)]
    pub values: HashMap<String, Json>,
}

impl Snapshot {
    /// Parses snapshot bytes, refusing an unknown format.
    pub fn parse(bytes: &[u8]) -> Result<Snapshot, String> {
        let snapshot: Snapshot = serde_json::from_slice(bytes).map_err(|e| format!("runtime snapshot: {e}"))?;
        if snapshot.format != FORMAT {
            return Err(format!("runtime snapshot format {} (this filter reads {FORMAT})", snapshot.format));
        }
        Ok(snapshot)
    }

    /// A value as an unsigned integer (a number, or a string of digits as Envoy accepts).
    pub fn u64(&self, key: &str) -> Option<u64> {
        match self.values.get(key)? {
            Json::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64)),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A value as a string (numbers and booleans in their text form).
    pub fn str(&self, key: &str) -> Option<String> {
        match self.values.get(key)? {
            Json::String(s) => Some(s.clone()),
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A value as a boolean (`true`/`false`, or the strings Envoy accepts).
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.values.get(key)? {
            Json::Bool(b) => Some(*b),
            Json::String(s) => match s.as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            Json::Number(n) => n.as_u64().map(|n| n != 0),
            _ => None,
        }
    }
}

thread_local! {
    static CACHE: RefCell<Option<Rc<Snapshot>>> = const { RefCell::new(None) };
}

/// The current snapshot, re-read only when its version moved. `None` when the host has not
/// published one (no control plane yet) and none was seen before; a malformed snapshot is
/// logged and the last good one kept.
pub fn snapshot() -> Option<Rc<Snapshot>> {
    let cached = CACHE.with(|c| c.borrow().clone());
    let version = match host::shared_get(VERSION_KEY) {
        Ok(Some((value, _))) => value.as_str().and_then(|v| v.trim().parse::<u64>().ok()),
        _ => None,
    };
    match (&cached, version) {
        (Some(snapshot), Some(v)) if snapshot.version == v => return cached,
        (_, None) => return cached,
        _ => {}
    }
    let fresh = match host::shared_get(SNAPSHOT_KEY) {
        Ok(Some((bytes, _))) => Snapshot::parse(bytes.as_bytes()),
        Ok(None) => return cached,
        Err(status) => Err(format!("reading {SNAPSHOT_KEY}: {status:?}")),
    };
    match fresh {
        Ok(snapshot) => {
            let snapshot = Rc::new(snapshot);
            CACHE.with(|c| *c.borrow_mut() = Some(snapshot.clone()));
            Some(snapshot)
        }
        Err(e) => {
            log::error!("weir-sdk: {e}; keeping the previous runtime values");
            cached
        }
    }
}

/// An unsigned integer runtime value.
pub fn get_u64(key: &str) -> Option<u64> {
    snapshot()?.u64(key)
}

/// A string runtime value.
pub fn get_str(key: &str) -> Option<String> {
    snapshot()?.str(key)
}

/// A boolean runtime value.
pub fn get_bool(key: &str) -> Option<bool> {
    snapshot()?.bool(key)
}

/// The version of the snapshot in use, if any.
pub fn version() -> Option<u64> {
    snapshot().map(|s| s.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lookups() {
        let s = Snapshot::parse(
            br#"{"format":1,"version":3,"values":{"n":10,"s":"12","b":true,"f":1.0,"neg":-1,"text":"x","bs":"false"}}"#,
        )
        .unwrap();
        assert_eq!(s.u64("n"), Some(10));
        assert_eq!(s.u64("s"), Some(12));
        assert_eq!(s.u64("f"), Some(1));
        assert_eq!(s.u64("neg"), None);
        assert_eq!(s.u64("text"), None);
        assert_eq!(s.u64("missing"), None);
        assert_eq!(s.bool("b"), Some(true));
        assert_eq!(s.bool("bs"), Some(false));
        assert_eq!(s.str("n").as_deref(), Some("10"));
        assert!(Snapshot::parse(br#"{"format":2,"version":1}"#).unwrap_err().contains("format 2"));
        assert!(Snapshot::parse(b"nope").is_err());
    }
}
