//! Query parameter conditions of a route, on the first value of each parameter as written
//! (not percent-decoded), as Envoy 1.40 matches them (conformance case `route-query-case`).

use regex::Regex;

use crate::config::QueryParameterMatcher;

/// One compiled condition.
#[derive(Debug, Clone)]
pub struct QueryCondition {
    name: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Present,
    Exact(String, bool),
    Prefix(String, bool),
    Suffix(String, bool),
    Contains(String, bool),
    Regex(Regex),
}

impl QueryCondition {
    /// Compiles a validated matcher.
    pub fn new(m: &QueryParameterMatcher) -> Result<QueryCondition, String> {
        let kind = match &m.string_match {
            None => Kind::Present,
            Some(s) => {
                let fold = |v: &String| if s.ignore_case { v.to_ascii_lowercase() } else { v.clone() };
                if let Some(v) = &s.exact {
                    Kind::Exact(fold(v), s.ignore_case)
                } else if let Some(v) = &s.prefix {
                    Kind::Prefix(fold(v), s.ignore_case)
                } else if let Some(v) = &s.suffix {
                    Kind::Suffix(fold(v), s.ignore_case)
                } else if let Some(v) = &s.contains {
                    Kind::Contains(fold(v), s.ignore_case)
                } else if let Some(re) = &s.safe_regex {
                    Kind::Regex(Regex::new(&format!("^(?:{})$", re.regex)).map_err(|e| e.to_string())?)
                } else {
                    return Err(format!("query parameter matcher `{}` has no condition", m.name));
                }
            }
        };
        Ok(QueryCondition { name: m.name.clone(), kind })
    }

    /// Whether the request path's query satisfies the condition.
    pub fn matches(&self, path: &str) -> bool {
        let Some(value) = first_value(path, &self.name) else { return false };
        let folded =
            |ignore_case: bool| if ignore_case { value.to_ascii_lowercase() } else { value.to_string() };
        match &self.kind {
            Kind::Present => true,
            Kind::Exact(v, i) => folded(*i) == *v,
            Kind::Prefix(v, i) => folded(*i).starts_with(v.as_str()),
            Kind::Suffix(v, i) => folded(*i).ends_with(v.as_str()),
            Kind::Contains(v, i) => folded(*i).contains(v.as_str()),
            Kind::Regex(re) => re.is_match(value),
        }
    }
}

/// `path` and its query, if any.
pub(super) fn split_query(full: &str) -> (&str, Option<&str>) {
    full.split_once('?').map_or((full, None), |(path, query)| (path, Some(query)))
}

/// The first value of parameter `name` in `path`'s query, as written (as Envoy reads it for
/// matching and for hashing); a parameter without `=` has the empty value.
pub(super) fn first_value<'a>(path: &'a str, name: &str) -> Option<&'a str> {
    let query = path.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_values_as_written() {
        assert_eq!(first_value("/p?a=1&b=x%20y&a=2", "a"), Some("1"));
        assert_eq!(first_value("/p?a=1&b=x%20y", "b"), Some("x%20y"));
        assert_eq!(first_value("/p?flag&a=1", "flag"), Some(""));
        assert_eq!(first_value("/p", "a"), None);
    }
}
