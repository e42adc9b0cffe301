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
        (Method::GET, "/plugins") => json(&super::plugins::list(&state)),
        (Method::POST, "/plugins") => plugin_change(&state, None, request).await,
        (Method::PUT, p) if p.starts_with("/plugins/") => {
            let name = p.trim_start_matches("/plugins/").to_string();
            plugin_change(&state, Some(name), request).await
        }
        (Method::DELETE, p) if p.starts_with("/plugins/") => {
            let name = p.trim_start_matches("/plugins/").to_string();
            let state = state.clone();
            blocking(move || super::plugins::delete(&state, &name).map(|()| "deleted\n".to_string())).await
        }
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
    let series: [Series; 7] = [
        ("weir_plugin_calls_total", "counter", "Plugin HTTP callbacks run.", |s| load(&s.calls)),
        ("weir_plugin_callback_seconds_total", "counter", "Time spent in plugin callbacks.", |s| {
            load(&s.time_ns) / 1e9
        }),
        ("weir_plugin_failures_total", "counter", "Plugin callbacks that failed.", |s| load(&s.failures)),
        ("weir_plugin_traps_total", "counter", "Plugin traps (and proc_exit).", |s| load(&s.traps)),
        ("weir_plugin_timeouts_total", "counter", "Callbacks past max_callback_time.", |s| load(&s.timeouts)),
        ("weir_plugin_vm_reloads_total", "counter", "Failed VMs replaced (FAIL_RELOAD).", |s| {
            load(&s.reloads)
        }),
        ("weir_plugin_failed_vms", "gauge", "VMs failed and not replaced.", |s| {
            s.failed_vms.load(Ordering::Relaxed) as f64
        }),
    ];
    for (name, kind, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for plugin in &snapshot.plugins {
            let plugin_label = crate::stats::label_value(plugin.name());
            let _ = writeln!(out, "{name}{{plugin=\"{plugin_label}\"}} {}", value(&plugin.stats));
        }
    }
    out
}

/// A Prometheus series over plugin stats: name, type, help, value.
type Series = (&'static str, &'static str, &'static str, fn(&crate::plugin::PluginStats) -> f64);

fn load(counter: &std::sync::atomic::AtomicU64) -> f64 {
    counter.load(Ordering::Relaxed) as f64
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

/// `POST /plugins`, `PUT /plugins/{name}`: a JSON spec, or a module body (`application/wasm`)
/// with the spec in query parameters.
async fn plugin_change(
    state: &Arc<ServerState>,
    name: Option<String>,
    request: Request<Incoming>,
) -> AdminResponse {
    let is_wasm = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/wasm"));
    let query = request.uri().query().unwrap_or("").to_string();
    let body = match request.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return reply(StatusCode::BAD_REQUEST, "text/plain", format!("reading the body: {e}\n")),
    };
    let parsed = if is_wasm {
        super::plugins::spec_from_query(&query).map(|spec| (spec, Some(body)))
    } else {
        serde_json::from_slice(&body).map(|spec| (spec, None)).map_err(|e| format!("plugin spec: {e}"))
    };
    let (spec, module) = match parsed {
        Ok(p) => p,
        Err(e) => return reply(StatusCode::BAD_REQUEST, "text/plain", format!("{e}\n")),
    };
    let state = state.clone();
    blocking(move || {
        super::plugins::upsert(&state, name.as_deref(), spec, module)
            .map(|name| format!("plugin `{name}` applied\n"))
    })
    .await
}

/// Runs a configuration change off the admin thread's async loop (it waits for every worker).
async fn blocking(change: impl FnOnce() -> Result<String, String> + Send + 'static) -> AdminResponse {
    match tokio::task::spawn_blocking(change).await {
        Ok(Ok(text)) => reply(StatusCode::OK, "text/plain", text),
        Ok(Err(e)) => reply(StatusCode::BAD_REQUEST, "text/plain", format!("{e}\n")),
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", format!("{e}\n")),
    }
}
