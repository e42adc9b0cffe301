//! `weir-cp`: the Weir control plane and its client. Parses the command line and hands it to
//! [`weir_xds::cli`].

use clap::Parser;

fn main() -> std::process::ExitCode {
    weir_xds::cli::main(weir_xds::cli::Cli::parse())
}
