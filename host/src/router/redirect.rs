//! The URL a route's `redirect` answers with: the request's scheme, authority, path and query,
//! each replaced as configured.

use crate::config::Redirect;
use weir_http::HeaderMap;

/// The `location` for a request with these headers; `prefix_len`: the length of the route's
/// matched prefix.
pub fn location(redirect: &Redirect, headers: &HeaderMap, prefix_len: Option<usize>) -> String {
    let original_scheme =
        headers.get_str("x-forwarded-proto").or_else(|| headers.get_str(":scheme")).unwrap_or("http");
    let scheme = match (&redirect.scheme_redirect, redirect.https_redirect) {
        (Some(scheme), _) => scheme.to_ascii_lowercase(),
        (None, true) => "https".to_string(),
        (None, false) => original_scheme.to_ascii_lowercase(),
    };
    let authority = redirect.host_redirect.as_deref().or_else(|| headers.get_str(":authority")).unwrap_or("");
    let (host, port) = split_port(authority);
    let port = match redirect.port_redirect {
        Some(port) => Some(port.to_string()),
        // A port that is the scheme's default goes when the scheme changes.
        None if scheme != original_scheme
            && port.is_some_and(|p| {
                default_port(&scheme) == Some(p) || default_port(original_scheme) == Some(p)
            }) =>
        {
            None
        }
        None => port.map(str::to_string),
    };
    let full = headers.get_str(":path").unwrap_or("/");
    let (path, query) = super::query::split_query(full);
    let (path, query) = match (&redirect.path_redirect, &redirect.prefix_rewrite) {
        (Some(new), _) => match new.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (new.clone(), query.map(str::to_string)),
        },
        (None, Some(new_prefix)) => {
            let rest = prefix_len.and_then(|len| path.get(len..)).unwrap_or(path);
            (format!("{new_prefix}{rest}"), query.map(str::to_string))
        }
        (None, None) => (path.to_string(), query.map(str::to_string)),
    };
    let query = query.filter(|_| !redirect.strip_query);
    let mut url = format!("{scheme}://{host}");
    if let Some(port) = port {
        url.push(':');
        url.push_str(&port);
    }
    url.push_str(&path);
    if let Some(query) = query {
        url.push('?');
        url.push_str(&query);
    }
    url
}

/// `host:port` → (`host`, `Some(port)`); IPv6 literals keep their brackets.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    match authority.rsplit_once(':') {
        Some((host, port))
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !host.ends_with(':') =>
        {
            (host, Some(port))
        }
        _ => (authority, None),
    }
}

fn default_port(scheme: &str) -> Option<&'static str> {
    match scheme {
        "http" => Some("80"),
        "https" => Some("443"),
        _ => None,
    }
}
