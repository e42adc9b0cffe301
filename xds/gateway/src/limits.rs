//! What the Kubernetes API server would refuse before a controller sees it: names that are
//! not DNS-1123, and lists longer than the CRDs allow. They bound what one manifest can make
//! weir-cp build (a route's rules × matches × hostnames × parents).

use serde_json::Value;

/// The CRDs' `maxItems`, by kind and path (`[]`: every entry of a list).
const MAX_ITEMS: &[(&str, &str, usize)] = &[
    ("Gateway", "spec.listeners", 64),
    ("Gateway", "spec.addresses", 16),
    ("HTTPRoute", "spec.hostnames", 16),
    ("HTTPRoute", "spec.parentRefs", 32),
    ("HTTPRoute", "spec.rules", 16),
    ("HTTPRoute", "spec.rules[].matches", 64),
    ("HTTPRoute", "spec.rules[].matches[].headers", 16),
    ("HTTPRoute", "spec.rules[].matches[].queryParams", 16),
    ("HTTPRoute", "spec.rules[].filters", 16),
    ("HTTPRoute", "spec.rules[].backendRefs", 16),
    ("HTTPRoute", "spec.rules[].backendRefs[].filters", 16),
    ("HTTPRoute", "spec.rules[].filters[].requestHeaderModifier.set", 16),
    ("HTTPRoute", "spec.rules[].filters[].requestHeaderModifier.add", 16),
    ("HTTPRoute", "spec.rules[].filters[].requestHeaderModifier.remove", 16),
    ("HTTPRoute", "spec.rules[].filters[].responseHeaderModifier.set", 16),
    ("HTTPRoute", "spec.rules[].filters[].responseHeaderModifier.add", 16),
    ("HTTPRoute", "spec.rules[].filters[].responseHeaderModifier.remove", 16),
    ("ReferenceGrant", "spec.from", 16),
    ("ReferenceGrant", "spec.to", 16),
];

/// The first list of `value` (an object of `kind`) longer than its CRD allows: its path and
/// why.
pub fn lists(kind: &str, value: &Value) -> Result<(), (String, String)> {
    for (of, path, max) in MAX_ITEMS {
        if *of == kind {
            walk(value, path, String::new(), *max)?;
        }
    }
    Ok(())
}

fn walk(value: &Value, rest: &str, at: String, max: usize) -> Result<(), (String, String)> {
    let (head, tail) = rest.split_once('.').map_or((rest, None), |(h, t)| (h, Some(t)));
    let (field, every) = match head.strip_suffix("[]") {
        Some(field) => (field, true),
        None => (head, false),
    };
    let at = if at.is_empty() { field.to_string() } else { format!("{at}.{field}") };
    let Some(next) = value.get(field) else { return Ok(()) };
    match (tail, every) {
        (None, _) => match next.as_array() {
            Some(items) if items.len() > max => Err((at, format!("{} entries, at most {max}", items.len()))),
            _ => Ok(()),
        },
        (Some(tail), true) => next
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .try_for_each(|(i, item)| walk(item, tail, format!("{at}[{i}]"), max)),
        (Some(tail), false) => walk(next, tail, at, max),
    }
}

/// Whether `name` is a DNS-1123 label: at most 63 of `a-z`, `0-9`, `-`, starting and
/// ending with a letter or digit (a namespace).
pub fn label(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Whether `name` is a DNS-1123 subdomain: labels joined by `.`, at most 253 (an object's
/// name).
pub fn subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        assert!(label("gateway-conformance-infra") && subdomain("a.b-c.d"));
        for bad in ["", "A", "a_b", "-a", "a-", "a:b", "a/b", &"a".repeat(64)] {
            assert!(!label(bad), "{bad}");
        }
        assert!(!subdomain("a..b") && !subdomain("a:b"));
    }

    #[test]
    fn crd_list_limits() {
        let rules: Vec<_> = (0..2).map(|_| json!({"matches": vec![json!({}); 65]})).collect();
        let e = lists("HTTPRoute", &json!({"spec": {"rules": rules}})).unwrap_err();
        assert_eq!(e.0, "spec.rules[0].matches");
        assert!(lists("HTTPRoute", &json!({"spec": {"hostnames": vec!["a"; 16]}})).is_ok());
        assert_eq!(
            lists("HTTPRoute", &json!({"spec": {"hostnames": vec!["a"; 17]}})).unwrap_err().0,
            "spec.hostnames"
        );
        assert!(lists("Service", &json!({"spec": {"rules": vec![json!({}); 100]}})).is_ok());
    }
}
