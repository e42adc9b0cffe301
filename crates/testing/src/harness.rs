//! The in-process test harness.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use super::echo::{Echo, EchoServer};
use weir_host::config::{ClusterConfig, Config, PluginConfig};
use weir_host::process::runtime_values::Layer;
use weir_host::process::server::{RunningServer, ServerOptions, StartError};

/// A response, and what the upstream saw if the request got there.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// Status code.
    pub status: u16,
    /// Response headers (lower-case names, in order).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
    /// The request as the echo upstream received it; `None` if the filter answered itself.
    pub upstream: Option<Echo>,
}

impl TestResponse {
    /// First value of a response header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Builds a [`Harness`].
#[derive(Debug, Clone)]
pub struct HarnessBuilder {
    plugins: Vec<PluginConfig>,
    clusters: Vec<ClusterConfig>,
    concurrency: usize,
}

impl HarnessBuilder {
    /// Sets the configuration of the last added plugin (JSON text, passed as is).
    pub fn configuration(mut self, json: &str) -> Self {
        if let Some(p) = self.plugins.last_mut() {
            p.configuration = Some(serde_json::Value::String(json.to_string()));
        }
        self
    }

    /// Sets the `vm_id` of the last added plugin.
    pub fn vm_id(mut self, vm_id: &str) -> Self {
        if let Some(p) = self.plugins.last_mut() {
            p.vm_id = vm_id.to_string();
        }
        self
    }

    /// Sets the `root_id` of the last added plugin.
    pub fn root_id(mut self, root_id: &str) -> Self {
        if let Some(p) = self.plugins.last_mut() {
            p.root_id = root_id.to_string();
        }
        self
    }

    /// Changes anything else of the last added plugin (failure policy, limits, ...).
    pub fn with_plugin(mut self, edit: impl FnOnce(&mut PluginConfig)) -> Self {
        if let Some(p) = self.plugins.last_mut() {
            edit(p);
        }
        self
    }

    /// Adds another plugin after the previous ones.
    pub fn plugin(mut self, wasm: impl AsRef<Path>) -> Self {
        let name = format!("plugin-{}", self.plugins.len());
        self.plugins.push(PluginConfig::new(&name, wasm.as_ref().to_path_buf()));
        self
    }

    /// Adds a cluster for callouts (`http2` for gRPC backends). The echo upstream is always the
    /// cluster `upstream`.
    pub fn cluster(mut self, name: &str, addr: SocketAddr, http2: bool) -> Self {
        let mut cluster = ClusterConfig::new(name, vec![addr.to_string()]);
        cluster.http2 = http2;
        self.clusters.push(cluster);
        self
    }

    /// Changes anything else of the last added cluster (TLS, timeouts, ...).
    pub fn with_cluster(mut self, edit: impl FnOnce(&mut ClusterConfig)) -> Self {
        if let Some(c) = self.clusters.last_mut() {
            edit(c);
        }
        self
    }

    /// Number of worker threads (default 1).
    pub fn concurrency(mut self, workers: usize) -> Self {
        self.concurrency = workers.max(1);
        self
    }

    /// Starts weir and the echo upstream.
    pub fn start(self) -> Result<Harness, StartError> {
        let echo = EchoServer::start().map_err(|e| StartError::Other(format!("echo upstream: {e}")))?;
        let mut config = Config::parse(&config_yaml(echo.addr()), "harness")?;
        config.listeners[0].http_filters = self.plugins.iter().map(|p| p.name.clone()).collect();
        config.plugins = self.plugins;
        config.clusters.extend(self.clusters);
        weir_host::config::validate(&config)?;
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| StartError::Other(format!("admin token: {e}")))?;
        let admin_token = hex::encode(random);
        let mut options = ServerOptions::with_concurrency(self.concurrency);
        options.admin_token = Some(
            weir_admin_guard::Token::new(&admin_token, "harness")
                .map_err(|e| StartError::Other(format!("admin token: {e}")))?,
        );
        let server = RunningServer::start(config, options)?;
        let client = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StartError::Other(format!("client runtime: {e}")))?;
        Ok(Harness { server, echo, client, admin_token })
    }
}

fn config_yaml(upstream: SocketAddr) -> String {
    format!(
        "admin:\n  address: 127.0.0.1:0\nlisteners:\n  - name: main\n    address: 127.0.0.1:0\n    virtual_hosts:\n      - name: all\n        \
         domains: ['*']\n        routes:\n          - name: default\n            match: {{ prefix: / }}\n            \
         route: {{ cluster: upstream }}\nclusters:\n  - name: upstream\n    endpoints: ['{upstream}']\n"
    )
}

/// weir with a plugin chain in front of an echo upstream.
pub struct Harness {
    server: RunningServer,
    echo: EchoServer,
    client: tokio::runtime::Runtime,
    admin_token: String,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness").field("upstream", &self.echo.addr()).finish_non_exhaustive()
    }
}

impl Harness {
    /// A harness for the filter crate in `crate_dir`, built for `wasm32-wasip1` first
    /// ([`crate::build_filter`]): no prebuilt `.wasm` needed.
    pub fn from_crate(crate_dir: impl AsRef<Path>) -> Result<HarnessBuilder, crate::BuildError> {
        Ok(Harness::builder(crate::build_filter(crate_dir)?))
    }

    /// A harness for one plugin (named `plugin-0`).
    pub fn builder(wasm: impl AsRef<Path>) -> HarnessBuilder {
        HarnessBuilder { plugins: Vec::new(), clusters: Vec::new(), concurrency: 1 }.plugin(wasm)
    }

    /// Publishes runtime values as the control plane would (one layer; replaces the previous
    /// values).
    pub fn set_runtime(&self, values: &[(&str, serde_json::Value)]) {
        let layer: Layer = values.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let generation = self.server.state().generation.load_full();
        generation.process.runtime_values.set_layer("harness", layer);
        generation
            .process
            .runtime_values
            .publish(&generation.process.guest.shared_data, generation.vm_ids().iter().map(String::as_str));
    }

    /// The weir listener's address (to use your own client).
    pub fn addr(&self) -> SocketAddr {
        self.server.listener_addr("main").unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The running server (admin state, reload).
    pub fn server(&self) -> &RunningServer {
        &self.server
    }

    /// `GET path` on the admin server (stats, plugins, runtime); the body as text.
    pub fn admin(&self, path: &str) -> Result<String, String> {
        let addr = self.server.admin_addr().ok_or("no admin server")?;
        let request = Request::builder()
            .uri(path)
            .header("host", addr.to_string())
            .body(Bytes::new())
            .map_err(|e| e.to_string())?;
        Ok(self.send_admin(addr, request)?.text())
    }

    /// The admin token the harness started weir with (`Authorization: Bearer <token>`).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// A request to the admin server with the admin token and its own `Host` (a change:
    /// `POST /plugins`, `PUT`, `DELETE`, `POST /reload`).
    pub fn admin_change(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> Result<TestResponse, String> {
        let addr = self.server.admin_addr().ok_or("no admin server")?;
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string())
            .header("authorization", format!("Bearer {}", self.admin_token))
            .header("content-type", content_type)
            .body(body.into())
            .map_err(|e| e.to_string())?;
        self.send_admin(addr, request)
    }

    fn send_admin(&self, addr: SocketAddr, request: Request<Bytes>) -> Result<TestResponse, String> {
        self.client.block_on(async move {
            tokio::time::timeout(Duration::from_secs(10), send(addr, request))
                .await
                .map_err(|_| "admin request timed out after 10s".to_string())?
        })
    }

    /// `GET path` with headers (`host: example.com` unless given).
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<TestResponse, String> {
        let mut builder = Request::builder().method("GET").uri(path);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            builder = builder.header("host", "example.com");
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(Bytes::new()).map_err(|e| e.to_string())?;
        self.send(request)
    }

    /// Sends any request (10 s limit).
    pub fn send(&self, request: Request<Bytes>) -> Result<TestResponse, String> {
        let addr = self.addr();
        self.client.block_on(async move {
            tokio::time::timeout(Duration::from_secs(10), send(addr, request))
                .await
                .map_err(|_| "request timed out after 10s".to_string())?
        })
    }
}

async fn send(addr: SocketAddr, request: Request<Bytes>) -> Result<TestResponse, String> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let response = sender.send_request(request.map(Full::new)).await.map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let upstream = headers
        .iter()
        .any(|(k, v)| k == "x-echo" && v == "1")
        .then(|| serde_json::from_slice(&body).ok())
        .flatten();
    Ok(TestResponse { status: parts.status.as_u16(), headers, body, upstream })
}
