//! Admin endpoints.

use std::convert::Infallible;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use crate::server::ServerState;

type AdminResponse = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> AdminResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    response
}

fn json(value: &serde_json::Value) -> AdminResponse {
    reply(StatusCode::OK, "application/json", value.to_string())
}

/// Routes one admin request.
pub async fn handle(
    state: Arc<ServerState>,
    request: Request<Incoming>,
) -> Result<AdminResponse, Infallible> {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let response = match (method, path.as_str()) {
        (Method::GET, "/ready") if state.is_serving() => reply(StatusCode::OK, "text/plain", "LIVE\n"),
        (Method::GET, "/ready") => reply(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "INITIALIZING\n"),
        (Method::GET, "/runtime") => json(&super::runtime::runtime(&state)),
        (Method::GET, "/xds") => json(&super::runtime::xds(&state)),
        (Method::GET, "/stats/prometheus") => {
            reply(StatusCode::OK, "text/plain; version=0.0.4", prometheus(&state))
        }
        (Method::GET, "/stats") => reply(StatusCode::OK, "text/plain", envoy_stats(&state)),
        (Method::GET, "/listeners") => json(&serde_json::json!(
            state
                .listeners
                .iter()
                .map(|(name, addr)| serde_json::json!({"name": name, "address": addr.to_string()}))
                .collect::<Vec<_>>()
        )),
        (Method::GET, "/config_dump") => match serde_json::to_value(&state.snapshot.load().config) {
            Ok(v) => json(&v),
            Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", e.to_string()),
        },
        (Method::GET, "/plugins") => json(&plugins(&state)),
        (Method::GET, "/clusters") => json(&clusters(&state)),
        (Method::POST, "/reload") => {
            let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            reload(&state, &body).await
        }
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    };
    Ok(response)
}

async fn reload(state: &Arc<ServerState>, body: &[u8]) -> AdminResponse {
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

fn prometheus(state: &ServerState) -> String {
    let snapshot = state.snapshot.load();
    let mut out = String::new();
    snapshot.process.stats.encode(&mut out);
    snapshot.process.metrics.encode(&mut out);
    let _ = writeln!(out, "# HELP weir_plugin_failures_total Plugin callbacks that failed.");
    let _ = writeln!(out, "# TYPE weir_plugin_failures_total counter");
    for plugin in &snapshot.plugins {
        let _ = writeln!(
            out,
            "weir_plugin_failures_total{{plugin=\"{}\"}} {}",
            plugin.name(),
            plugin.stats.failures.load(Ordering::Relaxed)
        );
    }
    out
}

/// Envoy's `/stats` text format (`name: value`), for the plugin metrics.
fn envoy_stats(state: &ServerState) -> String {
    let mut out = String::new();
    state.snapshot.load().process.metrics.envoy_text(&mut out);
    out
}

/// Clusters and their endpoints: health, ejection, load.
fn clusters(state: &ServerState) -> serde_json::Value {
    let snapshot = state.snapshot.load();
    let mut clusters: Vec<serde_json::Value> = snapshot
        .clusters
        .iter()
        .map(|c| {
            let set = c.endpoints();
            serde_json::json!({
                "name": c.name(),
                "lb_policy": c.config.lb_policy,
                "active_requests": c.breakers.active_requests(),
                "endpoints": set.all.iter().map(|e| serde_json::json!({
                    "address": e.addr.to_string(),
                    "healthy": e.is_healthy(),
                    "ejected": e.is_ejected(),
                    "active_requests": e.active_requests(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    clusters.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    serde_json::Value::Array(clusters)
}

fn plugins(state: &ServerState) -> serde_json::Value {
    let snapshot = state.snapshot.load();
    serde_json::Value::Array(
        snapshot
            .plugins
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name(),
                    "sha256": p.module.sha256(),
                    "abi_version": p.module.abi().as_str(),
                    "vm_id": p.config.vm_id,
                    "root_id": p.config.root_id,
                    "failure_policy": p.config.failure_policy,
                    "failures": p.stats.failures.load(Ordering::Relaxed),
                    "traps": p.stats.traps.load(Ordering::Relaxed),
                    "timeouts": p.stats.timeouts.load(Ordering::Relaxed),
                })
            })
            .collect(),
    )
}
