//! Hostnames: the spec's syntax (`api.example.com`, `*.example.com`), the intersection of a
//! listener's hostname with a route's, and the Envoy virtual-host domains for one.

/// Whether `host` is a Gateway API hostname: lower-case DNS labels, an optional leading `*.`,
/// at most 253 bytes.
pub fn valid(host: &str) -> bool {
    let name = host.strip_prefix("*.").unwrap_or(host);
    host.len() <= 253
        && !name.is_empty()
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= 63
                && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                && bytes.first() != Some(&b'-')
                && bytes.last() != Some(&b'-')
        })
}

/// `host` (exact or wildcard) is within `wildcard` (`*.example.com`): `a.example.com`,
/// `a.b.example.com` and `*.b.example.com` are; `example.com` is not.
pub(crate) fn within(host: &str, wildcard: &str) -> bool {
    wildcard.strip_prefix('*').is_some_and(|suffix| host.len() > suffix.len() && host.ends_with(suffix))
}

/// The hostnames a route serves on a listener: `None` in the list means any host. `None`
/// back: the route's hostnames and the listener's do not meet.
pub fn intersect(listener: Option<&str>, route: &[String]) -> Option<Vec<Option<String>>> {
    let Some(listener) = listener else {
        return Some(match route.is_empty() {
            true => vec![None],
            false => route.iter().map(|h| Some(h.clone())).collect(),
        });
    };
    if route.is_empty() {
        return Some(vec![Some(listener.to_string())]);
    }
    let mut out: Vec<Option<String>> = Vec::new();
    for host in route {
        let narrower = if host == listener || within(host, listener) {
            host.as_str()
        } else if within(listener, host) {
            listener
        } else {
            continue;
        };
        if !out.iter().any(|h| h.as_deref() == Some(narrower)) {
            out.push(Some(narrower.to_string()));
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The Envoy virtual host domains for `host` (`None`: any): an exact name with and without a
/// port (clients send `Host: name:port` on other ports than 80).
pub fn domains(host: Option<&str>) -> Vec<String> {
    match host {
        None => vec!["*".into()],
        Some(h) if h.starts_with('*') => vec![h.to_string()],
        Some(h) => vec![h.to_string(), format!("{h}:*")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn some(list: &[&str]) -> Option<Vec<Option<String>>> {
        Some(list.iter().map(|s| Some(s.to_string())).collect())
    }

    #[test]
    fn syntax() {
        for ok in ["example.com", "*.example.com", "a-b.c1", "localhost"] {
            assert!(valid(ok), "{ok}");
        }
        for bad in
            ["", "*", "Example.com", "a..b", "-a.com", "*.*.a", "a.*.com", "a_b.com", "a.com.", "1.2.3.4:80"]
        {
            assert!(!valid(bad), "{bad}");
        }
    }

    #[test]
    fn intersections() {
        assert_eq!(intersect(None, &[]), Some(vec![None]));
        assert_eq!(intersect(None, &hosts(&["a.com"])), some(&["a.com"]));
        assert_eq!(intersect(Some("a.com"), &[]), some(&["a.com"]));
        assert_eq!(intersect(Some("a.com"), &hosts(&["b.com"])), None);
        assert_eq!(intersect(Some("*.a.com"), &hosts(&["x.a.com", "y.b.com"])), some(&["x.a.com"]));
        assert_eq!(intersect(Some("x.a.com"), &hosts(&["*.a.com"])), some(&["x.a.com"]));
        assert_eq!(intersect(Some("*.a.com"), &hosts(&["*.x.a.com"])), some(&["*.x.a.com"]));
        assert_eq!(intersect(Some("*.x.a.com"), &hosts(&["*.a.com"])), some(&["*.x.a.com"]));
        assert_eq!(intersect(Some("*.a.com"), &hosts(&["a.com"])), None);
        assert_eq!(
            intersect(Some("*.a.com"), &hosts(&["*.a.com", "b.a.com"])),
            some(&["*.a.com", "b.a.com"])
        );
    }

    #[test]
    fn envoy_domains() {
        assert_eq!(domains(None), ["*"]);
        assert_eq!(domains(Some("a.com")), ["a.com", "a.com:*"]);
        assert_eq!(domains(Some("*.a.com")), ["*.a.com"]);
    }
}
