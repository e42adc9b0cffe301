//! ALPN on a listener as Envoy negotiates it: a client that offers ALPN but none of the
//! listener's protocols is served without ALPN (and so speaks HTTP/1.1) instead of being
//! refused with rustls' `no_application_protocol` alert (RFC 7301's rule, which BoringSSL
//! under Envoy does not apply). Checked against Envoy 1.40 by the `tls-alpn` conformance case.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::server::ClientHello;

/// The listener's two configurations: as configured, and the same without ALPN.
pub(crate) struct AlpnConfigs {
    offered: Arc<ServerConfig>,
    without: Arc<ServerConfig>,
}

impl AlpnConfigs {
    /// `config` and its copy without ALPN protocols.
    pub(crate) fn new(config: ServerConfig) -> AlpnConfigs {
        let mut without = config.clone();
        without.alpn_protocols.clear();
        AlpnConfigs { offered: Arc::new(config), without: Arc::new(without) }
    }

    /// The configuration for a client saying `hello`: without ALPN when it offers protocols
    /// and none is the listener's.
    pub(crate) fn for_hello(&self, hello: &ClientHello<'_>) -> Arc<ServerConfig> {
        let ours = &self.offered.alpn_protocols;
        let agreed = hello.alpn().is_none_or(|mut theirs| theirs.any(|p| ours.iter().any(|o| o == p)));
        match agreed {
            true => self.offered.clone(),
            false => self.without.clone(),
        }
    }
}
