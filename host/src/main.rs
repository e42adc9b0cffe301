//! `weir`: run the proxy, or validate a config.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sd_notify::NotifyState;
use weir_host::config::Config;
use weir_host::process::server::{RunningServer, ServerOptions, validate};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// weir: a fast proxy that runs proxy-wasm filters built for Envoy, unchanged.
#[derive(Debug, Parser)]
#[command(name = "weir", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("WEIR_BUILD_INFO"), ")"), about)]
struct Args {
    /// Config file (see docs/config.md).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// Check the config (schema, references, plugins load and accept their configuration), then
    /// exit: 0 if valid.
    #[arg(long)]
    validate: bool,
    /// Worker threads (default: number of cores).
    #[arg(long)]
    concurrency: Option<usize>,
    /// On SIGTERM (and for a listener removed by a reload or LDS), how long requests in flight
    /// may take to finish, e.g. `10s`.
    #[arg(long, default_value = "10s", value_parser = weir_host::config::duration::parse)]
    drain_timeout: std::time::Duration,
    /// Keep compiled modules in this directory so restarts skip compilation.
    #[arg(long, value_name = "DIR")]
    module_cache: Option<std::path::PathBuf>,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `weir=debug`.
    #[arg(long, default_value = "info", env = "WEIR_LOG")]
    log_level: String,
    /// Log line format: `text`, or `json` (one object per line, for log collectors).
    #[arg(long, value_enum, default_value = "text", env = "WEIR_LOG_FORMAT")]
    log_format: weir_host::logging::LogFormat,
    /// Also export metrics under another proxy's names: `envoy` adds Envoy's Prometheus names
    /// and labels (`envoy_http_downstream_rq_xx`, `envoy_cluster_upstream_rq_total`, …) to
    /// `/stats/prometheus`, so Envoy dashboards and alerts carry over.
    #[arg(long, value_enum, value_name = "PROXY")]
    stats_compat: Option<StatsCompat>,
}

/// Names `--stats-compat` can add.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum StatsCompat {
    /// Envoy's.
    Envoy,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let _log_guard = weir_host::logging::init(&args.log_level, args.log_format);
    // Signals are caught from the start: SIGHUP and SIGUSR1 would end a process still starting
    // (which may take a while, fetching remote modules), and a SIGTERM right after READY=1 must
    // drain, not kill.
    let signals = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: signal runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let handlers = {
        let _entered = signals.enter();
        match Signals::install() {
            Ok(handlers) => handlers,
            Err(e) => {
                eprintln!("error: cannot install signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        }
    };

    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.validate {
        return match validate(config) {
            Ok(()) => {
                println!("{}: configuration is valid", args.config.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let admin_token = match weir_admin_guard::Token::from_env(weir_host::process::admin::TOKEN_ENV) {
        Ok(token) => token,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut options = ServerOptions {
        drain_timeout: args.drain_timeout,
        module_cache: args.module_cache.clone(),
        admin_token,
        stats_compat_envoy: matches!(args.stats_compat, Some(StatsCompat::Envoy)),
        ..ServerOptions::default()
    };
    if let Some(n) = args.concurrency {
        options.concurrency = n;
    }
    let server = match RunningServer::start(config, options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    notify(&[NotifyState::Ready, NotifyState::Status("serving")]);
    wait_for_signals(&signals, handlers, &server, &args.config);
    notify(&[NotifyState::Stopping, NotifyState::Status("draining")]);
    drop(server);
    ExitCode::SUCCESS
}

/// Tells systemd (`Type=notify`, `$NOTIFY_SOCKET`) where weir is: ready once every listener
/// accepts, reloading during SIGHUP, stopping on SIGTERM. Nothing when not run by systemd.
fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot notify systemd: {e}");
    }
}

/// `RELOADING=1` with the monotonic time systemd requires of `Type=notify-reload` services.
fn notify_reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => notify(&[NotifyState::Reloading, now]),
        Err(_) => notify(&[NotifyState::Reloading]),
    }
}

/// Blocks until SIGTERM or SIGINT; SIGHUP reloads the config file; SIGUSR1 reopens the access
/// logs (logrotate).
/// The signals weir acts on.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    usr1: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (inside a runtime context).
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
            usr1: signal(SignalKind::user_defined1())?,
        })
    }
}

fn wait_for_signals(
    runtime: &tokio::runtime::Runtime,
    signals: Signals,
    server: &RunningServer,
    path: &std::path::Path,
) {
    let Signals { mut term, mut int, mut hup, mut usr1 } = signals;
    runtime.block_on(async {
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = usr1.recv() => {
                    server.state().generation.load().process.access_logs.reopen();
                    tracing::info!("SIGUSR1: access logs reopened");
                }
                _ = hup.recv() => {
                    notify_reloading();
                    let state = server.control();
                    let path = path.to_path_buf();
                    let outcome = tokio::task::spawn_blocking(move || {
                        Config::load(&path).map_err(|e| e.to_string())
                            .and_then(|c| state.reload(c).map_err(|e| e.to_string()))
                    }).await;
                    let status = match outcome {
                        Ok(Ok(())) => {
                            tracing::info!("SIGHUP: configuration reloaded");
                            "serving (reloaded)".to_string()
                        }
                        Ok(Err(e)) => {
                            tracing::error!("SIGHUP: reload refused, previous configuration keeps serving: {e}");
                            format!("serving (reload refused: {e})")
                        }
                        Err(e) => {
                            tracing::error!("SIGHUP: reload failed: {e}");
                            format!("serving (reload failed: {e})")
                        }
                    };
                    notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
                }
            }
        }
        tracing::info!("shutting down");
    });
}
