//! `weir-cp status`: which node ACKed or NACKed which version, as a table.

use http::Method;

use super::client::AdminClient;
use super::error::CliError;
use crate::admin::views::StatusView;

/// Which nodes to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this node id.
    pub node: Option<String>,
    /// Only this node group's nodes.
    pub group: Option<String>,
    /// Only stale nodes.
    pub stale: bool,
    /// One page of at most this many nodes (else every page).
    pub limit: Option<usize>,
}

impl Filter {
    fn path(&self, after: Option<&str>) -> String {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let mut params = vec![format!("limit={}", self.limit.unwrap_or(crate::status::DEFAULT_PAGE))];
        if let Some(node) = &self.node {
            params.push(format!("node={}", enc(node)));
        }
        if let Some(group) = &self.group {
            params.push(format!("group={}", enc(group)));
        }
        if self.stale {
            params.push("stale=true".into());
        }
        if let Some(after) = after {
            params.push(format!("after={}", enc(after)));
        }
        format!("/status?{}", params.join("&"))
    }
}

/// Runs `status`: one page with `--limit`, else every page, merged.
pub async fn run(admin: &AdminClient, json: bool, filter: &Filter) -> Result<(), CliError> {
    let mut status: StatusView = admin.call(Method::GET, &filter.path(None), None).await?;
    while filter.limit.is_none()
        && let Some(after) = status.next.take()
    {
        let page: StatusView = admin.call(Method::GET, &filter.path(Some(&after)), None).await?;
        status.nodes.extend(page.nodes);
        status.next = page.next;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&status).unwrap_or_default());
    } else {
        print!("{}", render(&status));
    }
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
        out.push_str(if status.matching == 0 { "no node has connected\n" } else { "no node matches\n" });
        return out;
    }
    if status.nodes.len() < status.matching {
        out.push_str(&format!("showing {} of {} nodes\n", status.nodes.len(), status.matching));
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
    use crate::admin::views::versions;
    use crate::kind::Kind;
    use crate::status::{NodeQuery, Registry};

    #[test]
    fn table_shows_acks_and_nacks() {
        let registry = Registry::default();
        let view = |registry: &Registry, limit| {
            StatusView::of(versions(|_| 0), registry.page(&NodeQuery { limit, ..NodeQuery::default() }))
        };
        assert!(render(&view(&registry, 10)).contains("no node has connected"));
        registry.connect("envoy-1", "edge", "sotw");
        registry.sent("envoy-1", Kind::Rtds, "4", "n");
        registry.acked("envoy-1", Kind::Rtds, "3");
        registry.nacked("envoy-1", Kind::Rtds, "4", "3", "Invalid runtime entry value for a.b");
        let text = render(&view(&registry, 10));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("NODE"), "{text}");
        assert!(lines[2].contains("envoy-1") && lines[2].contains("rtds"), "{text}");
        assert!(
            lines[2].contains("version 4") && lines[2].contains("keeps 3") && lines[2].contains("a.b"),
            "{text}"
        );
        registry.connect("envoy-2", "edge", "sotw");
        let text = render(&view(&registry, 1));
        assert!(text.lines().nth(1) == Some("showing 1 of 2 nodes"), "{text}");
    }

    #[test]
    fn query_paths_carry_the_filter_encoded() {
        let filter = Filter { node: Some("a b".into()), group: None, stale: true, limit: None };
        assert_eq!(filter.path(Some("x/y")), "/status?limit=1000&node=a%20b&stale=true&after=x%2Fy");
    }
}
