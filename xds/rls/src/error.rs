//! weir-rls's errors.

use std::path::{Path, PathBuf};

/// A limits file that cannot be used; the running limits stay.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or directory cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A field is wrong.
    #[error("{path}: {field}: {why}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field's path (`descriptors[0].rate_limit.unit`), empty for the whole file.
        field: String,
        /// Why.
        why: String,
    },
}

impl ConfigError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> ConfigError {
        ConfigError::Io { path: path.to_path_buf(), source }
    }

    /// A wrong `field` in `path`.
    pub fn invalid(path: &Path, field: &str, why: impl Into<String>) -> ConfigError {
        let field = if field.is_empty() { "(file)".to_string() } else { field.to_string() };
        ConfigError::Invalid { path: path.to_path_buf(), field, why: why.into() }
    }
}

/// Why a Redis call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis answered with an error or the connection failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer within `--redis-timeout`.
    #[error("redis: no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The script answered something it never returns.
    #[error("redis: unexpected answer from the limit script")]
    Answer,
}

/// Why weir-rls could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The limits.
    #[error("limits: {0}")]
    Config(#[from] ConfigError),
    /// A listener or the runtime.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The Redis URL.
    #[error("--redis: {0}")]
    Redis(redis::RedisError),
    /// The gRPC server.
    #[error("gRPC server: {0}")]
    Grpc(#[from] tonic::transport::Error),
}
