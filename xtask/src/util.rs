//! Running the commands xtask drives (cargo, pip, npm, rustup, wrk's installer): their output
//! shown, a failure named. Paths, the project's binaries and child processes come from
//! `weir-testkit`, shared with the test suites.

use std::process::Command;

use anyhow::{Context, bail};

/// Runs a command with its output shown, failing with its name if it fails.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("cannot run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}
