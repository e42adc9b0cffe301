//! The admin HTTP API (HTTP/1.1, JSON), on its own port and optionally a unix socket. See
//! `docs/control-plane.md`; who may do what is in `docs/security.md` ("Admin APIs").
//!
//! | path | methods |
//! |---|---|
//! | `/ready` | `GET`: `LIVE` once serving |
//! | `/runtime[/{layer}[/{key}]]` | runtime layers (`GET`, `PUT`, `POST`, `DELETE`; see `docs/control-plane.md`) |
//! | `/ecds[/{name}]` | ECDS configs (`GET`, `PUT`, `DELETE`); configurations redacted unless `?show_secrets=true` (authenticated) |
//! | `/secrets[/{name}]` | SDS secrets (`GET`, `PUT`, `DELETE`); private keys never shown (size and SHA-256 only) |
//! | `/clusters`, `/endpoints`, `/routes`, `/listeners` | `GET`: CDS clusters, EDS endpoints, RDS route configurations, LDS listeners, as Envoy JSON |
//! | `/apply` | `POST`: replace the clusters, endpoints, routes and/or listeners (`{"clusters": [...], "endpoints": [...], "routes": [...], "listeners": [...]}`, Envoy's shape, JSON or YAML), everyone's or a node group's (`"group": {"name", "nodes"}`) |
//! | `/groups` | `GET` node groups; `DELETE /groups/{name}` |
//! | `/gateway/apply`, `/gateway/status` | `POST` Gateway API manifests (one node group per Gateway); `GET` their status conditions |
//! | `/status` | `GET`: versions, counters and a page of nodes ([`views::StatusView`]); `?node=`, `?group=`, `?stale=true`, `?limit=` (default 1000, at most 10000), `?after=` (the previous page's `next`) |
//! | `/metrics` | `GET`: Prometheus text |
//!
//! Every request first passes [`weir_admin_guard::Guard::admit`]: no `Origin`, a `Host` of
//! this server, and for anything but `GET`/`HEAD` a bearer token or the unix socket.

mod ecds;
mod gateway;
mod metrics;
pub mod reply;
mod resources;
mod runtime;
mod secrets;
mod security;
mod tls;
pub mod views;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, StatusCode, request};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, info, warn};
use weir_admin_guard::unix::{PrivateListener, PrivateSocket};
use weir_admin_guard::{Access, Guard, GuardConfig, Transport};

use self::reply::{Failure, Reply};
pub use self::security::AdminSecurity;
use self::views::StatusView;
use super::error::{StartError, StoreError};
use super::shared::{Shared, stopped};
use super::status::{MAX_PAGE, NodeQuery};
use super::store::Store;

/// What to say when a change is refused because nothing authenticates it.
const ENABLE_HINT: &str = "start weir-cp with --token-file FILE (or WEIR_CP_ADMIN_TOKEN) and send \
                           `Authorization: Bearer <token>`, or with --admin-socket PATH and use the socket";

/// Runs a store change off the async workers (it writes the state file).
async fn with_store<T: Send + 'static>(
    shared: &Arc<Shared>,
    change: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Failure> {
    let store = shared.store.clone();
    match tokio::task::spawn_blocking(move || change(&store)).await {
        Ok(result) => Ok(result?),
        Err(e) => Err(Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("change aborted: {e}"),
            challenge: None,
        }),
    }
}

/// The admin API's sockets and request checks.
#[derive(Debug)]
pub struct Listeners {
    tcp: TcpListener,
    unix: Option<PrivateSocket>,
    tls: Option<Arc<weir_tls::ServerTls>>,
    guard: Arc<Guard>,
}

impl Listeners {
    /// The TCP listener bound at `local`, and the unix socket `security` asks for.
    pub fn new(
        tcp: TcpListener,
        local: SocketAddr,
        security: &AdminSecurity,
    ) -> Result<Listeners, StartError> {
        let unix = match &security.socket {
            Some(path) => Some(
                PrivateSocket::bind(path)
                    .map_err(|source| StartError::Socket { path: path.clone(), source })?,
            ),
            None => None,
        };
        let tls = tls::server(security.tls.as_ref())?;
        if security.token.is_none() && unix.is_none() {
            warn!("the admin API is read-only: {ENABLE_HINT}");
        }
        let guard = Guard::new(GuardConfig {
            token: security.token.clone(),
            local,
            allowed_hosts: security.allowed_hosts.clone(),
            enable_hint: ENABLE_HINT.to_string(),
            realm: "weir-cp admin".to_string(),
        });
        Ok(Listeners { tcp, unix, tls, guard: Arc::new(guard) })
    }
}

/// Serves the admin API until `shutdown` turns true.
pub async fn serve(listeners: Listeners, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let Listeners { tcp, unix, tls, guard } = listeners;
    let unix = unix.and_then(|socket| match socket.listen() {
        Ok(listener) => {
            info!(path = %listener.path().display(), "admin API on the unix socket");
            Some(listener)
        }
        Err(e) => {
            warn!(error = %e, "the admin unix socket cannot be served");
            None
        }
    });
    loop {
        tokio::select! {
            accepted = tcp.accept() => match accepted {
                Ok((stream, peer)) => match &tls {
                    Some(tls) => tls::spawn(tls.clone(), stream, peer.to_string(), &shared, &guard, &shutdown),
                    None => {
                        let io = TokioIo::new(stream);
                        spawn_connection(io, Transport::Tcp, peer.to_string(), &shared, &guard, &shutdown);
                    }
                },
                Err(e) => {
                    warn!(error = %e, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            accepted = accept_unix(unix.as_ref()) => match accepted {
                Ok(stream) => {
                    let io = TokioIo::new(stream);
                    spawn_connection(io, Transport::Unix, "unix".into(), &shared, &guard, &shutdown);
                }
                Err(e) => warn!(error = %e, "admin socket accept failed"),
            },
            () = stopped(&mut shutdown) => break,
        }
    }
}

/// The next connection on the unix socket; never, without one.
async fn accept_unix(listener: Option<&PrivateListener>) -> std::io::Result<tokio::net::UnixStream> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

fn spawn_connection<I>(
    io: I,
    transport: Transport,
    peer: String,
    shared: &Arc<Shared>,
    guard: &Arc<Guard>,
    shutdown: &watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (shared, guard, mut stop) = (shared.clone(), guard.clone(), shutdown.clone());
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |request| {
            let (shared, guard) = (shared.clone(), guard.clone());
            async move { Ok::<_, Infallible>(handle(shared, &guard, transport, request).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
        tokio::select! {
            result = conn => if let Err(e) = result {
                debug!(%peer, error = %e, "admin connection ended");
            },
            () = stopped(&mut stop) => {}
        }
    });
}

/// One admitted request, as the handlers see it.
pub struct Call<'a> {
    /// What every stream and the admin API share.
    pub shared: &'a Arc<Shared>,
    /// The request line and headers.
    pub parts: &'a request::Parts,
    /// Who sent it.
    pub access: Access,
    /// The checks (for `show_secrets`).
    pub guard: &'a Guard,
}

async fn handle(
    shared: Arc<Shared>,
    guard: &Guard,
    transport: Transport,
    request: Request<Incoming>,
) -> Reply {
    let (parts, body) = request.into_parts();
    let result = match guard.admit(&parts, transport) {
        Ok(access) => {
            let call = Call { shared: &shared, parts: &parts, access, guard };
            route(&call, body).await
        }
        Err(refusal) => Err(Failure::from(refusal)),
    };
    match result {
        Ok(reply) => {
            if parts.method != Method::GET {
                info!(method = %parts.method, path = %parts.uri.path(), ?transport, status = reply.status().as_u16(), "admin change");
            }
            reply
        }
        Err(failure) => {
            info!(method = %parts.method, path = %parts.uri.path(), ?transport, status = failure.status.as_u16(),
                  error = %failure.message, "admin request refused");
            reply::failure(failure)
        }
    }
}

async fn route(call: &Call<'_>, body: Incoming) -> Result<Reply, Failure> {
    let (shared, method, uri) = (call.shared, &call.parts.method, &call.parts.uri);
    let segments = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(reply::decode)
        .collect::<Result<Vec<String>, Failure>>()?;
    let Some((first, rest)) = segments.split_first() else {
        return Err(Failure::not_found(
            "try /runtime, /ecds, /secrets, /clusters, /endpoints, /routes, /listeners, /apply, /groups, /gateway, /status, /metrics or /ready",
        ));
    };
    match (first.as_str(), method, rest) {
        ("runtime", _, _) => runtime::handle(call, rest, body).await,
        ("ecds", _, _) => ecds::handle(call, rest, body).await,
        ("secrets", _, _) => secrets::handle(call, rest, body).await,
        ("gateway", _, _) => gateway::handle(call, rest, body).await,
        ("clusters" | "endpoints" | "routes" | "listeners" | "apply" | "groups", _, _) => {
            resources::handle(call, first, rest, body).await
        }
        ("ready", &Method::GET, []) => Ok(reply::text(StatusCode::OK, "text/plain", "LIVE\n".into())),
        ("status", &Method::GET, []) => {
            let query = status_query(uri)?;
            let page = shared.status.page(&query);
            Ok(reply::json_compact(StatusCode::OK, &StatusView::of(versions(shared), page)))
        }
        ("metrics", &Method::GET, []) => Ok(reply::text(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            metrics::render(&shared.status.summary(), &versions(shared), &shared.push_times),
        )),
        ("ready" | "status" | "metrics", _, []) => Err(Failure::method(method, uri.path())),
        _ => Err(Failure::not_found(format!("no such resource: {}", uri.path()))),
    }
}

fn versions(shared: &Shared) -> std::collections::BTreeMap<String, String> {
    views::versions(|kind| shared.store.version(kind))
}

/// `GET /status?node=ID&group=NAME&stale=true&after=ID&limit=N`.
fn status_query(uri: &http::Uri) -> Result<NodeQuery, Failure> {
    let params = reply::query(uri, &["node", "group", "stale", "after", "limit"])?;
    let mut query = NodeQuery { stale: reply::flag(&params, "stale", false)?, ..NodeQuery::default() };
    for (key, value) in params {
        match key.as_str() {
            "node" => query.node = Some(value),
            "group" => query.group = Some(value),
            "after" => query.after = Some(value),
            "limit" => {
                query.limit = value.parse().ok().filter(|n| (1..=MAX_PAGE).contains(n)).ok_or_else(|| {
                    Failure::bad_request(format!("`limit` must be 1 to {MAX_PAGE}, not `{value}`"))
                })?;
            }
            _ => {}
        }
    }
    Ok(query)
}
