//! Envoy's `StringMatcher` for origins: `exact`, `prefix`, `suffix`, `contains` (each with
//! `ignore_case`, ASCII as in Envoy) or `safe_regex` (the whole origin must match, RE2 syntax).

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

/// Largest compiled regex accepted (bytes): a hostile configuration cannot make the filter
/// hold more per pattern.
pub const MAX_REGEX_SIZE: usize = 64 * 1024;
/// Most memory one regex's lazy DFA cache may take (bytes), whatever origins come.
pub const MAX_REGEX_CACHE: usize = 256 * 1024;

/// A matcher as configured (Envoy's `type.matcher.v3.StringMatcher`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatcherConfig {
    /// The origin is exactly this.
    #[serde(default)]
    pub exact: Option<String>,
    /// The origin starts with this.
    #[serde(default)]
    pub prefix: Option<String>,
    /// The origin ends with this.
    #[serde(default)]
    pub suffix: Option<String>,
    /// The origin contains this.
    #[serde(default)]
    pub contains: Option<String>,
    /// The whole origin matches this regular expression.
    #[serde(default)]
    pub safe_regex: Option<RegexConfig>,
    /// Compare ASCII letters without case (not for `safe_regex`).
    #[serde(default)]
    pub ignore_case: bool,
}

/// Envoy's `RegexMatcher`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexConfig {
    /// The expression (RE2 syntax).
    pub regex: String,
    /// Envoy's engine selector, accepted for compatibility (`google_re2: {}`).
    #[serde(default)]
    pub google_re2: Option<serde::de::IgnoredAny>,
}

/// A compiled matcher.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// `exact`.
    Exact(String, bool),
    /// `prefix`.
    Prefix(String, bool),
    /// `suffix`.
    Suffix(String, bool),
    /// `contains` (the pattern lowercased when ignoring case).
    Contains(String, bool),
    /// `safe_regex`, anchored at both ends.
    Regex(Regex),
}

impl MatcherConfig {
    /// The matcher, or why it is refused.
    pub fn compile(&self) -> Result<Matcher, String> {
        let case = self.ignore_case;
        let set =
            [self.exact.is_some(), self.prefix.is_some(), self.suffix.is_some(), self.contains.is_some()];
        let count = set.iter().filter(|s| **s).count() + usize::from(self.safe_regex.is_some());
        if count != 1 {
            return Err("give exactly one of `exact`, `prefix`, `suffix`, `contains`, `safe_regex`".into());
        }
        if let Some(regex) = &self.safe_regex {
            if case {
                return Err("`ignore_case` does not apply to `safe_regex` (use `(?i)`)".into());
            }
            let anchored = format!("^(?:{})$", regex.regex);
            let compiled = RegexBuilder::new(&anchored)
                .size_limit(MAX_REGEX_SIZE)
                .dfa_size_limit(MAX_REGEX_CACHE)
                .build()
                .map_err(|e| format!("`safe_regex.regex`: {e}"))?;
            return Ok(Matcher::Regex(compiled));
        }
        let text = |s: &Option<String>| s.clone().unwrap_or_default();
        Ok(match () {
            () if self.exact.is_some() => Matcher::Exact(text(&self.exact), case),
            () if self.prefix.is_some() => Matcher::Prefix(text(&self.prefix), case),
            () if self.suffix.is_some() => Matcher::Suffix(text(&self.suffix), case),
            () => {
                let pattern = text(&self.contains);
                Matcher::Contains(if case { pattern.to_ascii_lowercase() } else { pattern }, case)
            }
        })
    }
}

impl Matcher {
    /// Whether this is a `safe_regex` matcher.
    pub fn is_regex(&self) -> bool {
        matches!(self, Matcher::Regex(_))
    }

    /// Whether `value` matches; `lower` is `value` with ASCII letters lowercased (made once per
    /// request, for `contains` ignoring case).
    pub fn matches(&self, value: &str, lower: &str) -> bool {
        let eq = |a: &str, b: &str, case: bool| if case { a.eq_ignore_ascii_case(b) } else { a == b };
        match self {
            Matcher::Exact(p, case) => eq(value, p, *case),
            Matcher::Prefix(p, case) => value.get(..p.len()).is_some_and(|head| eq(head, p, *case)),
            Matcher::Suffix(p, case) => {
                value.len() >= p.len()
                    && value.get(value.len() - p.len()..).is_some_and(|tail| eq(tail, p, *case))
            }
            Matcher::Contains(p, case) => {
                if *case {
                    lower.contains(p.as_str())
                } else {
                    value.contains(p.as_str())
                }
            }
            Matcher::Regex(r) => r.is_match(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(json: &str) -> Result<Matcher, String> {
        weir_sdk::config::parse_config::<MatcherConfig>(json.as_bytes()).unwrap().compile()
    }

    fn refused(json: &str) -> String {
        weir_sdk::config::parse_config::<MatcherConfig>(json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn each_kind_matches_as_envoy_does() {
        let exact = matcher(r#"{"exact": "https://a.example"}"#).unwrap();
        assert!(
            exact.matches("https://a.example", &"https://a.example".to_ascii_lowercase())
                && !exact.matches("https://A.example", &"https://A.example".to_ascii_lowercase())
        );
        let exact = matcher(r#"{"exact": "https://a.example", "ignore_case": true}"#).unwrap();
        assert!(exact.matches("https://A.EXAMPLE", &"https://A.EXAMPLE".to_ascii_lowercase()));
        let prefix = matcher(r#"{"prefix": "https://"}"#).unwrap();
        assert!(
            prefix.matches("https://x", &"https://x".to_ascii_lowercase())
                && !prefix.matches("http://x", &"http://x".to_ascii_lowercase())
        );
        let suffix = matcher(r#"{"suffix": ".example", "ignore_case": true}"#).unwrap();
        assert!(
            suffix.matches("https://b.EXAMPLE", &"https://b.EXAMPLE".to_ascii_lowercase())
                && !suffix.matches("https://b.example.evil", &"https://b.example.evil".to_ascii_lowercase())
        );
        let contains = matcher(r#"{"contains": "Shop", "ignore_case": true}"#).unwrap();
        assert!(
            contains.matches("https://shop.example", &"https://shop.example".to_ascii_lowercase())
                && !contains.matches("https://s.example", &"https://s.example".to_ascii_lowercase())
        );
        let regex =
            matcher(r#"{"safe_regex": {"google_re2": {}, "regex": "https://[a-z]+\\.example"}}"#).unwrap();
        assert!(regex.matches("https://c.example", &"https://c.example".to_ascii_lowercase()));
        assert!(
            !regex.matches("https://c.example.evil", &"https://c.example.evil".to_ascii_lowercase()),
            "anchored at the end"
        );
        assert!(
            !regex.matches("evil https://c.example", &"evil https://c.example".to_ascii_lowercase()),
            "anchored at the start"
        );
        // A matcher that matches "*" allows every origin (Envoy checks "*" first).
        assert!(matcher(r#"{"exact": "*"}"#).unwrap().matches("*", &"*".to_ascii_lowercase()));
        assert!(
            matcher(r#"{"safe_regex": {"regex": ".*"}}"#).unwrap().matches("*", &"*".to_ascii_lowercase())
        );
    }

    #[test]
    fn bad_matchers_are_refused_with_the_reason() {
        assert!(matcher(r#"{}"#).unwrap_err().contains("exactly one"));
        assert!(matcher(r#"{"exact": "a", "prefix": "b"}"#).unwrap_err().contains("exactly one"));
        assert!(matcher(r#"{"safe_regex": {"regex": "("}}"#).unwrap_err().contains("safe_regex.regex"));
        assert!(
            matcher(r#"{"safe_regex": {"regex": "a"}, "ignore_case": true}"#).unwrap_err().contains("(?i)")
        );
        let huge = format!(r#"{{"safe_regex": {{"regex": "{}"}}}}"#, "(a|b|c|d){1000}".repeat(10));
        assert!(matcher(&huge).unwrap_err().contains("safe_regex.regex"), "over the size limit");
        assert!(refused(r#"{"exakt": "a"}"#).contains("exakt"));
    }
}
