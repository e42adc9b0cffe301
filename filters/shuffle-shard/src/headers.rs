//! The header values the filter sets (pure): the routing header, `x-shard-hosts` and
//! `x-shard-config`.

use std::rc::Rc;

use crate::config::Config;
use crate::decimal::push_u32;
use crate::params::Resolved;

/// The cluster of host `index`: the pattern (given as its parts around `{index}`, see
/// [`Config::cluster_parts`]) with every `{index}` replaced (`shard-{index}` → `shard-7`).
pub fn cluster_name(parts: &[String], index: u32) -> String {
    let mut out = String::with_capacity(parts.iter().map(String::len).sum::<usize>() + 10);
    push_cluster_name(&mut out, parts, index);
    out
}

fn push_cluster_name(out: &mut String, parts: &[String], index: u32) {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            push_u32(out, index);
        }
        out.push_str(part);
    }
}

/// A shard's host indices, ascending, comma-separated without spaces (`3,7,9`).
pub fn hosts_list(hosts: &[u32]) -> String {
    let mut sorted = hosts.to_vec();
    sorted.sort_unstable();
    let mut out = String::with_capacity(sorted.len() * 4);
    for (i, host) in sorted.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_u32(&mut out, *host);
    }
    out
}

/// The headers of one routed request: up to three (name, value) pairs, the values in one
/// buffer (one allocation per request instead of one per value).
#[derive(Debug, Default)]
pub struct ShardHeaders {
    text: String,
    /// Each header's name and the end of its value in `text`.
    headers: [Option<(Rc<str>, usize)>; 3],
}

impl ShardHeaders {
    fn push(&mut self, at: usize, name: &Rc<str>, value: impl FnOnce(&mut String)) {
        value(&mut self.text);
        self.headers[at] = Some((name.clone(), self.text.len()));
    }

    /// The (name, value) pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Rc<str>, &str)> {
        let mut start = 0;
        self.headers.iter().flatten().map(move |(name, end)| {
            let value = self.text.get(start..*end).unwrap_or_default();
            start = *end;
            (name, value)
        })
    }
}

/// The headers of one routed request to `host` of a shard whose `x-shard-hosts` text is
/// `hosts`; disabled headers (empty name) are left out.
pub fn shard_headers(config: &Config, host: u32, hosts: &str, resolved: &Resolved) -> ShardHeaders {
    let mut out = ShardHeaders { text: String::with_capacity(96 + hosts.len()), ..ShardHeaders::default() };
    out.push(0, &config.cluster_header, |text| push_cluster_name(text, &config.cluster_parts, host));
    if !config.hosts_header.is_empty() {
        out.push(1, &config.hosts_header, |text| text.push_str(hosts));
    }
    if !config.config_header.is_empty() {
        out.push(2, &config.config_header, |text| resolved.render_into(text));
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
        let parts = |p: &str| p.split("{index}").map(str::to_string).collect::<Vec<_>>();
        assert_eq!(cluster_name(&parts("shard-{index}"), 7), "shard-7");
        assert_eq!(cluster_name(&parts("pool-{index}.{index}"), 2), "pool-2.2");
        assert_eq!(cluster_name(&parts("{index}"), 4_294_967_295), "4294967295");
        assert_eq!(cluster_name(&parts("s{index}"), 0), "s0");
        assert_eq!(hosts_list(&[9, 3, 7, 10, 0]), "0,3,7,9,10");
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
        let headers = shard_headers(&config, assignment.host, "0", &resolved);
        let pairs: Vec<_> = headers.iter().map(|(name, value)| (&**name, value)).collect();
        assert_eq!(pairs, [("x-shard-cluster", format!("shard-{}", assignment.host).as_str())]);
    }
}
