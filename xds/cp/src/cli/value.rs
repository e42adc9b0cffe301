//! `KEY=VALUE` arguments.

use serde_json::Value;

use super::error::CliError;
use crate::keys;

/// Splits `KEY=VALUE` (at the first `=`) and parses VALUE: JSON when it parses (numbers,
/// booleans, "quoted strings", fractional-percent objects), else the text as a string. Key and
/// value are validated as the admin API would.
pub fn parse_pair(pair: &str) -> Result<(String, Value), CliError> {
    let Some((key, text)) = pair.split_once('=') else {
        return Err(CliError::Argument(format!("`{pair}` is not KEY=VALUE")));
    };
    let value = serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_string()));
    keys::check_key(key)?;
    keys::check_value(key, &value)?;
    Ok((key.to_string(), value))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_are_json_when_they_parse() {
        assert_eq!(parse_pair("a.b=5").unwrap(), ("a.b".into(), json!(5)));
        assert_eq!(parse_pair("a=true").unwrap().1, json!(true));
        assert_eq!(parse_pair("a=\"5\"").unwrap().1, json!("5"));
        assert_eq!(parse_pair("a=blue").unwrap().1, json!("blue"));
        assert_eq!(parse_pair("a=x=y").unwrap().1, json!("x=y"));
        assert_eq!(parse_pair("a=").unwrap().1, json!(""));
        assert_eq!(parse_pair(r#"a={"numerator":5}"#).unwrap().1, json!({"numerator": 5}));
    }

    #[test]
    fn bad_pairs_name_the_problem() {
        for (pair, needle) in
            [("novalue", "KEY=VALUE"), ("a b=1", "a b"), ("a=[1]", "lists"), ("a=null", "null")]
        {
            let err = parse_pair(pair).unwrap_err().to_string();
            assert!(err.contains(needle), "{pair}: {err}");
        }
    }
}
