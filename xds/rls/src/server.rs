//! The process: loads the limits, binds the gRPC and admin ports, prints
//! `{"grpc":"ADDR","admin":"ADDR"}` on stdout (so scripts learn ports asked as 0), reloads the
//! limits on `SIGHUP` (a bad file is refused and the running limits stay) and stops on
//! `SIGINT`/`SIGTERM`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::RateLimitServiceServer;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tonic::transport::server::TcpIncoming;
use tracing::{error, info};

use crate::config;
use crate::error::{ConfigError, StartError};
use crate::limits::Limits;
use crate::metrics::{Metrics, bump};
use crate::service::{Service, State};
use crate::store::Store;

/// The largest `ShouldRateLimit` request accepted, in bytes.
pub const MAX_REQUEST_BYTES: usize = 64 << 10;
/// The most concurrent gRPC streams per client connection.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 1024;

/// `weir-rls`'s command line.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "weir-rls",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("WEIR_BUILD_INFO"), ")"),
    about = "An Envoy Rate Limit Service on Redis, configured like envoyproxy/ratelimit"
)]
pub struct Args {
    /// The limits: a YAML file, or a directory whose `*.yaml`/`*.yml` files are read (one
    /// domain per file).
    #[arg(long, env = "WEIR_RLS_CONFIG")]
    pub config: PathBuf,
    /// The gRPC address (`envoy.service.ratelimit.v3.RateLimitService`, h2c).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// The admin address (`/ready`, `/metrics`, `/limits`).
    #[arg(long, default_value = "127.0.0.1:6070")]
    pub admin: SocketAddr,
    /// Redis: `redis://[user:password@]host:port[/db]`, `rediss://…` (TLS) or
    /// `unix:///path/to/redis.sock`.
    #[arg(long, env = "WEIR_RLS_REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis: String,
    /// How long one decision may wait for Redis (connecting included); past it the call fails
    /// with `UNAVAILABLE`, and the proxy's failure mode decides.
    #[arg(long, default_value = "100ms", value_parser = humantime::parse_duration)]
    pub redis_timeout: Duration,
    /// Log line format on stderr: `text`, or `json` (one object per line), for log collectors.
    #[arg(long, value_enum, default_value = "text", env = "WEIR_RLS_LOG_FORMAT")]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// Loads and compiles the limits at `path`.
pub fn load(path: &Path, metrics: &Metrics) -> Result<Limits, ConfigError> {
    Limits::compile(config::load(path)?, metrics)
}

/// Runs until stopped.
pub async fn run(args: Args) -> Result<(), StartError> {
    let metrics = Arc::new(Metrics::default());
    let limits = load(&args.config, &metrics)?;
    bump(&metrics.config_loads);
    info!(limits = limits.count, domains = limits.sources.len(), "limits loaded");
    let store = Store::new(&args.redis, args.redis_timeout).map_err(StartError::Redis)?;
    let state = Arc::new(State { limits: ArcSwap::from_pointee(limits), store, metrics });
    let grpc = TcpListener::bind(args.listen).await?;
    let admin = TcpListener::bind(args.admin).await?;
    let line = format!(r#"{{"grpc":"{}","admin":"{}"}}"#, grpc.local_addr()?, admin.local_addr()?);
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    drop(stdout);

    let (stop_tx, stop) = watch::channel(false);
    let admin_task = tokio::spawn(crate::admin::serve(admin, state.clone(), stop.clone()));
    let service =
        RateLimitServiceServer::new(Service::new(state.clone())).max_decoding_message_size(MAX_REQUEST_BYTES);
    let mut stopped = stop.clone();
    // Without TCP_NODELAY a response's trailers can wait for the client's delayed ACK
    // (Nagle): measured as a 6 ms p99 on one-at-a-time calls from weir.
    let grpc_task = tokio::spawn(
        tonic::transport::Server::builder()
            .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .add_service(service)
            .serve_with_incoming_shutdown(TcpIncoming::from(grpc).with_nodelay(Some(true)), async move {
                let _ = stopped.wait_for(|s| *s).await;
            }),
    );
    let mut hangup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = hangup.recv() => reload(&args.config, &state),
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    info!("stopping");
    let _ = stop_tx.send(true);
    let _ = admin_task.await;
    match grpc_task.await {
        Ok(result) => result?,
        Err(e) => error!(error = %e, "gRPC server task failed"),
    }
    Ok(())
}

/// Swaps in the limits at `path`, or keeps the running ones if they cannot be used.
fn reload(path: &Path, state: &State) {
    match load(path, &state.metrics) {
        Ok(limits) => {
            info!(limits = limits.count, domains = limits.sources.len(), "limits reloaded");
            state.limits.store(Arc::new(limits));
            let live = state.limits.load();
            state.metrics.retain(|domain, path| live.defines(domain, path));
            bump(&state.metrics.config_loads);
        }
        Err(e) => {
            bump(&state.metrics.config_load_errors);
            error!(error = %e, "limits refused; the running limits stay");
        }
    }
}
