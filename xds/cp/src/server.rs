//! Starting and stopping the control plane: the xDS port and the admin port over one store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;
use weir_admin_guard::Token;

use super::admin::{self, AdminSecurity, views::StatusView};
use super::error::StartError;
use super::gateway_watch::{self, GatewayWatch};
use super::grpc;
use super::identity::NodeIdentity;
use super::services::Services;
use super::shared::Shared;
use super::status::DEFAULT_MAX_NODES;
use super::store::Store;

/// How to run weir-cp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where xDS (ADS, RTDS, ECDS, SDS over gRPC) listens; port 0 picks a free port.
    pub xds_address: SocketAddr,
    /// Where the admin HTTP API listens (`None`: no admin API); port 0 picks a free port.
    pub admin_address: Option<SocketAddr>,
    /// The state file (`None`: state kept in memory only).
    pub state_file: Option<PathBuf>,
    /// Runtime layers that always exist (created empty when missing), so proxies subscribing to
    /// them get an answer before any value is set.
    pub layers: Vec<String>,
    /// The admin API's own checks: token, unix socket, accepted `Host` names.
    pub admin: AdminSecurity,
    /// Most nodes kept in the status registry (see [`Registry`](super::status::Registry)).
    pub max_nodes: usize,
    /// How long the registry remembers a disconnected node.
    pub node_retention: std::time::Duration,
    /// TLS on the xDS port (`None`: plaintext h2c).
    pub xds_tls: Option<XdsTls>,
    /// A directory of Gateway API manifests applied at start and on every change.
    pub gateway_dir: Option<GatewayWatch>,
}

/// TLS on the xDS port: the server's certificate, optionally client certificates, and whether
/// node ids come from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XdsTls {
    /// Certificates, client certificates (mTLS), versions, rotation: as a weir listener's.
    pub tls: weir_tls::DownstreamTls,
    /// Whether a node id must be named by the client certificate.
    pub node_identity: NodeIdentity,
}

impl ServerConfig {
    /// For tests: both ports ephemeral on 127.0.0.1, no state file, layer `rtds`, an admin API
    /// without a token (read-only over TCP; see [`ServerConfig::with_token`]).
    pub fn local() -> ServerConfig {
        ServerConfig {
            xds_address: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_address: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            state_file: None,
            layers: vec!["rtds".to_string()],
            admin: AdminSecurity::default(),
            max_nodes: DEFAULT_MAX_NODES,
            node_retention: crate::status::DEFAULT_NODE_RETENTION,
            xds_tls: None,
            gateway_dir: None,
        }
    }

    /// The same, with an admin token (changes through the admin API need it).
    pub fn with_token(mut self, token: Token) -> ServerConfig {
        self.admin.token = Some(token);
        self
    }
}

/// A running control plane; stops when dropped (or with [`ControlPlane::shutdown`]).
#[derive(Debug)]
pub struct ControlPlane {
    xds: SocketAddr,
    admin: Option<SocketAddr>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The listen backlog: room for a fleet reconnecting at once (the kernel caps it at
/// `net.core.somaxconn`); the default of 128 overflows when thousands of proxies reconnect.
const BACKLOG: i32 = 4096;

async fn bind(what: &'static str, address: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let failed = |source| StartError::Bind { what, address, source };
    let socket = socket2::Socket::new(socket2::Domain::for_address(address), socket2::Type::STREAM, None)
        .map_err(failed)?;
    socket.set_reuse_address(true).map_err(failed)?;
    socket.set_nonblocking(true).map_err(failed)?;
    socket.bind(&address.into()).map_err(failed)?;
    socket.listen(BACKLOG).map_err(failed)?;
    let listener = TcpListener::from_std(socket.into()).map_err(failed)?;
    let local = listener.local_addr().map_err(failed)?;
    Ok((listener, local))
}

/// The admin thread's nice value: under contention, xDS gets the CPU first.
const ADMIN_NICE: i32 = 10;

/// Runs the admin API on its own OS thread and runtime, off the xDS workers, at a lower CPU
/// priority (nice [`ADMIN_NICE`]): rendering a large `/status` or `/metrics` answer then
/// takes time slices of its own, and a client polling it in a loop cannot take the CPU xDS
/// pushes need. The thread owns its sockets (registered with its own runtime) and ends when
/// weir-cp stops or is dropped; the returned task completes when it has.
async fn admin_thread(
    listener: TcpListener,
    local: SocketAddr,
    security: AdminSecurity,
    shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, StartError> {
    let failed = move |source| StartError::Bind { what: "admin", address: local, source };
    let listener = listener.into_std().map_err(failed)?;
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new().name("weir-cp-admin".into()).spawn(move || {
        // On Linux a priority is per thread; this thread runs nothing but the admin API.
        if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), ADMIN_NICE) {
            tracing::debug!(error = %e, "cannot lower the admin thread's priority");
        }
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                let _ = ready_tx.send(Err(failed(e)));
                return;
            }
        };
        runtime.block_on(async move {
            let listeners = TcpListener::from_std(listener)
                .map_err(failed)
                .and_then(|tcp| admin::Listeners::new(tcp, local, &security));
            match listeners {
                Ok(listeners) => {
                    let _ = ready_tx.send(Ok(()));
                    admin::serve(listeners, shared, stopped).await;
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        });
        drop(done_tx);
    });
    thread.map_err(failed)?;
    match ready_rx.await {
        Ok(Ok(())) => Ok(tokio::spawn(async move {
            let _ = done_rx.await;
        })),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(failed(std::io::Error::other("the admin thread ended during start"))),
    }
}

impl ControlPlane {
    /// Loads the state file, binds both ports and starts serving (on the current tokio runtime).
    pub async fn start(config: ServerConfig) -> Result<ControlPlane, StartError> {
        let store = Arc::new(Store::open(config.state_file.as_deref(), &config.layers)?);
        let shared = Arc::new(Shared::new(store, config.max_nodes, config.node_retention));
        let (stop, stopped) = watch::channel(false);
        let (xds_listener, xds) = bind("xds", config.xds_address).await?;
        let mut tasks = Vec::new();
        let admin = match config.admin_address {
            Some(address) => {
                let (listener, local) = bind("admin", address).await?;
                tasks.push(
                    admin_thread(listener, local, config.admin.clone(), shared.clone(), stopped.clone())
                        .await?,
                );
                Some(local)
            }
            None => None,
        };
        let (tls, identity) = match &config.xds_tls {
            Some(x) => {
                let tls = Arc::new(weir_tls::ServerTls::new(&x.tls, "xds_tls")?);
                weir_tls::ServerTls::spawn_watcher(&tls, x.tls.watch_interval);
                (Some(tls), x.node_identity)
            }
            None => (None, NodeIdentity::Claimed),
        };
        if let Some(watch) = config.gateway_dir.clone() {
            tasks.push(tokio::spawn(gateway_watch::run(shared.clone(), watch, stopped.clone())));
        }
        let services = Services::new(shared.clone(), stopped.clone(), identity);
        tasks.push(tokio::spawn(grpc::serve(xds_listener, tls, services, stopped)));
        info!(%xds, admin = ?admin, state_file = ?config.state_file, "weir-cp serving");
        Ok(ControlPlane { xds, admin, shared, stop, tasks })
    }

    /// The bound xDS address.
    pub fn xds_addr(&self) -> SocketAddr {
        self.xds
    }

    /// The bound admin address, if the admin API runs.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin
    }

    /// The store: change runtime layers and ECDS resources in-process
    /// (`cp.store().set_value("rtds", "a.b", json!(5))`); streams are notified at once.
    pub fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }

    /// The Gateway API state: the status of the last apply, why the latest was refused.
    pub fn gateway(&self) -> &crate::gateway::GatewayState {
        &self.shared.gateway
    }

    /// What `GET /status?limit=10000` shows.
    pub fn status(&self) -> StatusView {
        let query = crate::status::NodeQuery { limit: crate::status::MAX_PAGE, ..Default::default() };
        let versions = crate::admin::views::versions(|kind| self.shared.store.version(kind));
        StatusView::of(versions, self.shared.status.page(&query))
    }

    /// Stops listening, ends every stream with `UNAVAILABLE`, and waits for the servers.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
        info!("weir-cp stopped");
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
