//! When something happened, kept as a `SystemTime` and written as RFC 3339 (milliseconds, UTC)
//! only when shown: the registry records a time on every push and ACK, and formatting each one
//! cost more than the rest of the bookkeeping.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A moment, shown as `2026-12-06T23:30:00.123Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(pub SystemTime);

impl Stamp {
    /// Now.
    pub fn now() -> Stamp {
        Stamp(SystemTime::now())
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_millis(self.0))
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Stamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_rfc3339(&text).map(Stamp).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_and_read_back_as_rfc3339_millis() {
        let stamp = Stamp(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_765_063_800_123));
        let json = serde_json::to_string(&stamp).unwrap();
        assert_eq!(json, "\"2025-12-06T23:30:00.123Z\"");
        assert_eq!(serde_json::from_str::<Stamp>(&json).unwrap(), stamp);
    }
}
