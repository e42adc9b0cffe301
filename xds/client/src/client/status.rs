//! What the client knows about its control plane, for the admin API and metrics.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

/// The client's state, as shown by weir's admin `/xds`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClientStatus {
    /// Whether a stream to the control plane is up.
    pub connected: bool,
    /// The endpoint of the current (or last) stream.
    pub endpoint: Option<String>,
    /// Streams opened since start.
    pub connects: u64,
    /// Stream failures (connect errors and streams that ended).
    pub disconnects: u64,
    /// The last stream or connect error.
    pub last_error: Option<String>,
    /// Every subscribed type has had its first answer (or the initial fetch timed out).
    pub initialized: bool,
    /// Per type URL.
    pub types: BTreeMap<String, TypeStatus>,
}

/// One subscribed resource type.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TypeStatus {
    /// Resource names subscribed to.
    pub resource_names: Vec<String>,
    /// The version applied and ACKed last (empty before the first).
    pub acked_version: String,
    /// When it was applied.
    #[serde(with = "unix_time")]
    pub acked_at: Option<SystemTime>,
    /// Responses applied.
    pub accepted: u64,
    /// Responses rejected (NACKed).
    pub rejected: u64,
    /// The last rejection: the version refused and why.
    pub last_nack: Option<Nack>,
}

/// A rejected response.
#[derive(Debug, Clone, Serialize)]
pub struct Nack {
    /// The version refused.
    pub version: String,
    /// Why (sent to the control plane as `error_detail`).
    pub reason: String,
    /// When.
    #[serde(with = "unix_time")]
    pub at: Option<SystemTime>,
}

/// `SystemTime` as seconds since the Unix epoch (fractional).
mod unix_time {
    use std::time::{SystemTime, UNIX_EPOCH};

    use serde::Serializer;

    pub fn serialize<S: Serializer>(time: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match time.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) {
            Some(d) => s.serialize_f64(d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
}
