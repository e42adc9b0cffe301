//! What a proxy says about a fault: weir's `/plugins` entry and `/stats/prometheus` series,
//! Envoy's `/stats` counters and log lines.

use serde_json::Value;

use super::process::Proxy;

/// One sample of a Prometheus text exposition: the value of the first line that starts with
/// `name{` and contains every `label="value"` pair in `labels`.
pub fn prometheus(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let prefix = format!("{name}{{");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .find(|l| labels.iter().all(|(k, v)| l.contains(&format!("{k}=\"{v}\""))))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// weir's view of one plugin.
#[derive(Debug, Clone, Default)]
pub struct PluginView {
    /// `/plugins` entry.
    pub entry: Value,
    /// `/stats/prometheus` text.
    pub prometheus: String,
}

impl PluginView {
    /// Reads both endpoints.
    pub async fn read(proxy: &Proxy, plugin: &str) -> anyhow::Result<PluginView> {
        let list: Value = serde_json::from_str(&proxy.admin_get("/plugins").await?)?;
        let entry = list.as_array().and_then(|l| l.iter().find(|p| p["name"] == plugin)).cloned();
        Ok(PluginView {
            entry: entry.unwrap_or(Value::Null),
            prometheus: proxy.admin_get("/stats/prometheus").await?,
        })
    }

    /// `/plugins` `status`.
    pub fn status(&self) -> &str {
        self.entry["status"].as_str().unwrap_or("?")
    }

    /// A `/plugins` execution metric.
    pub fn metric(&self, key: &str) -> u64 {
        self.entry["metrics"][key].as_u64().unwrap_or(0)
    }

    /// `/plugins` `last_failure.error`.
    pub fn last_failure(&self) -> Option<&str> {
        self.entry["metrics"]["last_failure"]["error"].as_str()
    }

    /// A `weir_plugin_*` series of this plugin.
    pub fn series(&self, name: &str) -> f64 {
        let plugin = self.entry["name"].as_str().unwrap_or_default();
        prometheus(&self.prometheus, name, &[("plugin", plugin)]).unwrap_or(0.0)
    }

    /// `weir_plugin_traps_total=2, …` for every non-zero series, `/plugins` status and the
    /// first line of the last failure.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for name in [
            "weir_plugin_traps_total",
            "weir_plugin_timeouts_total",
            "weir_plugin_failures_total",
            "weir_plugin_vm_reloads_total",
            "weir_plugin_failed_vms",
        ] {
            let v = self.series(name);
            if v != 0.0 {
                parts.push(format!("`{name}` {v}"));
            }
        }
        if self.metric("limits_exceeded") > 0 {
            parts.push(format!("limits_exceeded {}", self.metric("limits_exceeded")));
        }
        parts.push(format!("`/plugins` status `{}`", self.status()));
        if let Some(failure) = self.last_failure() {
            let first = failure.lines().next().unwrap_or_default();
            // No backticks around it: the message has its own.
            let shown: String = first.chars().take(70).collect();
            let frame = failure.lines().find(|l| l.contains("weir_test_abi_probe::"));
            // `  11: weir_test_abi_probe::ops::run_one @ 0x4e5cb` → the function.
            let function = frame.and_then(|f| f.split(": ").nth(1)).and_then(|f| f.split(" @ ").next());
            match function {
                Some(f) => parts.push(format!("last_failure \"{shown}\" in `{f}`")),
                None => parts.push(format!("last_failure \"{shown}\"")),
            }
        }
        parts.join(", ")
    }
}

/// Non-zero Envoy `/stats` counters whose names contain any of `patterns`.
pub async fn envoy_stats(proxy: &Proxy, patterns: &[&str]) -> String {
    let Ok(text) = proxy.admin_get("/stats").await else {
        return "admin unreachable".into();
    };
    let picked: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with("listener.") && patterns.iter().any(|p| l.contains(p)))
        .filter(|l| l.rsplit(' ').next().is_some_and(|v| v != "0" && v.parse::<f64>().is_ok()))
        .map(|l| format!("`{}`", l.trim()))
        .collect();
    picked.join(", ")
}

/// How many log lines contain every word of `words`, and the first of them (shortened).
pub fn log_lines(proxy: &Proxy, words: &[&str]) -> (usize, Option<String>) {
    let log = proxy.log();
    let mut matching = log.lines().filter(|l| words.iter().all(|w| l.contains(w)));
    let first = matching.next().map(|l| {
        let text = l.split("] ").last().unwrap_or(l).trim();
        text.chars().take(110).collect::<String>()
    });
    (first.iter().count() + matching.count(), first)
}
