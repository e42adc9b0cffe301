//! `weir-cp`: the Weir control plane and its client. Parses the command line and hands it to
//! [`weir_cp::cli`].

use clap::Parser;
use weir_cp::cli::{Cli, Command};

/// jemalloc: with its background thread (started for `serve`), freed pages go back to the
/// system, so weir-cp's memory comes back down after a fleet disconnects (glibc's malloc kept
/// it). See docs/fleet.md, "Memory".
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve(_))
        && let Err(e) = tikv_jemalloc_ctl::background_thread::write(true)
    {
        // Logging starts later, in `cli::main`.
        eprintln!(
            "weir-cp: jemalloc's background thread did not start ({e}): freed memory returns to the system later"
        );
    }
    weir_cp::cli::main(cli)
}
