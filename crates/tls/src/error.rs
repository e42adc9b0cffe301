//! Why TLS material or settings were refused.

use std::path::PathBuf;

/// A TLS configuration that cannot be used; the message names the file or field.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A PEM file holds nothing usable of what was expected.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong (`no certificate`, `no private key`, a parse error).
        what: String,
    },
    /// The key does not belong to the certificate, or is of an unsupported type.
    #[error("{path}: {what}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why it was refused.
        what: String,
    },
    /// An SDS secret holds nothing usable of what was expected (bad PEM, a key that does not
    /// match its certificate, the wrong kind of secret, too large).
    #[error("SDS secret `{name}`: {what}")]
    Secret {
        /// The secret's name.
        name: String,
        /// What is wrong.
        what: String,
    },
    /// A setting is invalid (`field: reason`).
    #[error("{field}: {reason}")]
    Setting {
        /// The field, as written in the configuration.
        field: String,
        /// Why it was refused.
        reason: String,
    },
}

impl TlsError {
    /// A refused setting.
    pub fn setting(field: impl Into<String>, reason: impl Into<String>) -> TlsError {
        TlsError::Setting { field: field.into(), reason: reason.into() }
    }
}
