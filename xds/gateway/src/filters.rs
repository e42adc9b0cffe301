//! A rule's `filters`: request and response header modifiers, `RequestRedirect` and
//! `URLRewrite`, checked and turned into Envoy route fields. `RequestMirror`, `ExtensionRef`,
//! `CORS` and filters on a single backend are refused (the route is not accepted:
//! `UnsupportedValue`).

use gateway_api::httproutes::{
    HttpRouteRulesFilters, HttpRouteRulesFiltersRequestHeaderModifier as Modifier,
    HttpRouteRulesFiltersRequestRedirectPathType as RedirectPath,
    HttpRouteRulesFiltersRequestRedirectScheme as Scheme, HttpRouteRulesFiltersType as Type,
    HttpRouteRulesFiltersUrlRewritePathType as RewritePath,
};
use serde_json::{Map, Value, json};

use crate::matches::check_header_name;

/// A path change of a redirect or a rewrite.
#[derive(Debug, Clone)]
pub(crate) enum PathChange {
    /// `ReplaceFullPath`.
    Full(String),
    /// `ReplacePrefixMatch`.
    Prefix(String),
}

/// What a rule's filters do.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    /// `request_headers_to_add`, `..._remove`, `response_headers_to_add`, `..._remove`.
    pub headers: Map<String, Value>,
    /// Envoy's `RedirectAction` without its path part, and the path change.
    pub redirect: Option<(Value, Option<PathChange>)>,
    /// `host_rewrite_literal`, and the path change.
    pub rewrite: Option<(Option<String>, Option<PathChange>)>,
}

/// Checks and reads `filters`.
pub(crate) fn parse(filters: &[HttpRouteRulesFilters]) -> Result<Filters, String> {
    let mut out = Filters::default();
    for (i, f) in filters.iter().enumerate() {
        let at = format!("filters[{i}]");
        match f.r#type {
            Type::RequestHeaderModifier => {
                let m = f
                    .request_header_modifier
                    .as_ref()
                    .ok_or(format!("{at}: requestHeaderModifier missing"))?;
                modifier(&mut out.headers, "request", m).map_err(|e| format!("{at}: {e}"))?;
            }
            Type::ResponseHeaderModifier => {
                let m = f
                    .response_header_modifier
                    .as_ref()
                    .ok_or(format!("{at}: responseHeaderModifier missing"))?;
                // The same shape as the request's.
                let m: Modifier = serde_json::from_value(serde_json::to_value(m).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
                modifier(&mut out.headers, "response", &m).map_err(|e| format!("{at}: {e}"))?;
            }
            Type::RequestRedirect => {
                let r = f.request_redirect.as_ref().ok_or(format!("{at}: requestRedirect missing"))?;
                let mut envoy = json!({});
                match r.scheme {
                    Some(Scheme::Http) => envoy["scheme_redirect"] = json!("http"),
                    Some(Scheme::Https) => envoy["scheme_redirect"] = json!("https"),
                    None => {}
                }
                if let Some(host) = &r.hostname {
                    check_host(host).map_err(|e| format!("{at}: requestRedirect.{e}"))?;
                    envoy["host_redirect"] = json!(host);
                }
                if let Some(port) = r.port {
                    if !(1..=65535).contains(&port) {
                        return Err(format!("{at}: requestRedirect.port {port} is not 1-65535"));
                    }
                    envoy["port_redirect"] = json!(port);
                }
                envoy["response_code"] = json!(match r.status_code.unwrap_or(302) {
                    301 => "MOVED_PERMANENTLY",
                    302 => "FOUND",
                    303 => "SEE_OTHER",
                    307 => "TEMPORARY_REDIRECT",
                    308 => "PERMANENT_REDIRECT",
                    other =>
                        return Err(format!(
                            "{at}: requestRedirect.statusCode {other} is not 301, 302, 303, 307 or 308"
                        )),
                });
                let path = r.path.as_ref().map(|p| match p.r#type {
                    RedirectPath::ReplaceFullPath => {
                        PathChange::Full(p.replace_full_path.clone().unwrap_or_default())
                    }
                    RedirectPath::ReplacePrefixMatch => {
                        PathChange::Prefix(p.replace_prefix_match.clone().unwrap_or_default())
                    }
                });
                set_once(&mut out.redirect, (envoy, path), &at)?;
            }
            Type::UrlRewrite => {
                let r = f.url_rewrite.as_ref().ok_or(format!("{at}: urlRewrite missing"))?;
                if let Some(host) = &r.hostname {
                    check_host(host).map_err(|e| format!("{at}: urlRewrite.{e}"))?;
                }
                let path = r.path.as_ref().map(|p| match p.r#type {
                    RewritePath::ReplaceFullPath => {
                        PathChange::Full(p.replace_full_path.clone().unwrap_or_default())
                    }
                    RewritePath::ReplacePrefixMatch => {
                        PathChange::Prefix(p.replace_prefix_match.clone().unwrap_or_default())
                    }
                });
                set_once(&mut out.rewrite, (r.hostname.clone(), path), &at)?;
            }
            Type::RequestMirror | Type::ExtensionRef | Type::Cors => {
                return Err(format!("{at}: filter type {:?} is not supported by weir-cp", f.r#type));
            }
        }
    }
    if out.redirect.is_some() && out.rewrite.is_some() {
        return Err("filters: RequestRedirect and URLRewrite cannot be combined".into());
    }
    for change in
        [out.redirect.as_mut().and_then(|r| r.1.as_mut()), out.rewrite.as_mut().and_then(|r| r.1.as_mut())]
            .into_iter()
            .flatten()
    {
        // The spec: an empty prefix replacement is `/` (`/foo/bar` → `/bar`, `/foo` → `/`).
        if let PathChange::Prefix(p) = change
            && p.is_empty()
        {
            *p = "/".into();
        }
        let (PathChange::Full(p) | PathChange::Prefix(p)) = change;
        if !p.starts_with('/') || p.contains(['?', '#']) || p.chars().any(char::is_control) {
            return Err(format!("filters: path {p:?} is not an absolute path without `?` or `#`"));
        }
    }
    Ok(out)
}

/// A hostname to redirect or rewrite to: a precise one (no wildcard).
fn check_host(host: &str) -> Result<(), String> {
    match !host.starts_with('*') && crate::hostname::valid(host) {
        true => Ok(()),
        false => Err(format!("hostname {host:?} is not a precise DNS name")),
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, at: &str) -> Result<(), String> {
    match slot.replace(value) {
        Some(_) => Err(format!("{at}: given twice in one rule")),
        None => Ok(()),
    }
}

/// One header modifier as Envoy's header fields for `side` (`request`/`response`).
fn modifier(headers: &mut Map<String, Value>, side: &str, m: &Modifier) -> Result<(), String> {
    let add_key = format!("{side}_headers_to_add");
    let mut adds: Vec<Value> = Vec::new();
    let pairs = m.set.iter().flatten().map(|h| (&h.name, &h.value, "OVERWRITE_IF_EXISTS_OR_ADD"));
    let appends = m.add.iter().flatten().map(|h| (&h.name, &h.value, "APPEND_IF_EXISTS_OR_ADD"));
    for (name, value, action) in pairs.chain(appends) {
        check_changeable(name)?;
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(format!("header {name}: value holds a control character"));
        }
        // Envoy reads `%...%` as a command operator: `%%` is a literal `%`.
        let literal = value.replace('%', "%%");
        adds.push(
            json!({"header": {"key": name.to_ascii_lowercase(), "value": literal}, "append_action": action}),
        );
    }
    let mut removes: Vec<Value> = Vec::new();
    for name in m.remove.iter().flatten() {
        check_changeable(name)?;
        removes.push(json!(name.to_ascii_lowercase()));
    }
    append(headers, add_key, adds);
    append(headers, format!("{side}_headers_to_remove"), removes);
    Ok(())
}

/// Appends `values` to the list `headers[key]` (made when missing and `values` is not empty).
fn append(headers: &mut Map<String, Value>, key: String, mut values: Vec<Value>) {
    if values.is_empty() {
        return;
    }
    if let Some(list) = headers.entry(key).or_insert_with(|| json!([])).as_array_mut() {
        list.append(&mut values);
    }
}

/// A header the proxies let a route change: a token, not a pseudo-header, not `host`.
fn check_changeable(name: &str) -> Result<(), String> {
    check_header_name(name)?;
    match name.eq_ignore_ascii_case("host") {
        true => Err("header host: cannot be changed by a header modifier (use URLRewrite's hostname)".into()),
        false => Ok(()),
    }
}
