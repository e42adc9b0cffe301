//! The `weir-cp` command line: `serve` runs the control plane; the other commands talk to a
//! running one through its admin API (`--admin`, `WEIR_CP_ADMIN`; the token from `--token-file`
//! or `WEIR_CP_ADMIN_TOKEN`). See `docs/control-plane.md`.

mod args;
mod client;
mod ecds;
mod error;
mod gateway;
mod resources;
mod runtime;
mod secret;
mod serve;
mod status;
mod value;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

pub use args::{Cli, Command, EcdsCommand, LogFormat, ServeArgs};
pub use client::AdminClient;
pub use error::CliError;
pub use status::render as render_status;
use tracing_subscriber::EnvFilter;
use weir_admin_guard::Token;

/// Runs a parsed command line; prints `error: …` to stderr and returns exit status 1 on failure.
pub fn main(cli: Cli) -> ExitCode {
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let serving = matches!(cli.command, Command::Serve(_));
    init_logs(if serving { "info" } else { "warn" }, cli.log_format);
    let runtime = if serving {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    };
    runtime.block_on(dispatch(cli))
}

/// Logs go to stderr (stdout carries command output); `RUST_LOG` overrides the level.
fn init_logs(default: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The environment variable that may hold the admin token itself.
pub const TOKEN_ENV: &str = "WEIR_CP_ADMIN_TOKEN";

/// The admin token, from `--token-file` (or `WEIR_CP_ADMIN_TOKEN_FILE`) or `WEIR_CP_ADMIN_TOKEN`;
/// both at once is an error (which one would win is not obvious).
pub fn admin_token(file: Option<&Path>) -> Result<Option<Token>, CliError> {
    match (file, Token::from_env(TOKEN_ENV)?) {
        (Some(_), Some(_)) => Err(CliError::Argument(format!(
            "both --token-file (or WEIR_CP_ADMIN_TOKEN_FILE) and {TOKEN_ENV} are set; use one"
        ))),
        (Some(file), None) => Ok(Some(Token::from_file(file)?)),
        (None, token) => Ok(token),
    }
}

async fn dispatch(cli: Cli) -> Result<(), CliError> {
    let token = admin_token(cli.token_file.as_deref())?;
    let admin_tls = cli.admin_tls();
    let command = match cli.command {
        Command::Serve(args) => return serve::run(*args, token).await,
        other => other,
    };
    let admin = AdminClient::new(&cli.admin)?.with_token(token).with_tls(&admin_tls)?;
    match command {
        Command::Serve(_) => Ok(()),
        Command::Set { pairs, layer } => runtime::set(&admin, &layer, &pairs).await,
        Command::Unset { key, layer } => runtime::unset(&admin, &layer, &key).await,
        Command::Get { key, layer } => runtime::get(&admin, &layer, key.as_deref()).await,
        Command::Apply { file, layer, merge, unchecked } => {
            runtime::apply(&admin, &layer, &file, merge, unchecked).await
        }
        Command::Status { json, node, group, stale, limit } => {
            let filter = status::Filter { node, group, stale, limit };
            status::run(&admin, json, &filter).await
        }
        Command::Ecds(command) => ecds::run(&admin, command).await,
        Command::Secret(command) => secret::run(&admin, command).await,
        Command::Group(command) => resources::group(&admin, command).await,
        Command::Gateway(command) => gateway::run(&admin, command).await,
    }
}
