//! weir for tests: started in-process from YAML text with ephemeral ports.

use std::net::SocketAddr;

use anyhow::Context;
use weir_host::config::Config;
use weir_host::process::server::{RunningServer, ServerOptions};

/// Guest logs enabled at info, as the tests run Envoy (`--component-log-level wasm:info`), so
/// both hosts answer `proxy_get_log_level` alike; the lines themselves are discarded.
fn wasm_logs_at_info() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("weir::wasm=info"))
            .with_writer(std::io::sink)
            .try_init();
    });
}

/// A running in-process weir; stops on drop.
pub struct Weir {
    server: RunningServer,
}

impl Weir {
    /// Parses `yaml` and starts weir with `concurrency` workers. Blocking: call from a blocking
    /// context (or `spawn_blocking`).
    pub fn start(yaml: &str, concurrency: usize) -> anyhow::Result<Weir> {
        wasm_logs_at_info();
        let config = Config::parse(yaml, "test config")?;
        let server = RunningServer::start(config, ServerOptions::with_concurrency(concurrency))
            .context("weir did not start")?;
        Ok(Weir { server })
    }

    /// Async wrapper around [`Weir::start`].
    pub async fn start_async(yaml: String, concurrency: usize) -> anyhow::Result<Weir> {
        tokio::task::spawn_blocking(move || Weir::start(&yaml, concurrency)).await?
    }

    /// The bound address of a listener.
    pub fn listener(&self, name: &str) -> anyhow::Result<SocketAddr> {
        self.server.listener_addr(name).with_context(|| format!("no listener `{name}`"))
    }

    /// The admin address.
    pub fn admin(&self) -> anyhow::Result<SocketAddr> {
        self.server.admin_addr().context("weir has no admin server")
    }

    /// The server.
    pub fn server(&self) -> &RunningServer {
        &self.server
    }
}
