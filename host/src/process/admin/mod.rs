//! The admin server, on its own port (and optionally a unix socket) and thread: readiness,
//! stats, config dump, listeners, plugins, clusters, runtime values, xDS status. Who may do what
//! is in `handlers.rs` and `docs/security.md` ("Admin APIs").

mod handlers;
mod plugins;
mod redact;
mod runtime;
mod stats;
mod uploads;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;
use weir_admin_guard::unix::{PrivateListener, PrivateSocket};
use weir_admin_guard::{Guard, GuardConfig, Token, TokenError, Transport};

use self::handlers::Admin;
use crate::config::AdminConfig;
use crate::process::ProcessControl;

/// The environment variable that may hold the admin token (instead of `admin.token_file`).
pub const TOKEN_ENV: &str = "WEIR_ADMIN_TOKEN";

/// What to say when a change is refused because nothing authenticates it.
const ENABLE_HINT: &str = "set admin.token_file (or WEIR_ADMIN_TOKEN) and send `Authorization: Bearer \
                           <token>`, or set admin.unix_socket and use the socket";

/// Why the admin server could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The TCP address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The unix socket could not be bound.
    #[error("cannot listen on the admin socket {path}: {source}")]
    Socket {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The token could not be read.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Both a token file and `WEIR_ADMIN_TOKEN` were given.
    #[error("both admin.token_file and {TOKEN_ENV} are set; use one")]
    TwoTokens,
    /// The server thread could not start.
    #[error("cannot start the admin thread: {0}")]
    Thread(std::io::Error),
    /// `admin.tls` could not be set up.
    #[error(transparent)]
    Tls(#[from] weir_tls::TlsError),
}

/// How long an admin client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A running admin server.
#[derive(Debug)]
pub struct AdminServer {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl AdminServer {
    /// Binds `config.address` (and `config.unix_socket`) and serves on a dedicated thread.
    /// `token` is the token from the environment, if any (`admin.token_file` is the other
    /// source; not both).
    pub fn start(
        config: &AdminConfig,
        token: Option<Token>,
        state: Arc<dyn ProcessControl>,
    ) -> Result<AdminServer, AdminError> {
        let token = match (token, &config.token_file) {
            (Some(_), Some(_)) => return Err(AdminError::TwoTokens),
            (Some(token), None) => Some(token),
            (None, Some(file)) => Some(Token::from_file(file)?),
            (None, None) => None,
        };
        let address = config.address;
        let bind = |source| AdminError::Bind { address, source };
        let listener = std::net::TcpListener::bind(address).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let socket = match &config.unix_socket {
            Some(path) => Some(
                PrivateSocket::bind(path)
                    .map_err(|source| AdminError::Socket { path: path.clone(), source })?,
            ),
            None => None,
        };
        if token.is_none() && socket.is_none() {
            tracing::warn!("the admin API is read-only: {ENABLE_HINT}");
        }
        let guard = Guard::new(GuardConfig {
            token,
            local: addr,
            allowed_hosts: config.allowed_hosts.clone(),
            enable_hint: ENABLE_HINT.to_string(),
            realm: "weir admin".to_string(),
        });
        let admin = Arc::new(Admin {
            state,
            guard,
            max_body: config.max_body_bytes,
            uploads: uploads::UploadDir::new(std::env::temp_dir()),
        });
        let tls = match &config.tls {
            Some(settings) => {
                // The admin API speaks HTTP/1.1 only.
                let settings =
                    weir_tls::DownstreamTls { alpn_protocols: vec!["http/1.1".into()], ..settings.clone() };
                let tls = Arc::new(weir_tls::ServerTls::new(&settings, "admin.tls")?);
                weir_tls::ServerTls::spawn_watcher(&tls, settings.watch_interval);
                Some(tls)
            }
            None => None,
        };
        let (shutdown, stop) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("weir-admin".into())
            .spawn(move || serve(listener, tls, socket, admin, stop))
            .map_err(AdminError::Thread)?;
        Ok(AdminServer { addr, shutdown, thread: Some(thread) })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving.
    pub fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The admin thread: accepts on both listeners until `stop`.
fn serve(
    listener: std::net::TcpListener,
    tls: Option<Arc<weir_tls::ServerTls>>,
    socket: Option<PrivateSocket>,
    admin: Arc<Admin>,
    mut stop: watch::Receiver<bool>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("admin runtime: {e}");
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("admin listener: {e}");
                return;
            }
        };
        let socket = socket.and_then(|s| s.listen().map_err(|e| tracing::error!("admin socket: {e}")).ok());
        loop {
            tokio::select! {
                accepted = listener.accept() => if let Ok((stream, _)) = accepted {
                    match &tls {
                        None => spawn_connection(TokioIo::new(stream), Transport::Tcp, &admin),
                        Some(tls) => {
                            let (tls, admin) = (tls.clone(), admin.clone());
                            tokio::spawn(async move {
                                match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                                    Ok(Ok((stream, _))) => spawn_connection(TokioIo::new(stream), Transport::Tcp, &admin),
                                    Ok(Err(e)) => tracing::debug!("admin TLS handshake failed: {e}"),
                                    Err(_) => tracing::debug!("admin TLS handshake timed out"),
                                }
                            });
                        }
                    }
                },
                accepted = accept_unix(socket.as_ref()) => match accepted {
                    Ok(stream) => spawn_connection(TokioIo::new(stream), Transport::Unix, &admin),
                    Err(e) => tracing::warn!("admin socket: {e}"),
                },
                _ = stop.changed() => break,
            }
        }
    });
}

/// The next connection on the unix socket; never, without one.
async fn accept_unix(socket: Option<&PrivateListener>) -> std::io::Result<tokio::net::UnixStream> {
    match socket {
        Some(socket) => socket.accept().await,
        None => std::future::pending().await,
    }
}

fn spawn_connection<I>(io: I, transport: Transport, admin: &Arc<Admin>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let admin = admin.clone();
    tokio::spawn(async move {
        let service = service_fn(move |req| handlers::handle(admin.clone(), transport, req));
        let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
    });
}
