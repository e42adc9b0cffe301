//! Starting and stopping a weir process: listeners bound once per worker with SO_REUSEPORT,
//! worker threads, the admin server, the xDS client (whose initial fetch, like Envoy's, comes
//! before listeners accept connections).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::config::Config;
use crate::process::Generation;
use crate::process::ProcessControl;
use crate::process::services::ProcessServices;
use crate::process::worker::{self, WorkerStart};
use weir_proxy_wasm::wasm::Engines;

pub use super::error::StartError;
pub use super::server_state::{ServerState, canary, validate};

/// Options that are not part of the config file.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Worker threads (default: number of cores).
    pub concurrency: usize,
    /// On shutdown, how long requests in flight may take to finish (default 10s).
    pub drain_timeout: std::time::Duration,
    /// Where compiled modules are kept across restarts (none by default).
    pub module_cache: Option<std::path::PathBuf>,
    /// The admin token when it does not come from `admin.token_file` (the `weir` binary reads
    /// it from `WEIR_ADMIN_TOKEN`). `Debug` never shows it.
    pub admin_token: Option<weir_admin_guard::Token>,
    /// `--stats-compat envoy`: `/stats/prometheus` also has Envoy's metric names.
    pub stats_compat_envoy: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
            drain_timeout: std::time::Duration::from_secs(10),
            module_cache: None,
            admin_token: None,
            stats_compat_envoy: false,
        }
    }
}

impl ServerOptions {
    /// Options with `workers` worker threads.
    pub fn with_concurrency(workers: usize) -> ServerOptions {
        ServerOptions { concurrency: workers, ..ServerOptions::default() }
    }
}

/// A running weir.
pub struct RunningServer {
    state: Arc<ServerState>,
    control: Option<crate::process::control::Control>,
    shutdown: watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
    admin: Option<crate::process::admin::AdminServer>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer").field("state", &self.state).finish_non_exhaustive()
    }
}

impl RunningServer {
    /// Loads plugins, binds listeners, starts workers and the admin server. Returns once every
    /// worker is serving.
    pub fn start(config: Config, options: ServerOptions) -> Result<RunningServer, StartError> {
        let files = raise_open_files_limit();
        let connections: usize = config.listeners.iter().map(|l| l.max_connections).sum();
        if files.is_some_and(|f| (f as usize) < connections) {
            tracing::warn!(
                open_files = files,
                connections,
                "the open files limit is below the listeners' max_connections: some connections will be refused"
            );
        }
        let runtime = Engines::with_cache(options.module_cache.clone())?;
        let process = Arc::new(ProcessServices::default());
        process.stats.set_envoy_names(options.stats_compat_envoy);
        let generation = Arc::new(Generation::prepare(config, runtime, process, None)?);
        generation.apply_node();
        canary(&generation)?;
        generation.apply_vm_limits();
        crate::process::server_state::configure_runtime_values(&generation);
        generation.watch_tls();
        let concurrency = options.concurrency.max(1);
        let (per_worker, addresses) =
            super::sockets::bind_listeners(generation.config.listeners.iter(), concurrency)?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (serving_tx, serving_rx) = watch::channel(false);
        let connection_ids = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        let mut senders = Vec::new();
        let mut readies = Vec::new();
        for (index, sockets) in per_worker.into_iter().enumerate() {
            let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
            let (ready_tx, ready_rx) = oneshot::channel();
            let start = WorkerStart {
                index,
                generation: generation.clone(),
                sockets,
                connection_ids: connection_ids.clone(),
                shutdown: shutdown_rx.clone(),
                serving: serving_rx.clone(),
                commands: cmd_rx,
                ready: ready_tx,
                drain_timeout: options.drain_timeout,
            };
            let thread = std::thread::Builder::new()
                .name(format!("weir-worker-{index}"))
                .stack_size(weir_proxy_wasm::wasm::GUEST_THREAD_STACK)
                .spawn(move || worker::run(start))
                .map_err(|e| StartError::Other(format!("cannot start worker thread: {e}")))?;
            threads.push(thread);
            senders.push(cmd_tx);
            readies.push(ready_rx);
        }
        let mut failure = None;
        for ready in readies {
            match ready.blocking_recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failure = Some(e),
                Err(_) => failure = Some("a worker exited during start".into()),
            }
        }
        let control = crate::process::control::Control::start()
            .map_err(|e| StartError::Other(format!("cannot start the control thread: {e}")))?;
        crate::upstream::spawn_background(&generation.clusters, control.handle());
        let state = Arc::new(ServerState::new(
            generation.clone(),
            addresses,
            control.handle().clone(),
            senders,
            serving_tx,
        ));
        let mut server =
            RunningServer { state, control: Some(control), shutdown: shutdown_tx, threads, admin: None };
        if let Some(e) = failure {
            server.stop();
            return Err(StartError::Other(e));
        }
        if let Some(admin) = &generation.config.admin {
            match crate::process::admin::AdminServer::start(
                admin,
                options.admin_token.clone(),
                server.control(),
            ) {
                Ok(a) => server.admin = Some(a),
                Err(e) => {
                    server.stop();
                    return Err(StartError::Other(format!("admin server on {}: {e}", admin.address)));
                }
            }
        }
        if let Some(client) =
            crate::process::xds::start(&server.control(), &server.state.control, &generation.config)
        {
            let limit = generation.config.xds.as_ref().map_or(Duration::ZERO, |x| x.initial_fetch_timeout);
            tracing::info!(?limit, "waiting for the xDS initial fetch");
            // The client's own timer ends the wait; zero waits as long as it takes (as Envoy).
            let wait = if limit.is_zero() { Duration::MAX } else { limit + Duration::from_secs(1) };
            let deadline = (!limit.is_zero()).then(|| std::time::Instant::now() + limit);
            client.wait_initialized(wait);
            crate::process::xds::wait_for_secrets(&*server.control(), deadline);
            *server.state.xds.lock() = Some(client);
        }
        let _ = server.state.serving.send(true);
        tracing::info!(listeners = ?server.state.listeners(), workers = concurrency, "weir is serving");
        Ok(server)
    }

    /// The process as the admin API and xDS reach it.
    pub fn control(&self) -> Arc<dyn ProcessControl> {
        self.state.clone()
    }

    /// Shared state (generation, listeners).
    pub fn state(&self) -> &Arc<ServerState> {
        &self.state
    }

    /// The bound address of a listener.
    pub fn listener_addr(&self, name: &str) -> Option<SocketAddr> {
        self.state.listeners().into_iter().find(|(n, _)| *n == name).map(|(_, a)| a)
    }

    /// The admin server's address, if it runs.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(|a| a.addr())
    }

    /// Applies a new config (see [`ServerState::reload`]).
    pub fn reload(&self, config: Config) -> Result<(), StartError> {
        ProcessControl::reload(&*self.state, config)
    }

    /// Stops accepting, lets in-flight requests finish, and joins the workers.
    pub fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        self.state.workers.lock().clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        if let Some(admin) = self.admin.take() {
            admin.stop();
        }
        self.control.take();
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Raises the process's soft limit on open files to its hard limit: each connection holds a
/// descriptor, and the usual soft limit (1024) would refuse connections long before the
/// listeners' `max_connections`. Returns the limit now in force.
pub fn raise_open_files_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!("cannot raise the open files limit: {e}");
        }
    }
    getrlimit(Resource::Nofile).current
}
