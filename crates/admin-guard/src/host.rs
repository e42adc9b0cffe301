//! Which `Host` values a TCP admin listener answers: its own address only, so that a page whose
//! name an attacker re-points at 127.0.0.1 (DNS rebinding) gets nothing.

use std::net::{IpAddr, SocketAddr};

/// The `Host` values a listener accepts.
///
/// - `127.0.0.1`, `[::1]` and `localhost`, and the bound IP when it is not a wildcard
///   (`0.0.0.0`, `::`), each with the listener's port (or no port when that port is 80);
/// - every entry of `extra`: `name` accepts that name on any port, `name:port` that exact value
///   (names compare case-insensitively).
#[derive(Debug, Clone)]
pub struct HostPolicy {
    port: u16,
    names: Vec<String>,
    extra: Vec<String>,
}

impl HostPolicy {
    /// The policy of a listener bound to `local`, plus operator-listed `extra` names.
    pub fn new(local: SocketAddr, extra: &[String]) -> HostPolicy {
        let mut names = vec!["127.0.0.1".to_string(), "[::1]".to_string(), "localhost".to_string()];
        if !local.ip().is_unspecified() {
            names.push(match local.ip() {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(ip) => format!("[{ip}]"),
            });
        }
        HostPolicy {
            port: local.port(),
            names,
            extra: extra.iter().map(|e| e.trim().to_ascii_lowercase()).filter(|e| !e.is_empty()).collect(),
        }
    }

    /// Whether a `Host` header value (or a request target's authority) is accepted.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        if host.contains('@') || host.contains('/') {
            return false;
        }
        if self.extra.contains(&host) {
            return true;
        }
        let Some((name, port)) = split(&host) else { return false };
        // A bare name listed (no port) accepts any port.
        if self.extra.iter().any(|e| e == name && !e.contains(':')) {
            return true;
        }
        let port_ok = match port {
            Some(p) => p == self.port,
            None => self.port == 80,
        };
        port_ok && self.names.iter().any(|n| n == name)
    }

    /// The names accepted, for error messages.
    pub fn describe(&self) -> String {
        let mut all: Vec<String> = self.names.iter().map(|n| format!("{n}:{}", self.port)).collect();
        all.extend(self.extra.iter().cloned());
        all.join(", ")
    }
}

/// Splits `name[:port]` (`[v6][:port]`); `None` when the port is not a number.
fn split(host: &str) -> Option<(&str, Option<u16>)> {
    let (name, port) = if host.starts_with('[') {
        let end = host.find(']')?;
        let (name, rest) = host.split_at(end + 1);
        match rest.strip_prefix(':') {
            Some(port) => (name, Some(port)),
            None if rest.is_empty() => (name, None),
            None => return None,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    match port {
        None => Some((name, None)),
        Some(p) => p.parse().ok().map(|p| (name, Some(p))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_addresses_only() {
        let policy = HostPolicy::new("127.0.0.1:9901".parse().unwrap(), &[]);
        for ok in ["127.0.0.1:9901", "localhost:9901", "LOCALHOST:9901", "[::1]:9901"] {
            assert!(policy.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:9901",
            "evil.example",
            "127.0.0.1:80",
            "127.0.0.1",
            "127.0.0.1:9901@evil",
            "localhost:9901/x",
            "localhost:abc",
            "",
            "[::1]x",
        ] {
            assert!(!policy.allows(bad), "{bad}");
        }
    }

    #[test]
    fn bound_ip_port_80_and_extra_names() {
        let extra = ["admin.internal".to_string(), "proxy.lan:8443".to_string()];
        let policy = HostPolicy::new("10.1.2.3:80".parse().unwrap(), &extra);
        for ok in [
            "10.1.2.3",
            "10.1.2.3:80",
            "localhost",
            "admin.internal",
            "Admin.Internal:1234",
            "proxy.lan:8443",
        ] {
            assert!(policy.allows(ok), "{ok}");
        }
        for bad in ["proxy.lan", "proxy.lan:80", "10.1.2.4", "evil.example"] {
            assert!(!policy.allows(bad), "{bad}");
        }
        let wildcard = HostPolicy::new("0.0.0.0:9901".parse().unwrap(), &[]);
        assert!(!wildcard.allows("0.0.0.0:9901"));
        let v6 = HostPolicy::new("[fd00::1]:9901".parse().unwrap(), &[]);
        assert!(v6.allows("[fd00::1]:9901"));
    }
}
