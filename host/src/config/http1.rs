//! HTTP/1.1 options shared by listeners and clusters (Envoy's `Http1ProtocolOptions`).

use serde::{Deserialize, Serialize};

/// HTTP/1.1 options of a listener (towards clients) or a cluster (towards its endpoints).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Http1Options {
    /// Write trailers on HTTP/1.1 messages as Envoy's `enable_trailers` does: the trailers an
    /// upstream sent, or a plugin added, follow a chunked body whether or not the peer sent
    /// `TE: trailers` or the head announced them in `Trailer`. Off (Envoy's default), HTTP/1.1
    /// peers get trailers only when they asked for them (`TE: trailers`) and the head named
    /// them. Messages with a `content-length` (or to HTTP/1.0 peers) never carry trailers.
    #[serde(default)]
    pub enable_trailers: bool,
}
