//! weir for tests: started in-process from YAML text with ephemeral ports.

use std::net::SocketAddr;

use anyhow::Context;
use weir_host::config::Config;
use weir_host::server::{RunningServer, ServerOptions};

/// A running in-process weir; stops on drop.
pub struct Weir {
    server: RunningServer,
}

impl Weir {
    /// Parses `yaml` and starts weir with `concurrency` workers. Blocking: call from a blocking
    /// context (or `spawn_blocking`).
    pub fn start(yaml: &str, concurrency: usize) -> anyhow::Result<Weir> {
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
