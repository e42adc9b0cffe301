//! `cargo xtask demo`: what Weir does, shown on real Envoy and weir side by side.
//!
//! 1. The example filters, unchanged, in both hosts ([`examples`]).
//! 2. Runtime values from the control plane: weir-cp, Envoy (with rtds-bridge) and weir with the
//!    shuffle-shard filter; `weir-cp set` changes both proxies' answer ([`shard`]).
//!
//! Every process is started here and stopped by PID before the command returns.

mod examples;
mod shard;

use weir_testkit::bins::{self, Bin, Profile};
use weir_testkit::paths;

use crate::{envoy, filters};

/// Runs the demo.
pub fn run() -> anyhow::Result<()> {
    println!("==> building filters, weir, weir-cp and the demo upstream");
    let built = filters::build()?;
    println!("    {} filters in target/filters", built.len());
    bins::build(Profile::Debug, &[Bin::Weir, Bin::Cp, Bin::Echo])?;
    let envoy_bin = envoy::install()?;
    let dir = paths::target_dir().join("demo");
    std::fs::create_dir_all(&dir)?;
    examples::run(&envoy_bin, &dir)?;
    shard::run(&envoy_bin, &dir)
}
