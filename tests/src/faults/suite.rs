//! What the suite binaries (faults, hostile filters, hostile clients) share: choosing steps
//! from an environment variable, running each within a time limit into a row (a step that
//! errs or overruns is a violation and a row saying so), and the report's heading.

use std::future::Future;
use std::time::{Duration, Instant};

use super::report::Row;

/// Whether step `key` runs: `var` unset or empty runs all; else a comma-separated list of
/// words, any of which `key` contains.
pub fn selected(var: &str, key: &str) -> bool {
    match std::env::var(var) {
        Ok(filter) if !filter.trim().is_empty() => filter.split(',').any(|w| key.contains(w.trim())),
        _ => true,
    }
}

/// Runs one step within `limit`; prints how long it took. A step that errs or overruns is a
/// row saying so, and the returned violation.
pub async fn step<F>(key: &str, limit: Duration, run: F) -> (Row, Option<String>)
where
    F: Future<Output = anyhow::Result<Row>>,
{
    let started = Instant::now();
    let (row, violation) = match tokio::time::timeout(limit, run).await {
        Ok(Ok(row)) => (row, None),
        Ok(Err(e)) => (
            Row { fault: key.to_string(), note: Some(format!("the row stopped: {e:#}")), ..Row::default() },
            Some(format!("[{key}] the scenario failed: {e:#}")),
        ),
        Err(_) => (
            Row { fault: key.to_string(), note: Some("timed out".into()), ..Row::default() },
            Some(format!("[{key}] the scenario took longer than {limit:?}")),
        ),
    };
    println!("{key}: {:.1} s", started.elapsed().as_secs_f64());
    (row, violation)
}

/// `2026-12-06 05:38 UTC`.
pub fn now() -> String {
    let out = std::process::Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]).output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

/// This machine's cores.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// Marks `row` with the host defect its step reproduces: while `violations` (the step's own)
/// hold, the row says the defect was reproduced and each violation is labelled with it (the
/// suite still fails); once they are gone it says the defect did not reproduce.
pub fn known_defect(row: &mut Row, defect: Option<&str>, violations: &mut [String]) {
    let Some(defect) = defect else { return };
    if violations.is_empty() {
        row.fault.push_str(&format!(" (known defect not reproduced in this run: {defect})"));
        println!("note: a known defect no longer reproduces, remove its mark: {defect}");
    } else {
        row.fault.push_str(&format!(" — **known defect, reproduced**: {defect}"));
        for v in violations.iter_mut() {
            *v = format!("[known defect] {v}");
        }
    }
}
