//! The admin HTTP API (HTTP/1.1, JSON), on its own port. See `docs/control-plane.md`.
//!
//! | path | methods |
//! |---|---|
//! | `/ready` | `GET`: `LIVE` once serving |
//! | `/runtime[/{layer}[/{key}]]` | runtime layers (`GET`, `PUT`, `POST`, `DELETE`; see `docs/control-plane.md`) |
//! | `/ecds[/{name}]` | ECDS configs (`GET`, `PUT`, `DELETE`) |
//! | `/status` | `GET`: nodes, versions, counters ([`views::StatusView`]) |
//! | `/metrics` | `GET`: Prometheus text |

mod ecds;
mod metrics;
pub mod reply;
mod runtime;
pub mod views;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use self::reply::{Failure, Reply};
use self::views::StatusView;
use super::error::StoreError;
use super::shared::{Shared, stopped};
use super::store::{Change, Store};

/// Runs a store change off the async workers (it writes the state file).
async fn with_store(
    shared: &Arc<Shared>,
    change: impl FnOnce(&Store) -> Result<Change, StoreError> + Send + 'static,
) -> Result<Change, Failure> {
    let store = shared.store.clone();
    match tokio::task::spawn_blocking(move || change(&store)).await {
        Ok(result) => Ok(result?),
        Err(e) => Err(Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("change aborted: {e}"),
        }),
    }
}

/// Serves the admin API on `listener` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let connections = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let shared = shared.clone();
                    let mut stop = connections.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            let shared = shared.clone();
                            async move { Ok::<_, Infallible>(handle(shared, request).await) }
                        });
                        let conn = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service);
                        tokio::select! {
                            result = conn => if let Err(e) = result {
                                debug!(%peer, error = %e, "admin connection ended");
                            },
                            () = stopped(&mut stop) => {}
                        }
                    });
                }
                Err(e) => {
                    warn!(error = %e, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = stopped(&mut shutdown) => break,
        }
    }
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Reply {
    let (parts, body) = request.into_parts();
    let result = route(&shared, &parts.method, &parts.uri, body).await;
    match result {
        Ok(reply) => {
            if parts.method != Method::GET {
                info!(method = %parts.method, path = %parts.uri.path(), status = reply.status().as_u16(), "admin change");
            }
            reply
        }
        Err(failure) => {
            info!(method = %parts.method, path = %parts.uri.path(), status = failure.status.as_u16(),
                  error = %failure.message, "admin request refused");
            reply::failure(failure)
        }
    }
}

async fn route(
    shared: &Arc<Shared>,
    method: &Method,
    uri: &http::Uri,
    body: Incoming,
) -> Result<Reply, Failure> {
    let segments = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(reply::decode)
        .collect::<Result<Vec<String>, Failure>>()?;
    let Some((first, rest)) = segments.split_first() else {
        return Err(Failure::not_found("try /runtime, /ecds, /status, /metrics or /ready"));
    };
    match (first.as_str(), method, rest) {
        ("runtime", _, _) => runtime::handle(shared, method, uri, rest, body).await,
        ("ecds", _, _) => ecds::handle(shared, method, uri, rest, body).await,
        ("ready", &Method::GET, []) => Ok(reply::text(StatusCode::OK, "text/plain", "LIVE\n".into())),
        ("status", &Method::GET, []) => Ok(reply::json(StatusCode::OK, &status(shared))),
        ("metrics", &Method::GET, []) => {
            Ok(reply::text(StatusCode::OK, "text/plain; version=0.0.4", metrics::render(&status(shared))))
        }
        ("ready" | "status" | "metrics", _, []) => Err(Failure::method(method, uri.path())),
        _ => Err(Failure::not_found(format!("no such resource: {}", uri.path()))),
    }
}

fn status(shared: &Shared) -> StatusView {
    let (nodes, counters) = shared.status.snapshot();
    StatusView::of(&shared.store.snapshot(), nodes, counters)
}
