//! A listener's `access_log`: where the lines go and how each is written. The short form is a
//! path alone (one JSON line per request in weir's default fields); the long form adds a
//! format in Envoy's command operators, as text (`format`) or as a JSON object (`json_format`).

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// A listener's access log.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccessLogConfig {
    /// `-` for standard output, or a file (appended, created if missing, reopened on
    /// `SIGUSR1`).
    pub path: String,
    /// A text line in Envoy's command operators (Envoy's `text_format_source`), written as is:
    /// end it with `\n` for one line per request, as in Envoy. Exclusive with `json_format`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// A JSON object whose string values may hold command operators (Envoy's `json_format`):
    /// one object per line, keys sorted. A value that is one operator alone keeps its type
    /// (`%RESPONSE_CODE%` is a number) and is `null` when unknown; operators inside a longer
    /// string write `-` when unknown. Objects may nest; lists are refused. Omit both `format`
    /// and `json_format` for weir's default JSON line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_format: Option<serde_json::Map<String, serde_json::Value>>,
}

impl AccessLogConfig {
    /// An access log at `path` in the default format.
    pub fn path(path: impl Into<String>) -> AccessLogConfig {
        AccessLogConfig { path: path.into(), format: None, json_format: None }
    }

    /// Checks the destination and compiles the format; errors name the field under `at`.
    pub fn check(&self, at: &str) -> Result<(), super::ConfigError> {
        if self.path.is_empty() {
            return Err(super::ConfigError::invalid(format!("{at}.path"), "must not be empty"));
        }
        crate::access_log::Format::compile(self).map(|_| ()).map_err(|e| {
            let field =
                if self.json_format.is_some() && self.format.is_none() { "json_format" } else { "format" };
            super::ConfigError::invalid(format!("{at}.{field}"), e.to_string())
        })
    }
}

/// Reads `access_log:` as a path alone or as the whole table.
pub(super) fn path_or_table<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AccessLogConfig>, D::Error> {
    struct Either;
    impl<'de> Visitor<'de> for Either {
        type Value = Option<AccessLogConfig>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a path (`-` for standard output) or a table with `path` and a format")
        }

        fn visit_str<E: de::Error>(self, path: &str) -> Result<Self::Value, E> {
            Ok(Some(AccessLogConfig::path(path)))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
            AccessLogConfig::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    d.deserialize_any(Either)
}

/// Writes the short form back when the table holds a path alone (config dumps read as written).
pub(super) fn serialize_path_or_table<S: serde::Serializer>(
    log: &Option<AccessLogConfig>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match log {
        Some(AccessLogConfig { path, format: None, json_format: None }) => s.serialize_str(path),
        other => other.serialize(s),
    }
}
