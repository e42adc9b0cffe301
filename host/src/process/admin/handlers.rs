//! Admin endpoints: every request passes [`Guard::admit`] (no `Origin`, a `Host` of this
//! server, a token or the unix socket for changes), then the endpoint's content types and body
//! limit.
//!
//! | request | body | needs |
//! |---|---|---|
//! | `GET` `/ready` `/runtime` `/xds` `/stats` `/stats/prometheus` `/listeners` `/clusters` | – | – |
//! | `GET /config_dump`, `GET /plugins` (`?show_secrets=true`: clear) | – | secrets: token or socket |
//! | `POST /reload` | YAML or JSON, ≤ `admin.max_body_bytes` | token or socket |
//! | `POST /plugins`, `PUT /plugins/{name}` | JSON ≤ `admin.max_body_bytes`, or `application/wasm` ≤ `module_sources.max_module_bytes` | token or socket |
//! | `DELETE /plugins/{name}` | – | token or socket |
//! | `POST /runtime_modify?key=value&…` | – | token or socket |

use std::convert::Infallible;
use std::sync::Arc;

use http::{Method, Request, StatusCode, request};
use hyper::body::Incoming;
use weir_admin_guard::{Access, Guard, Refusal, Reply, Transport, challenged, reply};

use super::uploads::UploadDir;
use super::{redact, stats};
use crate::process::ProcessControl;

type AdminResponse = Reply;

/// What every admin request is served with.
pub struct Admin {
    /// The process.
    pub state: Arc<dyn ProcessControl>,
    /// The request checks.
    pub guard: Guard,
    /// `admin.max_body_bytes`.
    pub max_body: usize,
    /// Where uploaded modules go.
    pub uploads: UploadDir,
}

fn json(value: &serde_json::Value) -> AdminResponse {
    reply(StatusCode::OK, "application/json", value.to_string())
}

fn refused(refusal: Refusal) -> AdminResponse {
    challenged(
        reply(refusal.status, "text/plain", format!("{}\n", refusal.message)),
        refusal.challenge.as_deref(),
    )
}

/// Checks and routes one admin request.
pub async fn handle(
    admin: Arc<Admin>,
    transport: Transport,
    request: Request<Incoming>,
) -> Result<AdminResponse, Infallible> {
    let (parts, body) = request.into_parts();
    let response = match admin.guard.admit(&parts, transport) {
        Ok(access) => route(&admin, access, &parts, body).await.unwrap_or_else(refused),
        Err(refusal) => refused(refusal),
    };
    let status = response.status();
    if (status.is_client_error() && status != StatusCode::NOT_FOUND) || parts.method != Method::GET {
        tracing::info!(method = %parts.method, path = %parts.uri.path(), ?transport, status = status.as_u16(), "admin request");
    }
    Ok(response)
}

async fn route(
    admin: &Admin,
    access: Access,
    parts: &request::Parts,
    body: Incoming,
) -> Result<AdminResponse, Refusal> {
    let state = &admin.state;
    let path = parts.uri.path();
    let secrets = redact::asks_for_secrets(parts.uri.query());
    if secrets {
        admin.guard.require(access, "show_secrets")?;
    }
    Ok(match (&parts.method, path) {
        (&Method::GET, "/ready") if state.is_serving() => reply(StatusCode::OK, "text/plain", "LIVE\n"),
        (&Method::GET, "/ready") => reply(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "INITIALIZING\n"),
        (&Method::GET, "/runtime") => json(&super::runtime::runtime(&**state)),
        (&Method::GET, "/xds") => json(&super::runtime::xds(&**state)),
        (&Method::GET, "/stats/prometheus") => {
            reply(StatusCode::OK, "text/plain; version=0.0.4", stats::prometheus(&**state))
        }
        (&Method::GET, "/stats") => reply(StatusCode::OK, "text/plain", stats::envoy_stats(&**state)),
        (&Method::GET, "/listeners") => json(&serde_json::json!(
            state
                .listeners()
                .iter()
                .map(|(name, addr)| serde_json::json!({"name": name, "address": addr.to_string()}))
                .collect::<Vec<_>>()
        )),
        (&Method::GET, "/config_dump") => {
            let config = &state.generation().config;
            let dump = if secrets { serde_json::to_value(config) } else { redact::config_dump(config) };
            match dump {
                Ok(v) => json(&v),
                Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", e.to_string()),
            }
        }
        (&Method::GET, "/plugins") => json(&super::plugins::list(&**state, secrets)),
        (&Method::POST, "/plugins") => plugin_change(admin, None, parts, body).await?,
        (&Method::PUT, p) if p.starts_with("/plugins/") => {
            let name = p.trim_start_matches("/plugins/").to_string();
            plugin_change(admin, Some(name), parts, body).await?
        }
        (&Method::DELETE, p) if p.starts_with("/plugins/") => {
            let name = p.trim_start_matches("/plugins/").to_string();
            let state = state.clone();
            blocking(move || super::plugins::delete(&state, &name).map(|()| "deleted\n".to_string())).await
        }
        (&Method::POST, "/runtime_modify") => {
            let changes = super::runtime::query_pairs(parts.uri.query().unwrap_or_default());
            let state = state.clone();
            blocking(move || state.modify_runtime(changes).map(|()| "OK\n".to_string())).await
        }
        (&Method::GET, "/clusters") => json(&stats::clusters(&**state)),
        (&Method::POST, "/reload") => {
            weir_admin_guard::require_content_type(&parts.headers, weir_admin_guard::YAML)?;
            let body = weir_admin_guard::read_body(&parts.headers, body, admin.max_body).await?;
            reload(state, &body).await
        }
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    })
}

async fn reload(state: &Arc<dyn ProcessControl>, body: &[u8]) -> AdminResponse {
    let text = String::from_utf8_lossy(body).into_owned();
    let config = match crate::config::Config::parse(&text, "POST /reload") {
        Ok(c) => c,
        Err(e) => return reply(StatusCode::BAD_REQUEST, "text/plain", format!("{e}\n")),
    };
    let state = state.clone();
    match tokio::task::spawn_blocking(move || state.reload(config)).await {
        Ok(Ok(())) => reply(StatusCode::OK, "text/plain", "reloaded\n"),
        Ok(Err(e)) => reply(StatusCode::BAD_REQUEST, "text/plain", format!("{e}\n")),
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", format!("{e}\n")),
    }
}

/// `POST /plugins`, `PUT /plugins/{name}`: a JSON spec, or a module body (`application/wasm`)
/// with the spec in query parameters.
async fn plugin_change(
    admin: &Admin,
    name: Option<String>,
    parts: &request::Parts,
    body: Incoming,
) -> Result<AdminResponse, Refusal> {
    let accepted = ["application/json", "application/wasm"];
    weir_admin_guard::require_content_type(&parts.headers, &accepted)?;
    let is_wasm = weir_admin_guard::require_content_type(&parts.headers, weir_admin_guard::WASM).is_ok();
    let limit = if is_wasm {
        let max = admin.state.generation().config.module_sources.max_module_bytes;
        usize::try_from(max).unwrap_or(usize::MAX)
    } else {
        admin.max_body
    };
    let body = weir_admin_guard::read_body(&parts.headers, body, limit).await?;
    let query = parts.uri.query().unwrap_or("");
    let parsed = if is_wasm {
        super::plugins::spec_from_query(query).map(|spec| (spec, Some(body)))
    } else {
        serde_json::from_slice(&body).map(|spec| (spec, None)).map_err(|e| format!("plugin spec: {e}"))
    };
    let (spec, module) = match parsed {
        Ok(p) => p,
        Err(e) => return Ok(reply(StatusCode::BAD_REQUEST, "text/plain", format!("{e}\n"))),
    };
    let state = admin.state.clone();
    let stored = match module {
        Some(bytes) => match admin.uploads.store(&bytes) {
            Ok(path) => Some(path),
            Err(e) => {
                let message = format!("cannot store the module: {e}\n");
                return Ok(reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", message));
            }
        },
        None => None,
    };
    Ok(blocking(move || {
        super::plugins::upsert(&state, name.as_deref(), spec, stored)
            .map(|name| format!("plugin `{name}` applied\n"))
    })
    .await)
}

/// Runs a configuration change off the admin thread's async loop (it waits for every worker).
async fn blocking(change: impl FnOnce() -> Result<String, String> + Send + 'static) -> AdminResponse {
    match tokio::task::spawn_blocking(change).await {
        Ok(Ok(text)) => reply(StatusCode::OK, "text/plain", text),
        Ok(Err(e)) => reply(StatusCode::BAD_REQUEST, "text/plain", format!("{e}\n")),
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", format!("{e}\n")),
    }
}
