//! `GET /metrics`: the registry's counters and summary in the Prometheus text format. Series
//! are per type and per node group, never per node, so their number stays bounded however many
//! node ids clients declare.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::push_times::PushTimes;
use crate::status::Summary;

/// Renders the counters, versions and gauges.
pub fn render(summary: &Summary, versions: &BTreeMap<String, String>, push_times: &PushTimes) -> String {
    let mut out = String::new();
    let c = &summary.counters;
    let counters = [
        ("connects", "xDS streams opened", c.connects),
        ("disconnects", "xDS streams closed", c.disconnects),
        ("acks", "ACKs received", c.acks),
        ("nacks", "NACKs received", c.nacks),
        ("pushes", "responses sent", c.pushes),
        ("stale_requests", "requests ignored for a stale nonce", c.stale),
        ("ignored_requests", "requests ignored for their type URL", c.ignored),
        ("evicted_nodes", "disconnected nodes forgotten to stay within --max-nodes", c.evicted),
        ("untracked_streams", "streams served without status tracking (registry full)", c.untracked),
        ("expired_nodes", "disconnected nodes forgotten after --node-retention", c.expired),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP weir_cp_{name}_total {help}\n# TYPE weir_cp_{name}_total counter");
        let _ = writeln!(out, "weir_cp_{name}_total {value}");
    }
    gauge(
        &mut out,
        "version",
        "current version per resource type",
        versions.iter().map(|(k, v)| (format!("type=\"{k}\""), v.clone())),
    );
    let connected: u64 = summary.connected_by_group.values().sum();
    gauge(&mut out, "connected_nodes", "nodes with an open stream", [(String::new(), connected.to_string())]);
    let by_group =
        summary.connected_by_group.iter().map(|(g, n)| (format!("group=\"{}\"", escape(g)), n.to_string()));
    gauge(&mut out, "group_connected_nodes", "connected nodes per node group (\"\": no group)", by_group);
    let registry = [(String::new(), summary.registered.to_string())];
    gauge(
        &mut out,
        "registry_nodes",
        "nodes status remembers (connected, or disconnected within --node-retention)",
        registry,
    );
    gauge(
        &mut out,
        "stale_nodes",
        "connected nodes that have not ACKed the latest response of some type",
        [(String::new(), summary.stale.to_string())],
    );
    let nacking = summary.nacking_by_type.iter().map(|(k, n)| (format!("type=\"{k}\""), n.to_string()));
    gauge(&mut out, "nacking_nodes", "connected nodes whose latest response of a type was NACKed", nacking);
    push_times.render(&mut out);
    out
}

/// One gauge family: `(labels, value)` series (labels without braces, empty for none).
fn gauge(out: &mut String, name: &str, help: &str, series: impl IntoIterator<Item = (String, String)>) {
    let _ = writeln!(out, "# HELP weir_cp_{name} {help}\n# TYPE weir_cp_{name} gauge");
    for (labels, value) in series {
        let _ = if labels.is_empty() {
            writeln!(out, "weir_cp_{name} {value}")
        } else {
            writeln!(out, "weir_cp_{name}{{{labels}}} {value}")
        };
    }
}

/// Escapes a label value.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::views::versions;
    use crate::kind::Kind;
    use crate::status::Registry;

    #[test]
    fn renders_counters_and_bounded_gauges() {
        let registry = Registry::default();
        registry.connect("node \"1\"", "c", "sotw");
        registry.sent("node \"1\"", Kind::Rtds, "2", "n");
        registry.nacked("node \"1\"", Kind::Rtds, "2", "1", "bad");
        registry.connect("n2", "c", "sotw");
        registry.grouped("n2", Some("can\"ary"));
        let text = render(&registry.summary(), &versions(|_| 0), &PushTimes::default());
        assert!(text.contains("weir_cp_connects_total 2\n"), "{text}");
        assert!(text.contains("weir_cp_nacks_total 1\n"), "{text}");
        assert!(text.contains("weir_cp_version{type=\"rtds\"} 0\n"), "{text}");
        assert!(text.contains("weir_cp_connected_nodes 2\n"), "{text}");
        assert!(text.contains("weir_cp_group_connected_nodes{group=\"can\\\"ary\"} 1\n"), "{text}");
        assert!(text.contains("weir_cp_registry_nodes 2\n"), "{text}");
        assert!(text.contains("weir_cp_nacking_nodes{type=\"rtds\"} 1\n"), "{text}");
        assert!(text.contains("weir_cp_stale_nodes 1\n"), "{text}");
        assert!(!text.contains("node=\""), "no per-node series:\n{text}");
        assert!(text.contains("weir_cp_convergence_seconds_count 0\n"), "{text}");
    }
}
