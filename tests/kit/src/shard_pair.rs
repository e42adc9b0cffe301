//! The checked-in shuffle-shard pair — `envoy-configs/shuffle-shard.yaml` (Envoy with the
//! rtds-bridge service) and `examples/shuffle-shard/weir.yaml` — templated with `weir-cp`'s
//! xDS address, the upstream, the ports to listen on and absolute module paths: what the
//! end-to-end tests and the demo run, so they run what users read.

use std::net::SocketAddr;

use anyhow::bail;

use crate::paths;

/// Where the templated pair points.
#[derive(Debug, Clone, Copy)]
pub struct ShardPair {
    /// `weir-cp`'s xDS address.
    pub xds: SocketAddr,
    /// The upstream every shard cluster points at.
    pub upstream: SocketAddr,
    /// Envoy's listener port (0: ephemeral).
    pub envoy_listener: u16,
    /// Envoy's admin port (0: ephemeral).
    pub envoy_admin: u16,
    /// weir's listener port (0: ephemeral).
    pub weir_listener: u16,
    /// weir's admin port (0: ephemeral).
    pub weir_admin: u16,
}

/// Replaces every `from` in `text`, failing when there is none (a changed checked-in config
/// must break loudly, not leave a placeholder in place).
fn replace(text: &str, from: &str, to: &str) -> anyhow::Result<String> {
    if !text.contains(from) {
        bail!("the checked-in config no longer contains `{from}`: update tests/kit/src/shard_pair.rs");
    }
    Ok(text.replace(from, to))
}

impl ShardPair {
    /// Both proxies on ephemeral ports.
    pub fn ephemeral(xds: SocketAddr, upstream: SocketAddr) -> ShardPair {
        ShardPair { xds, upstream, envoy_listener: 0, envoy_admin: 0, weir_listener: 0, weir_admin: 0 }
    }

    /// `envoy-configs/shuffle-shard.yaml`, templated.
    pub fn envoy_yaml(&self) -> anyhow::Result<String> {
        let text = std::fs::read_to_string(paths::workspace().join("envoy-configs/shuffle-shard.yaml"))?;
        let filters = format!("filename: {}/", paths::filters_dir().display());
        let text = replace(&text, "filename: target/filters/", &filters)?;
        let text = replace(&text, "port_value: 18000", &format!("port_value: {}", self.xds.port()))?;
        let text = replace(&text, "port_value: 8080", &format!("port_value: {}", self.upstream.port()))?;
        let text = replace(&text, "port_value: 10000", &format!("port_value: {}", self.envoy_listener))?;
        replace(&text, "port_value: 9901", &format!("port_value: {}", self.envoy_admin))
    }

    /// `examples/shuffle-shard/weir.yaml`, templated.
    pub fn weir_yaml(&self) -> anyhow::Result<String> {
        let text = std::fs::read_to_string(paths::workspace().join("examples/shuffle-shard/weir.yaml"))?;
        let module = paths::filter("shuffle-shard")?;
        let text = replace(&text, "../../target/filters/shuffle-shard.wasm", &module.display().to_string())?;
        let text = replace(&text, "127.0.0.1:18000", &self.xds.to_string())?;
        let text = replace(&text, "127.0.0.1:8080", &self.upstream.to_string())?;
        let text = replace(&text, "127.0.0.1:10001", &format!("127.0.0.1:{}", self.weir_listener))?;
        replace(&text, "127.0.0.1:9902", &format!("127.0.0.1:{}", self.weir_admin))
    }
}
