//! `weir-cp status`: which node ACKed or NACKed which version, as a table.

use http::Method;

use super::client::AdminClient;
use super::error::CliError;
use crate::admin::views::StatusView;

/// Runs `status`.
pub async fn run(admin: &AdminClient, json: bool) -> Result<(), CliError> {
    if json {
        let bytes = admin.raw(Method::GET, "/status", None).await?;
        print!("{}", String::from_utf8_lossy(&bytes));
        return Ok(());
    }
    let status: StatusView = admin.call(Method::GET, "/status", None).await?;
    print!("{}", render(&status));
    Ok(())
}

/// The table.
pub fn render(status: &StatusView) -> String {
    let versions: Vec<String> = status.versions.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let c = &status.counters;
    let mut out = format!(
        "versions: {}; streams opened {}, ACKs {}, NACKs {}, pushes {}\n",
        versions.join(", "),
        c.connects,
        c.acks,
        c.nacks,
        c.pushes
    );
    if status.nodes.is_empty() {
        out.push_str("no node has connected\n");
        return out;
    }
    let mut rows =
        vec![["NODE", "CLUSTER", "CONNECTED", "TYPE", "SENT", "ACKED", "LAST NACK"].map(String::from)];
    for node in &status.nodes {
        let cluster = match &node.group {
            Some(group) => format!("{} (group {group})", node.cluster),
            None => node.cluster.clone(),
        };
        let connected = if node.connected {
            format!("yes since {}", node.since)
        } else {
            format!("no since {}", node.since)
        };
        if node.types.is_empty() {
            rows.push([
                node.id.clone(),
                cluster.clone(),
                connected.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ]);
        }
        for (kind, t) in &node.types {
            let sent = t.sent.as_ref().map_or("-".to_string(), |s| s.version.clone());
            let acked = t.acked.as_ref().map_or("-".to_string(), |a| a.version.clone());
            let nack = t.nack.as_ref().map_or("-".to_string(), |n| {
                format!(
                    "version {} at {} (keeps {}): {}",
                    n.version,
                    n.at,
                    display_version(&n.kept_version),
                    n.reason
                )
            });
            rows.push([node.id.clone(), cluster.clone(), connected.clone(), kind.clone(), sent, acked, nack]);
        }
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in &rows {
        let cells: Vec<String> = row.iter().zip(widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn display_version(version: &str) -> &str {
    if version.is_empty() { "none" } else { version }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::Kind;
    use crate::state::State;
    use crate::status::Registry;

    #[test]
    fn table_shows_acks_and_nacks() {
        let registry = Registry::default();
        assert!(render(&StatusView::of(&State::default(), vec![], Default::default())).contains("no node"));
        registry.connect("envoy-1", "edge", "sotw");
        registry.sent("envoy-1", Kind::Rtds, "4", "n");
        registry.acked("envoy-1", Kind::Rtds, "3");
        registry.nacked("envoy-1", Kind::Rtds, "4", "3", "Invalid runtime entry value for a.b");
        let (nodes, counters) = registry.snapshot();
        let text = render(&StatusView::of(&State::default(), nodes, counters));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("NODE"), "{text}");
        assert!(lines[2].contains("envoy-1") && lines[2].contains("rtds"), "{text}");
        assert!(
            lines[2].contains("version 4") && lines[2].contains("keeps 3") && lines[2].contains("a.b"),
            "{text}"
        );
    }
}
