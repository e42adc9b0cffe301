//! The fault table: one row per fault, what each proxy did, requests failed/sent on the faulty
//! and the healthy side, resident memory before → after; printed and written as markdown.

use std::fmt::Write;
use std::path::Path;

use super::load::Tally;

/// What one proxy did under one fault.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// In words: statuses seen, metrics, log evidence.
    pub did: String,
    /// The faulty side.
    pub faulty: Tally,
    /// The healthy side.
    pub healthy: Tally,
    /// `VmRSS` in KiB before the load.
    pub rss_before: Option<u64>,
    /// `VmRSS` in KiB after it (`None`: the process was gone or killed).
    pub rss_after: Option<u64>,
    /// The most resident memory during the load, in KiB (`VmHWM`, reset before it), when
    /// the scenario measured it.
    pub rss_peak: Option<u64>,
}

impl Observed {
    fn rss(&self) -> String {
        let mib = |k: Option<u64>| k.map_or_else(|| "—".to_string(), |k| format!("{:.0}", k as f64 / 1024.0));
        match self.rss_peak {
            Some(_) => format!(
                "{} → {} MiB (peak {})",
                mib(self.rss_before),
                mib(self.rss_after),
                mib(self.rss_peak)
            ),
            None => format!("{} → {} MiB", mib(self.rss_before), mib(self.rss_after)),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// The fault.
    pub fault: String,
    /// weir's run.
    pub weir: Option<Observed>,
    /// Envoy's run.
    pub envoy: Option<Observed>,
    /// Said instead of numbers (a fault covered elsewhere, or a scenario that errored).
    pub note: Option<String>,
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn cells(observed: &Option<Observed>, note: &Option<String>) -> [String; 4] {
    match observed {
        Some(o) => [cell(&o.did), o.faulty.ratio(), o.healthy.ratio(), o.rss()],
        None => {
            [note.as_deref().map_or_else(|| "not run".to_string(), cell), "—".into(), "—".into(), "—".into()]
        }
    }
}

/// The markdown table.
pub fn table(rows: &[Row]) -> String {
    table_of("fault", rows)
}

/// The markdown table, its first column headed `first`.
pub fn table_of(first: &str, rows: &[Row]) -> String {
    let mut out = format!(
        "| {first} | weir: what it did | weir faulty failed/sent | weir healthy failed/sent | weir RSS before→after \
         | Envoy: what it did | Envoy faulty failed/sent | Envoy healthy failed/sent | Envoy RSS before→after |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let [wd, wf, wh, wr] = cells(&row.weir, &row.note);
        let [ed, ef, eh, er] = cells(&row.envoy, &row.note);
        let _ =
            writeln!(out, "| {} | {wd} | {wf} | {wh} | {wr} | {ed} | {ef} | {eh} | {er} |", cell(&row.fault));
    }
    out
}

/// Writes the table with a heading (date, command, machine) to `path`.
pub fn write(path: &Path, rows: &[Row], header: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, format!("{header}\n\n{}", table(rows)))
}
