//! `cargo xtask demo`: what Weir does, shown on real Envoy and weir side by side.
//!
//! 1. The example filters, unchanged, in both hosts ([`examples`]).
//! 2. Runtime values from the control plane: weir-cp, Envoy (with rtds-bridge) and weir with the
//!    shuffle-shard filter; `weir-cp set` changes both proxies' answer ([`shard`]).
//!
//! Every process is started here and stopped by PID before the command returns.

mod examples;
mod procs;
mod shard;

use crate::{envoy, filters, util};

/// Runs the demo.
pub fn run() -> anyhow::Result<()> {
    println!("==> building filters, weir, weir-cp and the demo upstream");
    let built = filters::build()?;
    println!("    {} filters in target/filters", built.len());
    util::build_bins(false, &[("weir-host", "weir"), ("weir-cp", "weir-cp"), ("weir-tests", "weir-echo")])?;
    let envoy_bin = envoy::install()?;
    let dir = util::target().join("demo");
    std::fs::create_dir_all(&dir)?;
    examples::run(&envoy_bin, &dir)?;
    shard::run(&envoy_bin, &dir)
}
