//! `GET /metrics`: the status counters in the Prometheus text format.

use std::fmt::Write;

use super::views::StatusView;

/// Renders the counters, versions and per-node gauges.
pub fn render(status: &StatusView) -> String {
    let mut out = String::new();
    let c = &status.counters;
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
    let _ = writeln!(
        out,
        "# HELP weir_cp_version current version per resource type\n# TYPE weir_cp_version gauge"
    );
    for (kind, version) in &status.versions {
        let _ = writeln!(out, "weir_cp_version{{type=\"{kind}\"}} {version}");
    }
    let connected = status.nodes.iter().filter(|n| n.connected).count();
    let _ = writeln!(
        out,
        "# HELP weir_cp_connected_nodes nodes with an open stream\n# TYPE weir_cp_connected_nodes gauge"
    );
    let _ = writeln!(out, "weir_cp_connected_nodes {connected}");
    let _ = writeln!(
        out,
        "# HELP weir_cp_registry_nodes nodes status remembers (connected, or disconnected within --node-retention)\n# TYPE weir_cp_registry_nodes gauge"
    );
    let _ = writeln!(out, "weir_cp_registry_nodes {}", status.nodes.len());
    let _ = writeln!(
        out,
        "# HELP weir_cp_node_nacks_total NACKs per node and type\n# TYPE weir_cp_node_nacks_total counter"
    );
    for node in &status.nodes {
        for (kind, t) in &node.types {
            let _ = writeln!(
                out,
                "weir_cp_node_nacks_total{{node=\"{}\",type=\"{kind}\"}} {}",
                escape(&node.id),
                t.nacks
            );
        }
    }
    out
}

/// Escapes a label value.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::State;
    use crate::status::Registry;

    #[test]
    fn renders_counters_and_nodes() {
        let registry = Registry::default();
        registry.connect("node \"1\"", "c", "sotw");
        registry.nacked("node \"1\"", crate::kind::Kind::Rtds, "2", "1", "bad");
        let (nodes, counters) = registry.snapshot();
        let text = render(&StatusView::of(&State::default(), nodes, counters));
        assert!(text.contains("weir_cp_connects_total 1\n"), "{text}");
        assert!(text.contains("weir_cp_nacks_total 1\n"), "{text}");
        assert!(text.contains("weir_cp_version{type=\"rtds\"} 0\n"), "{text}");
        assert!(text.contains(r#"weir_cp_node_nacks_total{node="node \"1\"",type="rtds"} 1"#), "{text}");
    }
}
