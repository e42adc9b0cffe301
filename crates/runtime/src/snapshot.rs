//! The merged snapshot as published in shared data under [`crate::SNAPSHOT_KEY`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{FORMAT, Layer};

/// A runtime snapshot: every layer merged, with a version that changes on any change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Encoding version ([`FORMAT`]).
    pub format: u32,
    /// Changes whenever a value changes.
    pub version: u64,
    /// Layer names, lowest precedence first.
    #[serde(default)]
    pub layers: Vec<String>,
    /// Flattened, merged values.
    #[serde(default)]
    pub values: Layer,
}

impl Snapshot {
    /// A snapshot of the current format.
    pub fn new(version: u64, layers: Vec<String>, values: Layer) -> Snapshot {
        Snapshot { format: FORMAT, version, layers, values }
    }

    /// Parses snapshot bytes, refusing an unknown format.
    pub fn parse(bytes: &[u8]) -> Result<Snapshot, String> {
        let snapshot: Snapshot =
            serde_json::from_slice(bytes).map_err(|e| format!("runtime snapshot: {e}"))?;
        if snapshot.format != FORMAT {
            return Err(format!("runtime snapshot format {} (this reader knows {FORMAT})", snapshot.format));
        }
        Ok(snapshot)
    }

    /// The snapshot as published bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A value as an unsigned integer (a number, or a string of digits as Envoy accepts).
    pub fn u64(&self, key: &str) -> Option<u64> {
        match self.values.get(key)? {
            Value::Number(n) => {
                n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64))
            }
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A value as a string (numbers and booleans in their text form).
    pub fn str(&self, key: &str) -> Option<String> {
        match self.values.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A value as a boolean (`true`/`false`, `1`/`0`).
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.values.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            Value::Number(n) => n.as_u64().map(|n| n != 0),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lookups_and_round_trip() {
        let s = Snapshot::parse(
            br#"{"format":1,"version":3,"values":{"n":10,"s":"12","b":true,"f":1.0,"neg":-1,"text":"x","bs":"false"}}"#,
        )
        .unwrap();
        assert_eq!(s.u64("n"), Some(10));
        assert_eq!(s.u64("s"), Some(12));
        assert_eq!(s.u64("f"), Some(1));
        assert_eq!(s.u64("neg"), None);
        assert_eq!(s.u64("text"), None);
        assert_eq!(s.bool("b"), Some(true));
        assert_eq!(s.bool("bs"), Some(false));
        assert_eq!(s.str("n").as_deref(), Some("10"));
        assert_eq!(Snapshot::parse(&s.to_bytes()).unwrap(), s);
        assert!(Snapshot::parse(br#"{"format":2,"version":1}"#).unwrap_err().contains("format 2"));
    }
}
