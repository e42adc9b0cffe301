//! The admin port (HTTP/1.1, read-only): `GET /ready` (`LIVE`), `GET /metrics` (Prometheus
//! text), `GET /limits` (the loaded domains, their files and how many limits). Reloading is
//! `SIGHUP`, so only who may signal the process can change its limits.

use std::convert::Infallible;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::debug;

use crate::service::State;

/// How long a client may take to send its request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The most admin connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 64;

/// Serves until `stop` turns true.
pub async fn serve(listener: TcpListener, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else { return };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let Ok((socket, _)) = accepted else { continue };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(answer(&request, &state)) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
            if let Err(e) = builder.serve_connection(TokioIo::new(socket), service).await {
                debug!(error = %e, "admin connection ended");
            }
            drop(permit);
        });
    }
}

fn answer(request: &Request<Incoming>, state: &State) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "only GET: reload the limits with SIGHUP\n".into());
    }
    match request.uri().path() {
        "/ready" => reply(StatusCode::OK, "LIVE\n".into()),
        "/metrics" => reply(StatusCode::OK, state.metrics.render()),
        "/limits" => {
            let limits = state.limits.load();
            let mut out = format!("{} limits\n", limits.count);
            for (domain, file) in &limits.sources {
                let _ = writeln!(out, "{domain}\t{}", file.display());
            }
            reply(StatusCode::OK, out)
        }
        _ => reply(StatusCode::NOT_FOUND, "not found: /ready, /metrics, /limits\n".into()),
    }
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
