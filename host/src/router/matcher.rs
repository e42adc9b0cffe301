//! Domain, path and header matchers.

use regex::Regex;

use crate::config::{HeaderMatcher, RouteMatch};
use weir_http::HeaderMap;

/// A virtual host domain pattern.
#[derive(Debug, Clone)]
pub enum DomainMatcher {
    /// `api.example.com`
    Exact(String),
    /// `*.example.com` (stored without the `*`)
    Suffix(String),
    /// `api.*` (stored without the `*`)
    Prefix(String),
    /// `*`
    Any,
}

impl DomainMatcher {
    /// Compiles a validated pattern.
    pub fn new(pattern: &str) -> DomainMatcher {
        let pattern = pattern.to_ascii_lowercase();
        if pattern == "*" {
            DomainMatcher::Any
        } else if let Some(suffix) = pattern.strip_prefix('*') {
            DomainMatcher::Suffix(suffix.to_string())
        } else if let Some(prefix) = pattern.strip_suffix('*') {
            DomainMatcher::Prefix(prefix.to_string())
        } else {
            DomainMatcher::Exact(pattern)
        }
    }

    /// Envoy's precedence as a sortable rank (higher wins): exact, then the longest suffix
    /// wildcard, then the longest prefix wildcard, then `*`.
    pub fn rank(&self, host: &str) -> Option<(u8, usize)> {
        let host_lower;
        let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            host_lower = host.to_ascii_lowercase();
            host_lower.as_str()
        } else {
            host
        };
        match self {
            DomainMatcher::Exact(d) => (d == host).then_some((3, d.len())),
            DomainMatcher::Suffix(s) => {
                (host.len() > s.len() && host.ends_with(s.as_str())).then_some((2, s.len()))
            }
            DomainMatcher::Prefix(p) => {
                (host.len() > p.len() && host.starts_with(p.as_str())).then_some((1, p.len()))
            }
            DomainMatcher::Any => Some((0, 0)),
        }
    }
}

/// A route's path condition.
#[derive(Debug, Clone)]
pub enum PathMatcher {
    /// Path starts with this.
    Prefix(String),
    /// Path (without query) equals this.
    Exact(String),
    /// Path starts with this, ignoring ASCII case (`case_sensitive: false`).
    PrefixIgnoreCase(String),
    /// Path (without query) equals this, ignoring ASCII case.
    ExactIgnoreCase(String),
    /// Path (without query) equals this or starts with it and a `/`; the flag: compared
    /// case-sensitively.
    Separated(String, bool),
    /// Path (without query) fully matches this.
    Regex(Regex),
}

impl PathMatcher {
    /// Compiles a route match.
    pub fn new(m: &RouteMatch) -> Result<PathMatcher, String> {
        if let Some(prefix) = &m.prefix {
            Ok(match m.case_sensitive {
                true => PathMatcher::Prefix(prefix.clone()),
                false => PathMatcher::PrefixIgnoreCase(prefix.clone()),
            })
        } else if let Some(path) = &m.path {
            Ok(match m.case_sensitive {
                true => PathMatcher::Exact(path.clone()),
                false => PathMatcher::ExactIgnoreCase(path.clone()),
            })
        } else if let Some(prefix) = &m.path_separated_prefix {
            Ok(PathMatcher::Separated(prefix.clone(), m.case_sensitive))
        } else if let Some(re) = &m.regex {
            anchored(re).map(PathMatcher::Regex)
        } else {
            Err("route match has no path condition".into())
        }
    }

    /// Whether `path` (possibly with a query) matches.
    pub fn matches(&self, path: &str) -> bool {
        let without_query = path.split(['?', '#']).next().unwrap_or(path);
        match self {
            PathMatcher::Prefix(p) => path.starts_with(p.as_str()),
            PathMatcher::Exact(p) => without_query == p,
            PathMatcher::PrefixIgnoreCase(p) => {
                path.get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p))
            }
            PathMatcher::ExactIgnoreCase(p) => without_query.eq_ignore_ascii_case(p),
            PathMatcher::Separated(p, case_sensitive) => {
                let head = without_query.get(..p.len());
                let same = match case_sensitive {
                    true => head == Some(p.as_str()),
                    false => head.is_some_and(|h| h.eq_ignore_ascii_case(p)),
                };
                same && matches!(without_query.as_bytes().get(p.len()), None | Some(b'/'))
            }
            PathMatcher::Regex(re) => re.is_match(without_query),
        }
    }

    /// How many bytes at the start of a matching path the matched prefix is (`prefix` and
    /// `path_separated_prefix` matches): what `prefix_rewrite` replaces.
    pub fn prefix_len(&self) -> Option<usize> {
        match self {
            PathMatcher::Prefix(p) | PathMatcher::PrefixIgnoreCase(p) | PathMatcher::Separated(p, _) => {
                Some(p.len())
            }
            _ => None,
        }
    }
}

fn anchored(re: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{re})$")).map_err(|e| format!("invalid regex `{re}`: {e}"))
}

/// A route's header condition.
#[derive(Debug, Clone)]
pub struct HeaderCondition {
    name: String,
    kind: HeaderKind,
    invert: bool,
}

#[derive(Debug, Clone)]
enum HeaderKind {
    Exact(String),
    Prefix(String),
    Regex(Regex),
    Present(bool),
}

impl HeaderCondition {
    /// Compiles a validated header matcher.
    pub fn new(m: &HeaderMatcher) -> Result<HeaderCondition, String> {
        let kind = if let Some(v) = &m.exact {
            HeaderKind::Exact(v.clone())
        } else if let Some(v) = &m.prefix {
            HeaderKind::Prefix(v.clone())
        } else if let Some(v) = &m.regex {
            HeaderKind::Regex(anchored(v)?)
        } else if let Some(v) = m.present {
            HeaderKind::Present(v)
        } else {
            return Err(format!("header matcher for `{}` has no condition", m.name));
        };
        Ok(HeaderCondition { name: m.name.to_ascii_lowercase(), kind, invert: m.invert })
    }

    /// Whether the request headers satisfy the condition.
    pub fn matches(&self, headers: &HeaderMap) -> bool {
        let value = headers.get(self.name.as_bytes());
        let text = value.and_then(|v| std::str::from_utf8(v).ok());
        let result = match &self.kind {
            HeaderKind::Present(want) => value.is_some() == *want,
            HeaderKind::Exact(v) => text == Some(v.as_str()),
            HeaderKind::Prefix(p) => text.is_some_and(|t| t.starts_with(p.as_str())),
            HeaderKind::Regex(re) => text.is_some_and(|t| re.is_match(t)),
        };
        result != self.invert
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_precedence() {
        let exact = DomainMatcher::new("api.example.com");
        let suffix = DomainMatcher::new("*.example.com");
        let prefix = DomainMatcher::new("api.*");
        let any = DomainMatcher::new("*");
        let host = "api.example.com";
        let ranks: Vec<_> = [&exact, &suffix, &prefix, &any].iter().map(|d| d.rank(host)).collect();
        assert!(ranks[0] > ranks[1] && ranks[1] > ranks[2] && ranks[2] > ranks[3]);
        assert_eq!(suffix.rank("example.com"), None);
    }

    #[test]
    fn path_matchers() {
        let m = |prefix: Option<&str>, path: Option<&str>, regex: Option<&str>| {
            PathMatcher::new(&RouteMatch {
                prefix: prefix.map(String::from),
                path: path.map(String::from),
                regex: regex.map(String::from),
                ..RouteMatch::default()
            })
            .unwrap()
        };
        assert!(m(Some("/api"), None, None).matches("/api/x?y"));
        assert!(m(None, Some("/x"), None).matches("/x?q=1"));
        assert!(!m(None, Some("/x"), None).matches("/x/y"));
        assert!(m(None, None, Some("/v[0-9]+/.*")).matches("/v12/items"));
        assert!(!m(None, None, Some("/v[0-9]+")).matches("/v12/items"));
        assert!(!m(Some("/api"), None, None).matches("/API/x"));
        let folded = |prefix: Option<&str>, path: Option<&str>| {
            let matcher = RouteMatch {
                prefix: prefix.map(String::from),
                path: path.map(String::from),
                case_sensitive: false,
                ..RouteMatch::default()
            };
            PathMatcher::new(&matcher).unwrap()
        };
        assert!(folded(Some("/api"), None).matches("/API/x"));
        assert!(folded(None, Some("/Exact")).matches("/exact?q"));
        assert!(!folded(Some("/api/long"), None).matches("/ap"));
    }

    #[test]
    fn separated_prefix() {
        let m = |prefix: &str, case_sensitive: bool| {
            let matcher = RouteMatch {
                path_separated_prefix: Some(prefix.into()),
                case_sensitive,
                ..RouteMatch::default()
            };
            PathMatcher::new(&matcher).unwrap()
        };
        let api = m("/api", true);
        for yes in ["/api", "/api/", "/api/x", "/api?q=1", "/api#f"] {
            assert!(api.matches(yes), "{yes}");
        }
        for no in ["/apix", "/ap", "/API/x", "/", "/x/api"] {
            assert!(!api.matches(no), "{no}");
        }
        assert!(m("/Api", false).matches("/aPI/x"));
        assert_eq!(api.prefix_len(), Some(4));
        assert_eq!(m("/x", false).prefix_len(), Some(2));
    }
}
