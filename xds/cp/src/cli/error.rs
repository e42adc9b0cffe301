//! Errors of the command line.

use std::path::PathBuf;

use crate::{StartError, StoreError};

/// Why a command failed (printed as `error: …`, exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The admin API could not be reached.
    #[error(
        "cannot reach the weir-cp admin API at {url}: {reason} (is `weir-cp serve` running? see --admin / WEIR_CP_ADMIN)"
    )]
    Unreachable {
        /// The admin URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The admin API refused the request.
    #[error("weir-cp refused the request ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The API's error message.
        message: String,
    },
    /// The admin API answered something unexpected.
    #[error("unexpected answer from the weir-cp admin API: {0}")]
    BadReply(String),
    /// A bad argument (caught before talking to weir-cp).
    #[error("{0}")]
    Argument(String),
    /// A value or key refused by local validation.
    #[error(transparent)]
    Invalid(#[from] StoreError),
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The admin token could not be read.
    #[error(transparent)]
    Token(#[from] weir_admin_guard::TokenError),
    /// The server could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Process-level failure (runtime, signals, stdout).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
