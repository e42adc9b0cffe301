//! `weir-cp secret set|get|delete`: SDS secrets from PEM files.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use http::Method;
use serde_json::Value;

use super::client::{AdminClient, segment};
use super::error::CliError;
use crate::admin::views::ChangeView;
use crate::secret::{MAX_SECRET_BYTES, SecretConfig};

/// `weir-cp secret ...`.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create or replace a secret: a certificate (`--cert` and `--key`) or a CA bundle (`--ca`).
    /// Checked here and by weir-cp (the PEM parses, the key matches the certificate).
    Set {
        /// The secret name (a listener's `sds`, or `trusted_ca_sds`).
        name: String,
        /// PEM file with the certificate chain, leaf first.
        #[arg(long, value_name = "FILE", requires = "key", conflicts_with = "ca")]
        cert: Option<PathBuf>,
        /// PEM file with the certificate's private key.
        #[arg(long, value_name = "FILE", requires = "cert")]
        key: Option<PathBuf>,
        /// PEM file with CA certificates for client certificates.
        #[arg(long, value_name = "FILE", required_unless_present = "cert")]
        ca: Option<PathBuf>,
    },
    /// Print one secret, or all (JSON). Private keys are never shown: only their size and
    /// SHA-256.
    Get {
        /// The secret name (omitted: all).
        name: Option<String>,
    },
    /// Remove a secret (proxies keep their last copy).
    Delete {
        /// The secret name.
        name: String,
    },
}

/// A PEM file's text, at most [`MAX_SECRET_BYTES`].
fn pem(path: &Path) -> Result<String, CliError> {
    let bad = |reason: String| CliError::File { path: path.to_path_buf(), reason };
    let size = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?.len();
    if size > MAX_SECRET_BYTES as u64 {
        return Err(bad(format!("{size} bytes is over the {MAX_SECRET_BYTES}-byte cap")));
    }
    std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))
}

/// The secret the `set` flags describe.
fn secret(cert: Option<&Path>, key: Option<&Path>, ca: Option<&Path>) -> Result<SecretConfig, CliError> {
    match (cert, key, ca) {
        (Some(cert), Some(key), None) => Ok(SecretConfig::certificate(pem(cert)?, pem(key)?)),
        (None, None, Some(ca)) => Ok(SecretConfig::trusted_ca(pem(ca)?)),
        _ => Err(CliError::Argument("give --cert and --key, or --ca".into())),
    }
}

/// Runs a `secret` command.
pub async fn run(admin: &AdminClient, command: SecretCommand) -> Result<(), CliError> {
    match command {
        SecretCommand::Set { name, cert, key, ca } => {
            let secret = secret(cert.as_deref(), key.as_deref(), ca.as_deref())?;
            secret.check(&name)?;
            let body = serde_json::to_vec(&secret).map_err(|e| CliError::Argument(e.to_string()))?;
            let change: ChangeView =
                admin.call(Method::PUT, &format!("/secrets/{}", segment(&name)), Some(body)).await?;
            let what = if change.changed { "version" } else { "unchanged, version" };
            println!("secret {name}: {what} {}", change.version);
        }
        SecretCommand::Get { name } => {
            let path = match &name {
                Some(name) => format!("/secrets/{}", segment(name)),
                None => "/secrets".to_string(),
            };
            let answer: Value = admin.call(Method::GET, &path, None).await?;
            println!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default());
        }
        SecretCommand::Delete { name } => {
            let change: ChangeView =
                admin.call(Method::DELETE, &format!("/secrets/{}", segment(&name)), None).await?;
            println!("secret {name}: deleted, version {}", change.version);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_flags() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, ca) = (dir.path().join("c.pem"), dir.path().join("k.pem"), dir.path().join("ca.pem"));
        for (path, text) in [(&cert, "C"), (&key, "K"), (&ca, "A")] {
            std::fs::write(path, text).unwrap();
        }
        let s = secret(Some(&cert), Some(&key), None).unwrap();
        assert_eq!((s.certificate_chain.as_deref(), s.private_key.as_deref()), (Some("C"), Some("K")));
        assert_eq!(secret(None, None, Some(&ca)).unwrap().trusted_ca.as_deref(), Some("A"));
        assert!(secret(Some(&cert), None, None).is_err());
        assert!(secret(None, None, Some(Path::new("/nonexistent/ca.pem"))).is_err());
    }
}
