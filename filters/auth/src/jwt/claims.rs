//! Reading JWT claims: nested lookups, numeric dates, audiences, scopes, and claim values as
//! header text.

use serde_json::{Map, Value as Json};

/// JWT claims (the decoded payload).
pub type Claims = Map<String, Json>;

/// A claim by name; dots reach into objects (`realm_access.roles`). A claim whose own name
/// contains dots is found too (the whole name is tried first).
pub fn get<'a>(claims: &'a Claims, name: &str) -> Option<&'a Json> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut current = claims.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// A date claim that is not a non-negative number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotADate;

/// A NumericDate claim (`exp`, `nbf`): `Ok(None)` when absent, `Err` when not a non-negative
/// number. Fractions are truncated.
pub fn numeric_date(claims: &Claims, name: &str) -> Result<Option<u64>, NotADate> {
    match claims.get(name) {
        None => Ok(None),
        Some(Json::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(v), _) => Ok(Some(v)),
            (None, Some(f)) if f.is_finite() && f >= 0.0 => Ok(Some(f as u64)),
            _ => Err(NotADate),
        },
        Some(_) => Err(NotADate),
    }
}

/// The `iss` claim, if it is a string.
pub fn issuer(claims: &Claims) -> Option<&str> {
    claims.get("iss").and_then(Json::as_str)
}

/// The `aud` claim as a list (a single string or a list of strings; other entries ignored).
pub fn audiences(claims: &Claims) -> Vec<&str> {
    match claims.get("aud") {
        Some(Json::String(s)) => vec![s.as_str()],
        Some(Json::Array(list)) => list.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Scopes granted by the token: `scope` (space-separated, RFC 8693) and `scp` (a list or a
/// space-separated string, as some issuers send).
pub fn scopes(claims: &Claims) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["scope", "scp"] {
        match claims.get(name) {
            Some(Json::String(s)) => out.extend(s.split_ascii_whitespace().map(str::to_string)),
            Some(Json::Array(list)) => out.extend(list.iter().filter_map(Json::as_str).map(str::to_string)),
            _ => {}
        }
    }
    out
}

/// A claim value as header text: strings as they are, numbers and booleans in JSON form, a
/// list of those joined with `,`. `None` for objects, null, empty lists, and text with
/// characters a header value cannot carry (control characters).
pub fn header_text(value: &Json) -> Option<String> {
    let text = match value {
        Json::String(s) => s.clone(),
        Json::Number(_) | Json::Bool(_) => value.to_string(),
        Json::Array(list) if !list.is_empty() => {
            let parts: Option<Vec<String>> = list
                .iter()
                .map(|v| match v {
                    Json::Array(_) | Json::Object(_) | Json::Null => None,
                    scalar => header_text(scalar),
                })
                .collect();
            parts?.join(",")
        }
        _ => return None,
    };
    let safe = text.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f));
    safe.then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Json) -> Claims {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn nested_and_dotted_names() {
        let c = claims(json!({"a": {"b": {"c": 1}}, "x.y": "dotted"}));
        assert_eq!(get(&c, "a.b.c"), Some(&json!(1)));
        assert_eq!(get(&c, "x.y"), Some(&json!("dotted")));
        assert_eq!(get(&c, "a.z"), None);
        assert_eq!(get(&c, "a.b.c.d"), None);
    }

    #[test]
    fn dates() {
        let c = claims(json!({"exp": 10, "nbf": 2.9, "bad": "10", "neg": -1}));
        assert_eq!(numeric_date(&c, "exp"), Ok(Some(10)));
        assert_eq!(numeric_date(&c, "nbf"), Ok(Some(2)));
        assert_eq!(numeric_date(&c, "iat"), Ok(None));
        assert_eq!(numeric_date(&c, "bad"), Err(NotADate));
        assert_eq!(numeric_date(&c, "neg"), Err(NotADate));
    }

    #[test]
    fn audiences_and_scopes() {
        assert_eq!(audiences(&claims(json!({"aud": "a"}))), ["a"]);
        assert_eq!(audiences(&claims(json!({"aud": ["a", 1, "b"]}))), ["a", "b"]);
        assert!(audiences(&claims(json!({"aud": 5}))).is_empty());
        let s = scopes(&claims(json!({"scope": "read  write", "scp": ["admin"]})));
        assert_eq!(s, ["read", "write", "admin"]);
    }

    #[test]
    fn header_values() {
        assert_eq!(header_text(&json!("x")).as_deref(), Some("x"));
        assert_eq!(header_text(&json!(12)).as_deref(), Some("12"));
        assert_eq!(header_text(&json!(true)).as_deref(), Some("true"));
        assert_eq!(header_text(&json!(["a", 1])).as_deref(), Some("a,1"));
        assert_eq!(header_text(&json!({"a": 1})), None);
        assert_eq!(header_text(&json!([["a"]])), None);
        assert_eq!(header_text(&json!([])), None);
        assert_eq!(header_text(&json!("a\r\nx-evil: 1")), None);
    }
}
