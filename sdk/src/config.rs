//! Typed plugin configuration.
//!
//! Envoy passes a Wasm plugin its configuration as bytes (usually a JSON string in a
//! `google.protobuf.StringValue`); weir passes the same bytes. Parse them once, in
//! `RootContext::on_configure`, and return `false` on error so the host refuses the plugin with
//! a clear log line instead of failing later on a request.

use std::fmt;

use serde::de::DeserializeOwned;

/// A configuration that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// What is wrong, naming the field and position when the parser knows them.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid plugin configuration: {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Parses JSON configuration bytes into `T`. Empty bytes parse as `{}` so that a config type
/// whose fields all have defaults works without any configuration.
pub fn parse_config<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ConfigError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice(bytes).map_err(|e| ConfigError { message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Example {
        #[serde(default)]
        header: String,
    }

    #[test]
    fn parses_and_reports_fields() {
        assert_eq!(parse_config::<Example>(b"").unwrap(), Example { header: String::new() });
        let err = parse_config::<Example>(br#"{"header": 5}"#).unwrap_err();
        assert!(err.message.contains("invalid type"), "{err}");
        let err = parse_config::<Example>(br#"{"colour": "red"}"#).unwrap_err();
        assert!(err.message.contains("colour"), "{err}");
    }
}
