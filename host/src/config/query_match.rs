//! Route conditions on query parameters (Envoy's `QueryParameterMatcher`).

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Envoy's `QueryParameterMatcher`: a parameter's value matched, or its presence.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParameterMatcher {
    /// Parameter name (exact, case-sensitive).
    pub name: String,
    /// The value (as written, not percent-decoded) must match; exclusive with `present_match`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_match: Option<StringMatch>,
    /// The parameter must be present (`true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present_match: Option<bool>,
}

/// Envoy's `StringMatcher`: exactly one of `exact`, `prefix`, `suffix`, `contains`,
/// `safe_regex`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StringMatch {
    /// Equal to this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// Starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Ends with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// Contains this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// Fully matches this regular expression (`{regex: ...}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_regex: Option<SafeRegex>,
    /// Compare ignoring ASCII case (not for `safe_regex`).
    #[serde(default)]
    pub ignore_case: bool,
}

/// Envoy's `RegexMatcher`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SafeRegex {
    /// The expression (RE2-like syntax).
    pub regex: String,
}

/// Checks query parameter matchers at `at` (`....query_parameters`).
pub fn check(matchers: &[QueryParameterMatcher], at: &str) -> Result<(), ConfigError> {
    for (i, m) in matchers.iter().enumerate() {
        let here = format!("{at}[{i}]");
        if m.name.is_empty() {
            return Err(ConfigError::invalid(format!("{here}.name"), "must not be empty"));
        }
        match (&m.string_match, m.present_match) {
            (Some(s), None) => {
                let set = [
                    s.exact.is_some(),
                    s.prefix.is_some(),
                    s.suffix.is_some(),
                    s.contains.is_some(),
                    s.safe_regex.is_some(),
                ];
                if set.iter().filter(|x| **x).count() != 1 {
                    return Err(ConfigError::invalid(
                        format!("{here}.string_match"),
                        "exactly one of `exact`, `prefix`, `suffix`, `contains`, `safe_regex`",
                    ));
                }
                if let Some(re) = &s.safe_regex
                    && let Err(e) = regex::Regex::new(&re.regex)
                {
                    return Err(ConfigError::invalid(
                        format!("{here}.string_match.safe_regex.regex"),
                        e.to_string(),
                    ));
                }
            }
            (None, Some(true)) => {}
            (None, Some(false)) => {
                return Err(ConfigError::invalid(
                    format!("{here}.present_match"),
                    "only `true` is meaningful",
                ));
            }
            _ => {
                return Err(ConfigError::invalid(here, "exactly one of `string_match` and `present_match`"));
            }
        }
    }
    Ok(())
}
