//! A route's `redirect` (Envoy's `RedirectAction`): answer with a redirection to a URL made
//! from the request's, with any of its parts replaced.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Envoy's `RedirectAction`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Redirect {
    /// Redirect to `https` (exclusive with `scheme_redirect`).
    #[serde(default)]
    pub https_redirect: bool,
    /// The scheme to redirect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_redirect: Option<String>,
    /// The host to redirect to (the request's `:authority` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_redirect: Option<String>,
    /// The port to redirect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_redirect: Option<u16>,
    /// The path to redirect to (with a `?query`, it replaces the request's query too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_redirect: Option<String>,
    /// Replaces the matched `prefix` of the path (exclusive with `path_redirect`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_rewrite: Option<String>,
    /// The status.
    #[serde(default)]
    pub response_code: RedirectCode,
    /// Drop the request's query.
    #[serde(default)]
    pub strip_query: bool,
}

/// Envoy's `RedirectResponseCode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RedirectCode {
    /// 301 (Envoy's default).
    #[default]
    MovedPermanently,
    /// 302.
    Found,
    /// 303.
    SeeOther,
    /// 307.
    TemporaryRedirect,
    /// 308.
    PermanentRedirect,
}

impl RedirectCode {
    /// The status code.
    pub fn status(self) -> u16 {
        match self {
            RedirectCode::MovedPermanently => 301,
            RedirectCode::Found => 302,
            RedirectCode::SeeOther => 303,
            RedirectCode::TemporaryRedirect => 307,
            RedirectCode::PermanentRedirect => 308,
        }
    }
}

/// Checks a route's `redirect` at `at`; `prefix_match`: whether the route matches a prefix.
pub fn check(redirect: &Redirect, prefix_match: bool, at: &str) -> Result<(), ConfigError> {
    if redirect.https_redirect && redirect.scheme_redirect.is_some() {
        return Err(ConfigError::invalid(at, "set at most one of `https_redirect` and `scheme_redirect`"));
    }
    if let Some(scheme) = &redirect.scheme_redirect
        && (scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)))
    {
        return Err(ConfigError::invalid(
            format!("{at}.scheme_redirect"),
            format!("{scheme:?} is not a URL scheme"),
        ));
    }
    if let Some(host) = &redirect.host_redirect
        && (host.is_empty() || http::uri::Authority::try_from(host.as_str()).is_err())
    {
        return Err(ConfigError::invalid(format!("{at}.host_redirect"), format!("{host:?} is not a host")));
    }
    match (&redirect.path_redirect, &redirect.prefix_rewrite) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::invalid(at, "set at most one of `path_redirect` and `prefix_rewrite`"));
        }
        (Some(path), None) if !path.starts_with('/') => {
            return Err(ConfigError::invalid(format!("{at}.path_redirect"), "must start with `/`"));
        }
        (None, Some(_)) if !prefix_match => {
            return Err(ConfigError::invalid(
                format!("{at}.prefix_rewrite"),
                "needs a `prefix` or `path_separated_prefix` match",
            ));
        }
        _ => {}
    }
    Ok(())
}
