//! `weir-rls`: parses the command line and runs [`weir_rls::server::run`].

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let args = weir_rls::server::Args::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match args.log_format {
        weir_rls::server::LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        weir_rls::server::LogFormat::Json => builder.json().try_init(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("weir-rls: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(weir_rls::server::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("weir-rls: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
