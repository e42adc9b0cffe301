//! The header values the filter sets (pure): the routing header, `x-shard-hosts` and
//! `x-shard-config`.

use crate::config::Config;
use crate::params::Resolved;
use crate::shard::Assignment;

/// The cluster of host `index`: `pattern` with every `{index}` replaced (`shard-{index}` →
/// `shard-7`).
pub fn cluster_name(pattern: &str, index: u32) -> String {
    pattern.replace("{index}", &index.to_string())
}

/// A shard's host indices, ascending, comma-separated without spaces (`3,7,9`).
pub fn hosts_list(hosts: &[u32]) -> String {
    let mut sorted = hosts.to_vec();
    sorted.sort_unstable();
    sorted.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// The headers of one routed request, as (name, value) pairs; disabled headers (empty name)
/// are left out.
pub fn shard_headers(config: &Config, assignment: &Assignment, resolved: &Resolved) -> Vec<(String, String)> {
    let mut out =
        vec![(config.cluster_header.clone(), cluster_name(&config.cluster_pattern, assignment.host))];
    if !config.hosts_header.is_empty() {
        out.push((config.hosts_header.clone(), hosts_list(assignment.shard.ranked())));
    }
    if !config.config_header.is_empty() {
        out.push((config.config_header.clone(), resolved.to_string()));
    }
    out
}

/// The part of `:path` that picks the host inside the shard: without the query string (and
/// fragment) unless `hash_query`.
pub fn hashed_path(path: &[u8], hash_query: bool) -> &[u8] {
    if hash_query {
        return path;
    }
    let end = path.iter().position(|&b| b == b'?' || b == b'#').unwrap_or(path.len());
    &path[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_names_and_lists() {
        assert_eq!(cluster_name("shard-{index}", 7), "shard-7");
        assert_eq!(cluster_name("pool-{index}.{index}", 2), "pool-2.2");
        assert_eq!(hosts_list(&[9, 3, 7]), "3,7,9");
        assert_eq!(hosts_list(&[]), "");
        assert_eq!(hashed_path(b"/a/b?x=1", false), b"/a/b");
        assert_eq!(hashed_path(b"/a/b?x=1", true), b"/a/b?x=1");
        assert_eq!(hashed_path(b"/a#f", false), b"/a");
    }

    #[test]
    fn disabled_headers_are_left_out() {
        let config: Config =
            weir_sdk::config::parse_config(br#"{"hosts_header": "", "config_header": "", "total_hosts": 4}"#)
                .unwrap();
        let assignment = crate::shard::assign(b"c", b"/", 0, 4, 1).unwrap();
        let resolved = crate::params::resolve(None, Some("c"), &config);
        let headers = shard_headers(&config, &assignment, &resolved);
        assert_eq!(headers.len(), 1);
        assert_eq!(headers[0].0, "x-shard-cluster");
    }
}
