//! What the proxies' own outputs say after an attack: the plugin's refusal counters, forged
//! lines in the metrics expositions or in the log, the response-head counter, and the
//! statuses the attack modules answer when a hostcall did not answer as designed.

use crate::faults::load::Tally;
use crate::faults::observe::{PluginView, prometheus};
use crate::faults::process::Proxy;
use crate::faults::request::Outcome;

/// `/plugins` `metrics.limits_refused` of `limit`.
pub fn refused(view: &PluginView, limit: &str) -> u64 {
    view.entry["metrics"]["limits_refused"][limit].as_u64().unwrap_or(0)
}

/// Every non-zero refusal counter: `max_metrics 3000, …`.
pub fn refusals_text(view: &PluginView) -> String {
    let Some(map) = view.entry["metrics"]["limits_refused"].as_object() else {
        return String::new();
    };
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
    if parts.is_empty() { String::new() } else { format!("refused: {}", parts.join(", ")) }
}

/// The module checks that failed, decoded from the 4xx statuses they answer:
/// `check 2 (adds 4–8: BadArgument) got Ok ×1000`.
pub fn failed_checks(tally: &Tally, checks: &[&str]) -> Vec<String> {
    tally
        .outcomes
        .iter()
        .filter_map(|(outcome, n)| {
            let Outcome::Status(status) = outcome else { return None };
            let (check, got) = decode(*status)?;
            let what = checks.get(usize::from(check).wrapping_sub(1)).copied().unwrap_or("?");
            Some(format!("check {check} ({what}) got {} ×{n}", status_name(got)))
        })
        .collect()
}

/// Lines of a metrics text that a guest forged (start with `weir_forged`, or are its
/// `# HELP`/`# TYPE`), and lines that are neither comments nor `name{labels} value` samples.
pub fn forged_exposition(text: &str) -> (usize, usize) {
    let forged = text
        .lines()
        .filter(|l| {
            let l = l.trim_start_matches("# HELP ").trim_start_matches("# TYPE ");
            l.starts_with("weir_forged")
        })
        .count();
    let malformed = text.lines().filter(|l| !l.is_empty() && !l.starts_with('#') && !sample_line(l)).count();
    (forged, malformed)
}

/// `name{labels} value` or `name value`, the name Prometheus-valid.
fn sample_line(line: &str) -> bool {
    let name_end = line.find(['{', ' ']).unwrap_or(line.len());
    let name = &line[..name_end];
    let valid_name = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    valid_name && line.rsplit(' ').next().is_some_and(|v| v.parse::<f64>().is_ok() || v == "NaN")
}

/// Forged lines in the Prometheus and the Envoy-format stats of a proxy: `(prometheus forged,
/// prometheus malformed, /stats forged)`.
pub async fn exposition(proxy: &Proxy) -> anyhow::Result<(usize, usize, usize)> {
    let prom = proxy.admin_get("/stats/prometheus").await?;
    let stats = proxy.admin_get("/stats").await?;
    let (forged, malformed) = forged_exposition(&prom);
    let stats_forged = stats.lines().filter(|l| l.starts_with("weir_forged") || l.starts_with("# ")).count();
    Ok((forged, malformed, stats_forged))
}

/// What the log shows of the forged text: lines that start with it, lines holding it
/// (escaped inside the plugin's line), raw terminal escapes, and the longest line.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogEvidence {
    /// Lines starting with `FORGED-LINE`.
    pub forged: usize,
    /// Lines holding `FORGED-LINE` anywhere.
    pub holding: usize,
    /// Raw `ESC [2K` sequences.
    pub escapes: usize,
    /// The longest line, in bytes.
    pub longest: usize,
}

impl LogEvidence {
    /// Reads the proxy's log.
    pub fn read(proxy: &Proxy) -> LogEvidence {
        let log = std::fs::read(proxy.log_path()).unwrap_or_default();
        let mut e = LogEvidence {
            escapes: log.windows(4).filter(|w| w == b"\x1b[2K").count(),
            ..LogEvidence::default()
        };
        for line in log.split(|b| *b == b'\n') {
            e.longest = e.longest.max(line.len());
            let text = String::from_utf8_lossy(line);
            if text.contains("FORGED-LINE") {
                e.holding += 1;
            }
            // A forged line is one that starts with the text, whatever a terminal would do
            // with a carriage return before it.
            if text.split('\r').any(|part| part.starts_with("FORGED-LINE")) {
                e.forged += 1;
            }
        }
        e
    }

    /// For the table.
    pub fn text(&self) -> String {
        format!(
            "log: {} lines start with the forged text, {} hold it, {} raw terminal escapes, longest line {} KiB",
            self.forged,
            self.holding,
            self.escapes,
            self.longest / 1024
        )
    }
}

/// `weir_downstream_rs_headers_too_large_total{listener="faulty"}`.
pub async fn large_responses(proxy: &Proxy) -> f64 {
    let text = proxy.admin_get("/stats/prometheus").await.unwrap_or_default();
    prometheus(&text, "weir_downstream_rs_headers_too_large_total", &[("listener", "faulty")]).unwrap_or(0.0)
}

/// Reads a status the modules answer when a check failed: `(check, status the hostcall
/// answered)`.
pub fn decode(status: u16) -> Option<(u16, u16)> {
    (420..500).contains(&status).then(|| ((status - 400) / 20, (status - 400) % 20))
}

/// A proxy-wasm status by number, for the table.
pub fn status_name(code: u16) -> &'static str {
    match code {
        0 => "Ok",
        1 => "NotFound",
        2 => "BadArgument",
        6 => "InvalidMemoryAccess",
        7 => "Empty",
        8 => "CasMismatch",
        10 => "InternalFailure",
        12 => "Unimplemented",
        19 => "another value",
        _ => "another status",
    }
}
