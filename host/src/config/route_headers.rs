//! A route's header changes, as Envoy's `Route` has them: `request_headers_to_add` /
//! `request_headers_to_remove` applied to the request sent upstream (after the plugins ran),
//! `response_headers_to_add` / `response_headers_to_remove` to the upstream's response before
//! the plugins see it. Removals first, then additions, in order.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Envoy's `HeaderValueOption`: a header and how to add it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValueOption {
    /// The header.
    pub header: HeaderValue,
    /// What to do when the header is already there.
    #[serde(default)]
    pub append_action: AppendAction,
}

/// Envoy's `HeaderValue`: a name and a literal value (`%%` stands for `%`; command operators
/// such as `%DOWNSTREAM_REMOTE_ADDRESS%` are not supported and refuse the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValue {
    /// Header name.
    pub key: String,
    /// Value.
    #[serde(default)]
    pub value: String,
}

/// Envoy's `HeaderAppendAction`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppendAction {
    /// Add another value (Envoy's default).
    #[default]
    AppendIfExistsOrAdd,
    /// Add only when the header is absent.
    AddIfAbsent,
    /// Replace every value, or add.
    OverwriteIfExistsOrAdd,
    /// Replace every value; nothing when absent.
    OverwriteIfExists,
}

/// Headers a route may not touch: pseudo-headers and `host` (Envoy refuses them too).
fn protected(name: &str) -> bool {
    name.starts_with(':') || name == "host"
}

/// The value as sent: `%%` → `%`; any other `%` is a command operator weir does not support.
pub fn literal(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        match rest[at..].strip_prefix("%%") {
            Some(after) => {
                out.push('%');
                rest = after;
            }
            None => {
                return Err(format!(
                    "command operators (`%...%`) are not supported in header values; write `%%` for a literal `%` ({value:?})"
                ));
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Checks one list of additions and one of removals at `field` (`..._to_add`, `..._to_remove`
/// are appended).
pub fn check(field: &str, add: &[HeaderValueOption], remove: &[String]) -> Result<(), ConfigError> {
    for (i, option) in add.iter().enumerate() {
        let at = format!("{field}_to_add[{i}].header");
        let key = &option.header.key;
        if http::HeaderName::from_bytes(key.as_bytes()).is_err()
            || key.bytes().any(|b| b.is_ascii_uppercase())
        {
            return Err(ConfigError::invalid(
                format!("{at}.key"),
                format!("{key:?} is not a lower-case header name"),
            ));
        }
        if protected(key) {
            return Err(ConfigError::invalid(
                format!("{at}.key"),
                format!("{key:?} cannot be changed by a route"),
            ));
        }
        let value =
            literal(&option.header.value).map_err(|e| ConfigError::invalid(format!("{at}.value"), e))?;
        if http::HeaderValue::from_str(&value).is_err() {
            return Err(ConfigError::invalid(format!("{at}.value"), "not a valid header value"));
        }
    }
    for (i, name) in remove.iter().enumerate() {
        if protected(&name.to_ascii_lowercase()) || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(ConfigError::invalid(
                format!("{field}_to_remove[{i}]"),
                format!("{name:?} is not a header a route can remove"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_refusals() {
        assert_eq!(literal("50%% off").unwrap(), "50% off");
        assert!(literal("%DOWNSTREAM_REMOTE_ADDRESS%").is_err());
        let add = |key: &str, value: &str| HeaderValueOption {
            header: HeaderValue { key: key.into(), value: value.into() },
            append_action: AppendAction::default(),
        };
        assert!(check("r.request_headers", &[add("x-a", "1")], &["x-b".into()]).is_ok());
        let e = check("r.request_headers", &[add(":path", "/x")], &[]).unwrap_err().to_string();
        assert!(e.starts_with("r.request_headers_to_add[0].header.key"), "{e}");
        assert!(check("r.request_headers", &[add("X-Up", "1")], &[]).is_err());
        assert!(check("r.request_headers", &[add("x-a", "%REQ(x)%")], &[]).is_err());
        assert!(check("r.request_headers", &[], &["Host".into()]).is_err());
    }
}
