//! An `HTTPRouteMatch` as an Envoy `RouteMatch`, and its precedence: Exact paths first, then
//! the longest prefix, then a method match, the most header matches, the most query matches
//! (the spec's order; a regular expression ranks between Exact and prefixes).

use std::cmp::Reverse;

use gateway_api::httproutes::{
    HttpRouteRulesMatches, HttpRouteRulesMatchesHeadersType as HeaderType,
    HttpRouteRulesMatchesMethod as Method, HttpRouteRulesMatchesPathType as PathType,
    HttpRouteRulesMatchesQueryParamsType as QueryType,
};
use serde_json::{Value, json};

/// Largest compiled regular expression in a match.
const REGEX_SIZE: usize = 64 * 1024;

/// One match, translated.
pub(crate) struct Match {
    /// Envoy's `RouteMatch`.
    pub envoy: Value,
    /// How it ranks against other matches (smaller first).
    pub precedence: Precedence,
    /// The prefix a `PathPrefix` match matched (`None` for other kinds): what
    /// `ReplacePrefixMatch` replaces. `/` for the root.
    pub prefix: Option<String>,
}

/// The spec's precedence between matches (compared as a tuple, smaller first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Precedence(Reverse<u8>, Reverse<usize>, Reverse<bool>, Reverse<usize>, Reverse<usize>);

/// Translates `m` (`None`: the default match, every path).
pub(crate) fn translate(m: Option<&HttpRouteRulesMatches>) -> Result<Match, String> {
    let path = m.and_then(|m| m.path.as_ref());
    let kind = path.and_then(|p| p.r#type.clone()).unwrap_or(PathType::PathPrefix);
    let value = path.and_then(|p| p.value.clone()).unwrap_or_else(|| "/".into());
    let mut envoy = json!({});
    let (rank, prefix) = match kind {
        PathType::Exact => {
            check_path(&value)?;
            envoy["path"] = json!(value);
            (3, None)
        }
        PathType::RegularExpression => {
            check_regex(&value)?;
            envoy["safe_regex"] = json!({"regex": value});
            (2, None)
        }
        PathType::PathPrefix => {
            check_path(&value)?;
            let trimmed = value.trim_end_matches('/');
            if trimmed.is_empty() {
                envoy["prefix"] = json!("/");
            } else {
                envoy["path_separated_prefix"] = json!(trimmed);
            }
            (1, Some(if trimmed.is_empty() { "/".to_string() } else { trimmed.to_string() }))
        }
    };
    let mut headers: Vec<Value> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for h in m.and_then(|m| m.headers.as_deref()).unwrap_or_default() {
        let name = h.name.to_ascii_lowercase();
        check_header_name(&name)?;
        // The spec: of several matches for one header, the first counts.
        if names.contains(&name) {
            continue;
        }
        let string_match = match h.r#type.clone().unwrap_or(HeaderType::Exact) {
            HeaderType::Exact => json!({"exact": h.value}),
            HeaderType::RegularExpression => {
                check_regex(&h.value)?;
                json!({"safe_regex": {"regex": h.value}})
            }
        };
        headers.push(json!({"name": name, "string_match": string_match}));
        names.push(name);
    }
    let header_count = headers.len();
    let method = m.and_then(|m| m.method.as_ref());
    if let Some(method) = method {
        headers.push(json!({"name": ":method", "string_match": {"exact": method_name(method)}}));
    }
    if !headers.is_empty() {
        envoy["headers"] = Value::Array(headers);
    }
    let mut query: Vec<Value> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for q in m.and_then(|m| m.query_params.as_deref()).unwrap_or_default() {
        if q.name.is_empty() || seen.contains(&q.name.as_str()) {
            continue;
        }
        let string_match = match q.r#type.clone().unwrap_or(QueryType::Exact) {
            QueryType::Exact => json!({"exact": q.value}),
            QueryType::RegularExpression => {
                check_regex(&q.value)?;
                json!({"safe_regex": {"regex": q.value}})
            }
        };
        query.push(json!({"name": q.name, "string_match": string_match}));
        seen.push(&q.name);
    }
    let query_count = query.len();
    if !query.is_empty() {
        envoy["query_parameters"] = Value::Array(query);
    }
    let precedence = Precedence(
        Reverse(rank),
        Reverse(value.len()),
        Reverse(method.is_some()),
        Reverse(header_count),
        Reverse(query_count),
    );
    Ok(Match { envoy, precedence, prefix })
}

fn method_name(m: &Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
    }
}

/// The CRD's rules for an `Exact` or `PathPrefix` value.
fn check_path(path: &str) -> Result<(), String> {
    let bad = !path.starts_with('/')
        || ["//", "/./", "/../", "%2f", "%2F", "#"].iter().any(|s| path.contains(s))
        || path.ends_with("/..")
        || path.ends_with("/.")
        || path.chars().any(|c| c.is_control() || c == ' ');
    match bad {
        true => Err(format!(
            "path {path:?} is not an absolute path without `//`, `.`/`..` segments, `%2f` or `#`"
        )),
        false => Ok(()),
    }
}

/// A header name: an HTTP token.
pub(crate) fn check_header_name(name: &str) -> Result<(), String> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    match !name.is_empty() && name.len() <= 256 && name.bytes().all(token) {
        true => Ok(()),
        false => Err(format!("header name {name:?} is not valid")),
    }
}

/// A regular expression both proxies compile (RE2 syntax; Rust's `regex` here), bounded.
/// What Rust's `regex` reads but RE2 (Envoy) does not is refused: class set operations
/// (`&&`, `--`, `~~`) and the word-boundary forms `\<`, `\>`, `\b{...}`.
fn check_regex(re: &str) -> Result<(), String> {
    if let Some(rust_only) = rust_only(re) {
        return Err(format!(
            "regular expression {re:?}: `{rust_only}` is not RE2 syntax (Envoy would refuse it)"
        ));
    }
    regex::RegexBuilder::new(re)
        .size_limit(REGEX_SIZE)
        .build()
        .map(|_| ())
        .map_err(|e| format!("regular expression {re:?}: {e}"))
}

/// Syntax of Rust's `regex` that RE2 lacks, if `re` uses any.
fn rust_only(re: &str) -> Option<&'static str> {
    let bytes = re.as_bytes();
    let mut in_class = false;
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'\\', Some(b'<'), _) => return Some("\\<"),
            (b'\\', Some(b'>'), _) => return Some("\\>"),
            (b'\\', Some(b'b'), Some(b'{')) => return Some("\\b{"),
            (b'\\', _, _) => i += 1,
            (b'[', _, _) => in_class = true,
            (b']', _, _) => in_class = false,
            (b'&', Some(b'&'), _) if in_class => return Some("&&"),
            (b'-', Some(b'-'), _) if in_class => return Some("--"),
            (b'~', Some(b'~'), _) if in_class => return Some("~~"),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
#[path = "matches_tests.rs"]
mod tests;
