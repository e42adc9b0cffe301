//! A module fetched over HTTP(S) instead of read from a file: Envoy's `vm_config.code.remote`
//! (`http_uri.uri`, `http_uri.timeout`, `sha256`, `retry_policy.num_retries`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::SpecError;

/// Longest `timeout`.
pub const MAX_FETCH_TIMEOUT: Duration = Duration::from_secs(300);
/// Most `retries`.
pub const MAX_FETCH_RETRIES: u32 = 10;

/// Where a plugin's module is fetched from, and the digest it must have.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteModule {
    /// `https://host[:port]/path`, `http://…` (the digest protects the bytes either way), or an
    /// OCI artifact `oci://registry[:port]/repository[:tag][@sha256:…]`.
    pub url: String,
    /// SHA-256 of the module, 64 hex digits (either case): required; a module with another
    /// digest is never used.
    pub sha256: String,
    /// How long one attempt may take, connecting included (Envoy's `http_uri.timeout`).
    #[serde(default = "default_timeout", with = "crate::duration")]
    pub timeout: Duration,
    /// Attempts after the first when one fails (Envoy's `retry_policy.num_retries`).
    #[serde(default = "default_retries")]
    pub retries: u32,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_retries() -> u32 {
    2
}

impl RemoteModule {
    /// A remote module with the default timeout and retries.
    pub fn new(url: &str, sha256: &str) -> RemoteModule {
        RemoteModule {
            url: url.to_string(),
            sha256: sha256.to_string(),
            timeout: default_timeout(),
            retries: default_retries(),
        }
    }

    /// The digest in lower case (as cached files are named).
    pub fn digest(&self) -> String {
        self.sha256.to_ascii_lowercase()
    }

    /// Checks the fields (`field`: where this sits, e.g. `plugins[0].remote`).
    pub fn check(&self, field: &str) -> Result<(), SpecError> {
        let refuse = |name: &str, reason: String| SpecError { field: format!("{field}.{name}"), reason };
        let rest = ["https://", "http://", "oci://"]
            .iter()
            .find_map(|scheme| self.url.strip_prefix(scheme))
            .ok_or_else(|| {
                refuse("url", format!("{:?}: must start with https://, http:// or oci://", self.url))
            })?;
        if rest.split(['/', '?', '#']).next().is_none_or(str::is_empty) {
            return Err(refuse("url", format!("{:?}: no host", self.url)));
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(refuse("sha256", format!("{:?}: must be 64 hex digits", self.sha256)));
        }
        if self.timeout.is_zero() || self.timeout > MAX_FETCH_TIMEOUT {
            return Err(refuse(
                "timeout",
                format!("must be more than 0 and at most {}s", MAX_FETCH_TIMEOUT.as_secs()),
            ));
        }
        if self.retries > MAX_FETCH_RETRIES {
            return Err(refuse("retries", format!("at most {MAX_FETCH_RETRIES}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";

    #[test]
    fn checked_fields_name_what_is_wrong() {
        RemoteModule::new("https://plugins.example/a.wasm", DIGEST).check("plugins[0].remote").unwrap();
        let reason = |m: RemoteModule| m.check("p").unwrap_err().to_string();
        assert!(reason(RemoteModule::new("ftp://x/a.wasm", DIGEST)).starts_with("p.url: "));
        assert!(reason(RemoteModule::new("https:///a.wasm", DIGEST)).contains("no host"));
        assert!(reason(RemoteModule::new("http://x/a.wasm", "abc")).starts_with("p.sha256: "));
        let mut slow = RemoteModule::new("http://x/a.wasm", DIGEST);
        slow.timeout = Duration::from_secs(301);
        assert!(reason(slow).starts_with("p.timeout: "));
        let mut stubborn = RemoteModule::new("http://x/a.wasm", DIGEST);
        stubborn.retries = 11;
        assert!(reason(stubborn).starts_with("p.retries: "));
    }
}
