//! Whole-config validation: everything serde cannot check on one field alone.

use std::collections::HashSet;

use super::references::{check_filters, check_weighted, known_cluster};
use super::{Config, ConfigError, HeaderMatcher, RouteConfig};

/// Checks cross-references, uniqueness and one-of fields. Errors name the field.
pub fn validate(config: &Config) -> Result<(), ConfigError> {
    if config.listeners.is_empty() && !config.xds.as_ref().is_some_and(|x| x.lds) {
        return Err(ConfigError::invalid("listeners", "at least one listener is required (or `xds.lds`)"));
    }
    unique(config.listeners.iter().map(|l| l.name.as_str()), "listeners")?;
    unique(config.clusters.iter().map(|c| c.name.as_str()), "clusters")?;
    unique(config.plugins.iter().map(|p| p.name.as_str()), "plugins")?;

    for (i, cluster) in config.clusters.iter().enumerate() {
        super::validate_cluster::check(cluster, &format!("clusters[{i}]"))?;
    }
    super::dynamic::check(config)?;
    if let (Some(_), Some(xds)) = (&config.node, &config.xds)
        && (xds.node_id.is_some() || xds.node_cluster.is_some())
    {
        return Err(ConfigError::invalid(
            "xds.node_id",
            "`xds.node_id` and `xds.node_cluster` are deprecated: with `node` set, use `node.id` and `node.cluster`",
        ));
    }
    super::admin::check(config)?;
    if let Some(tracing) = &config.tracing {
        tracing.check()?;
    }
    for (i, plugin) in config.plugins.iter().enumerate() {
        if plugin.name.is_empty() {
            return Err(ConfigError::invalid(format!("plugins[{i}].name"), "must not be empty"));
        }
        plugin.limits.check(&format!("plugins[{i}].limits"))?;
        match (&plugin.remote, plugin.wasm.as_os_str().is_empty()) {
            (Some(remote), true) => remote.check(&format!("plugins[{i}].remote"))?,
            (None, false) => {}
            (Some(_), false) => {
                return Err(ConfigError::invalid(
                    format!("plugins[{i}]"),
                    "`wasm` and `remote` are exclusive",
                ));
            }
            (None, true) => {
                return Err(ConfigError::invalid(
                    format!("plugins[{i}]"),
                    "a module is required: `wasm` or `remote`",
                ));
            }
        }
    }
    for (l, listener) in config.listeners.iter().enumerate() {
        let at = format!("listeners[{l}]");
        if let Some(log) = &listener.access_log {
            log.check(&format!("{at}.access_log"))?;
        }
        if let Some(tcp) = &listener.tcp_proxy {
            super::tcp_proxy::check(config, listener, tcp, &at)?;
            continue;
        }
        if !listener.network_filters.is_empty() {
            return Err(ConfigError::invalid(
                format!("{at}.network_filters"),
                "only a `tcp_proxy` listener has them",
            ));
        }
        check_filters(config, &listener.http_filters, &format!("{at}.http_filters"))?;
        if let Some(name) = &listener.rds {
            if config.xds.is_none() {
                return Err(ConfigError::invalid(format!("{at}.rds"), "needs the `xds` section"));
            }
            if name.is_empty() {
                return Err(ConfigError::invalid(format!("{at}.rds"), "must name a route configuration"));
            }
        } else if listener.virtual_hosts.is_empty() {
            return Err(ConfigError::invalid(format!("{at}.virtual_hosts"), "at least one is required"));
        }
        unique(listener.virtual_hosts.iter().map(|v| v.name.as_str()), &format!("{at}.virtual_hosts"))?;
        for (v, vhost) in listener.virtual_hosts.iter().enumerate() {
            let at = format!("{at}.virtual_hosts[{v}]");
            if vhost.domains.is_empty() {
                return Err(ConfigError::invalid(format!("{at}.domains"), "at least one is required"));
            }
            for (d, domain) in vhost.domains.iter().enumerate() {
                check_domain(domain, &format!("{at}.domains[{d}]"))?;
            }
            for (r, route) in vhost.routes.iter().enumerate() {
                check_route(config, route, &format!("{at}.routes[{r}]"))?;
            }
        }
    }
    Ok(())
}

fn unique<'a>(names: impl Iterator<Item = &'a str>, field: &str) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for (i, name) in names.enumerate() {
        if !seen.insert(name) {
            return Err(ConfigError::invalid(
                format!("{field}[{i}].name"),
                format!("duplicate name `{name}`"),
            ));
        }
    }
    Ok(())
}

fn check_domain(domain: &str, field: &str) -> Result<(), ConfigError> {
    let stars = domain.matches('*').count();
    let ok = stars == 0
        || domain == "*"
        || (stars == 1 && (domain.starts_with('*') || domain.ends_with('*')) && domain.len() > 1);
    if ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            field,
            format!("`{domain}`: a wildcard must be the whole domain, its first or its last character"),
        ))
    }
}

fn check_route(config: &Config, route: &RouteConfig, at: &str) -> Result<(), ConfigError> {
    super::route_headers::check(
        &format!("{at}.request_headers"),
        &route.request_headers_to_add,
        &route.request_headers_to_remove,
    )?;
    super::route_headers::check(
        &format!("{at}.response_headers"),
        &route.response_headers_to_add,
        &route.response_headers_to_remove,
    )?;
    let m = &route.matcher;
    let kinds = [m.prefix.is_some(), m.path.is_some(), m.path_separated_prefix.is_some(), m.regex.is_some()];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(ConfigError::invalid(
            format!("{at}.match"),
            "exactly one of `prefix`, `path`, `path_separated_prefix`, `regex` is required",
        ));
    }
    // Envoy's rule: a path, without `?` or `#`, not ending in `/`.
    if let Some(prefix) = &m.path_separated_prefix
        && (!prefix.starts_with('/') || prefix.ends_with('/') || prefix.contains(['?', '#']))
    {
        return Err(ConfigError::invalid(
            format!("{at}.match.path_separated_prefix"),
            "must start with `/`, not end with `/`, and hold no `?` or `#`",
        ));
    }
    let prefix_match = m.prefix.is_some() || m.path_separated_prefix.is_some();
    if let Some(re) = &m.regex {
        check_regex(re, &format!("{at}.match.regex"))?;
    }
    for (h, header) in m.headers.iter().enumerate() {
        check_header_matcher(header, &format!("{at}.match.headers[{h}]"))?;
    }
    super::query_match::check(&m.query_parameters, &format!("{at}.match.query_parameters"))?;
    match (&route.route, &route.direct_response, &route.redirect) {
        (Some(action), None, None) => {
            match (&action.cluster, &action.cluster_header, &action.weighted_clusters) {
                (Some(cluster), None, None) => {
                    if !known_cluster(config, cluster) {
                        return Err(ConfigError::invalid(
                            format!("{at}.route.cluster"),
                            format!("unknown cluster `{cluster}` (not in `clusters`)"),
                        ));
                    }
                }
                (None, Some(header), None) if !header.is_empty() => {}
                (None, None, Some(weighted)) => {
                    check_weighted(config, weighted, &format!("{at}.route.weighted_clusters"))?
                }
                _ => {
                    return Err(ConfigError::invalid(
                        format!("{at}.route"),
                        "exactly one of `cluster`, `cluster_header` and `weighted_clusters` is required",
                    ));
                }
            }
            if let Some(retry) = &action.retry_policy {
                super::validate_cluster::check_retry(retry, &format!("{at}.route.retry_policy"))?;
            }
            if let Some(hash) = &action.hash_policy {
                super::validate_cluster::check_hash(hash, &format!("{at}.route.hash_policy"))?;
            }
            if let Some(rewrite) = &action.regex_rewrite {
                if action.prefix_rewrite.is_some() {
                    return Err(ConfigError::invalid(
                        format!("{at}.route.regex_rewrite"),
                        "set at most one of `prefix_rewrite` and `regex_rewrite`",
                    ));
                }
                check_regex(&rewrite.pattern.regex, &format!("{at}.route.regex_rewrite.pattern.regex"))?;
            }
            if action.prefix_rewrite.is_some() && !prefix_match {
                return Err(ConfigError::invalid(
                    format!("{at}.route.prefix_rewrite"),
                    "needs a `prefix` or `path_separated_prefix` match",
                ));
            }
        }
        (None, None, Some(redirect)) => {
            super::redirect::check(redirect, prefix_match, &format!("{at}.redirect"))?
        }
        (None, Some(direct), None) => {
            if !(100..=599).contains(&direct.status) {
                return Err(ConfigError::invalid(
                    format!("{at}.direct_response.status"),
                    format!("{} is not an HTTP status (100-599)", direct.status),
                ));
            }
        }
        _ => {
            return Err(ConfigError::invalid(
                at,
                "exactly one of `route`, `direct_response` and `redirect` is required",
            ));
        }
    }
    if let Some(filters) = &route.http_filters {
        check_filters(config, filters, &format!("{at}.http_filters"))?;
    }
    Ok(())
}

fn check_header_matcher(header: &HeaderMatcher, at: &str) -> Result<(), ConfigError> {
    let kinds =
        [header.exact.is_some(), header.prefix.is_some(), header.regex.is_some(), header.present.is_some()];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(ConfigError::invalid(
            at,
            "exactly one of `exact`, `prefix`, `regex`, `present` is required",
        ));
    }
    if let Some(re) = &header.regex {
        check_regex(re, &format!("{at}.regex"))?;
    }
    Ok(())
}

fn check_regex(re: &str, field: &str) -> Result<(), ConfigError> {
    regex::Regex::new(re).map(|_| ()).map_err(|e| ConfigError::invalid(field, format!("invalid regex: {e}")))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const GOOD: &str = r#"
listeners:
  - name: main
    address: 127.0.0.1:0
    http_filters: [p]
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - match: { prefix: / }
            route: { cluster: up }
clusters:
  - name: up
    endpoints: [127.0.0.1:8080]
plugins:
  - name: p
    wasm: x.wasm
    configuration: { a: 1 }
"#;

    #[test]
    fn accepts_good_config() {
        let config = Config::parse(GOOD, "t").unwrap();
        assert_eq!(config.plugins[0].configuration_bytes(), br#"{"a":1}"#);
    }

    #[test]
    fn errors_name_the_field() {
        let bad = GOOD.replace("cluster: up", "cluster: nope");
        let err = Config::parse(&bad, "t").unwrap_err().to_string();
        assert!(err.starts_with("listeners[0].virtual_hosts[0].routes[0].route.cluster:"), "{err}");

        let bad = GOOD.replace("http_filters: [p]", "http_filters: [q]");
        let err = Config::parse(&bad, "t").unwrap_err().to_string();
        assert!(err.contains("listeners[0].http_filters[0]: unknown plugin `q`"), "{err}");

        let bad = GOOD.replace("address: 127.0.0.1:0", "address: nowhere");
        let err = Config::parse(&bad, "t").unwrap_err().to_string();
        assert!(err.contains("address"), "{err}");

        let bad = GOOD.replace("prefix: /", "prefix: /, regex: '['");
        let err = Config::parse(&bad, "t").unwrap_err().to_string();
        assert!(err.contains("exactly one of"), "{err}");

        let bad = GOOD.replace("    wasm: x.wasm", "    wasm: x.wasm\n    colour: red");
        let err = Config::parse(&bad, "t").unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }
}
