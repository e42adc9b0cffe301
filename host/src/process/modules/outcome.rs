//! What obtaining a remote module came to: the outcome (the metric's `result` label), the last
//! fetch per plugin (`GET /plugins`), and the errors.

use serde::Serialize;

use super::FetchError;

/// How a module was obtained (the `result` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Fetched and verified.
    Fetched,
    /// Found in the cache; nothing fetched.
    Cached,
    /// The server's module had another digest.
    DigestMismatch,
    /// No module: every attempt failed.
    Failed,
}

impl Outcome {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Fetched => "fetched",
            Outcome::Cached => "cached",
            Outcome::DigestMismatch => "digest_mismatch",
            Outcome::Failed => "failed",
        }
    }
}

/// The last time a plugin's module was obtained.
#[derive(Debug, Clone, Serialize)]
pub struct LastFetch {
    /// The URL.
    pub url: String,
    /// The digest asked for.
    pub sha256: String,
    /// What happened.
    pub result: Outcome,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When (RFC 3339).
    pub at: String,
    /// Attempts made (0 for a cache hit).
    pub attempts: u32,
}

/// Why a remote module could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The server's module has another digest.
    #[error("module {url}: sha256 is {got}, not the {want} asked for; not used")]
    DigestMismatch {
        /// The URL.
        url: String,
        /// The digest asked for.
        want: String,
        /// The digest served.
        got: String,
    },
    /// Every attempt failed.
    #[error("module {url}: {attempts} attempt(s) failed, the last: {last}")]
    Fetch {
        /// The URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: FetchError,
    },
    /// The cache directory or the TLS settings cannot be used.
    #[error("module {url}: {reason}")]
    Setup {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}
