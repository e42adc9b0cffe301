//! `weir-cp`: the Weir control plane and its client. Parses the command line and hands it to
//! [`weir_cp::cli`].

use clap::Parser;

fn main() -> std::process::ExitCode {
    weir_cp::cli::main(weir_cp::cli::Cli::parse())
}
