//! Errors of the control plane library.

use std::path::PathBuf;

/// A refused or failed change to the control plane's state.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A runtime key is malformed.
    #[error("invalid key `{key}`: {reason}")]
    InvalidKey {
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A layer or resource name is malformed.
    #[error("invalid {what} name `{name}`: {reason}")]
    InvalidName {
        /// What kind of name (`layer`, `ECDS resource`).
        what: &'static str,
        /// The name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A runtime value is not one Envoy accepts.
    #[error("invalid value for `{key}`: {reason}")]
    InvalidValue {
        /// The dotted key of the bad value.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A layer as a whole is not acceptable (not an object).
    #[error("invalid layer: {0}")]
    InvalidLayer(String),
    /// An ECDS configuration is not acceptable.
    #[error("invalid ECDS config `{name}`: {reason}")]
    InvalidEcds {
        /// The resource name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An SDS secret is not acceptable (shape, size, PEM, a key that does not match).
    #[error("invalid secret `{name}`: {reason}")]
    InvalidSecret {
        /// The secret's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An Envoy resource (cluster, endpoints) is not acceptable; the reason names the field.
    #[error("invalid {what}: {reason}")]
    InvalidResource {
        /// What, e.g. ``clusters[2]``.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The thing to change or read does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The change would leave the state inconsistent (e.g. editing a layer that holds an
    /// unchecked invalid entry).
    #[error("{0}")]
    Conflict(String),
    /// The state file could not be written; the change was not made.
    #[error("cannot write state file {path}: {source}")]
    Persist {
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Why the control plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The state file exists but cannot be used. weir-cp refuses to start empty in its place.
    #[error(
        "state file {path} is unusable ({reason}); fix or remove it (weir-cp will not start empty over it)"
    )]
    StateFile {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A listening socket could not be bound.
    #[error("cannot listen on {address} ({what}): {source}")]
    Bind {
        /// `xds` or `admin`.
        what: &'static str,
        /// The address.
        address: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The xDS port's TLS could not be set up (a certificate, a key, a setting).
    #[error(transparent)]
    Tls(#[from] weir_tls::TlsError),
    /// The admin unix socket could not be bound.
    #[error("cannot listen on the admin socket {path}: {source}")]
    Socket {
        /// The socket path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The initial state could not be prepared (a bad `--layer` name, an unwritable state file).
    #[error(transparent)]
    Store(#[from] StoreError),
}
