//! A listener's TLS: the rustls configuration built from [`DownstreamTls`], rebuilt when its
//! files change (an invalid new set is refused and the running one kept), and the handshake
//! that yields what the connection's exchanges see ([`TlsInfo`]).

use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use rustls::ServerConfig;
use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use weir_http::TlsInfo;

use crate::certs::CertSet;
use crate::config::DownstreamTls;
use crate::error::TlsError;
use crate::{pem, provider, summary, verify};

/// Sessions kept for resumption by id (TLS 1.2 and clients without tickets).
const SESSION_CACHE_ENTRIES: usize = 256;

struct Loaded {
    config: Arc<ServerConfig>,
    certs: Arc<CertSet>,
}

/// What a configuration is built from; the session keys and cache outlive rotations.
struct Recipe {
    settings: DownstreamTls,
    field: String,
    ticketer: Option<Arc<dyn ProducesTickets>>,
    cache: Arc<dyn StoresServerSessions>,
}

/// A listener's TLS, shared by every worker.
pub struct ServerTls {
    recipe: Recipe,
    current: ArcSwap<Loaded>,
    /// Digest of the files the running set was built from, and of the last refused set.
    seen: Mutex<([u8; 32], Option<[u8; 32]>)>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("field", &self.recipe.field).finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Loads `settings`; `field` (`listeners[0].tls`) prefixes errors.
    pub fn new(settings: &DownstreamTls, field: &str) -> Result<ServerTls, TlsError> {
        let ticketer = match settings.session_resumption {
            true => Some(
                rustls::crypto::aws_lc_rs::Ticketer::new()
                    .map_err(|e| TlsError::setting(format!("{field}.session_resumption"), e.to_string()))?,
            ),
            false => None,
        };
        let cache: Arc<dyn StoresServerSessions> = match settings.session_resumption {
            true => ServerSessionMemoryCache::new(SESSION_CACHE_ENTRIES),
            false => Arc::new(rustls::server::NoServerSessionStorage {}),
        };
        if let Some(other) = settings.alpn_protocols.iter().find(|p| !matches!(p.as_str(), "h2" | "http/1.1"))
        {
            return Err(TlsError::setting(
                format!("{field}.alpn_protocols"),
                format!("{other:?} is not served (weir speaks h2 and http/1.1)"),
            ));
        }
        let digest = fingerprint(settings)?;
        let recipe = Recipe { settings: settings.clone(), field: field.to_string(), ticketer, cache };
        let current = ArcSwap::from_pointee(recipe.build()?);
        Ok(ServerTls { recipe, current, seen: Mutex::new((digest, None)) })
    }

    /// Re-reads the files: `Ok(true)` when a changed, valid set now serves new handshakes,
    /// `Ok(false)` when nothing changed (or the same refused set is still there), `Err` with
    /// the reason when a changed set is refused (the running one keeps serving).
    pub fn reload(&self) -> Result<bool, TlsError> {
        let digest = fingerprint(&self.recipe.settings)?;
        let mut seen = self.seen.lock();
        if seen.0 == digest || seen.1 == Some(digest) {
            return Ok(false);
        }
        match self.recipe.build() {
            Ok(loaded) => {
                self.current.store(Arc::new(loaded));
                *seen = (digest, None);
                Ok(true)
            }
            Err(e) => {
                seen.1 = Some(digest);
                Err(e)
            }
        }
    }

    /// Checks the files every `interval` on a thread of its own for as long as `tls` is
    /// alive (a new configuration generation builds and watches its own), logging each
    /// rotation and each refused set once. `0s`: not watched.
    pub fn spawn_watcher(tls: &Arc<ServerTls>, interval: Duration) {
        if interval.is_zero() {
            return;
        }
        let weak: Weak<ServerTls> = Arc::downgrade(tls);
        let spawned = std::thread::Builder::new().name("weir-tls-watch".into()).spawn(move || {
            loop {
                std::thread::sleep(interval);
                let Some(tls) = weak.upgrade() else { return };
                match tls.reload() {
                    Ok(true) => tracing::info!(tls = %tls.recipe.field, "certificates changed: new handshakes use them"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(
                        tls = %tls.recipe.field,
                        "changed certificates refused, the previous ones keep serving: {e}"
                    ),
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(tls = %tls.recipe.field, "certificate files not watched: {e}");
        }
    }

    /// The handshake on `io`; the stream and what its exchanges see.
    pub async fn accept<IO>(&self, io: IO) -> std::io::Result<(TlsStream<IO>, TlsInfo)>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let loaded = self.current.load_full();
        let stream = tokio_rustls::TlsAcceptor::from(loaded.config.clone()).accept(io).await?;
        let (_, conn) = stream.get_ref();
        let server_name = conn.server_name().map(str::to_string);
        let info = TlsInfo {
            version: provider::version_name(conn.protocol_version()),
            local: loaded.certs.summary(server_name.as_deref()),
            peer: conn.peer_certificates().and_then(|c| c.first()).and_then(|c| summary::summarize(c)),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            server_name,
        };
        Ok((stream, info))
    }
}

impl Recipe {
    fn build(&self) -> Result<Loaded, TlsError> {
        let s = &self.settings;
        let provider = provider::provider(&s.cipher_suites, &self.field)?;
        let versions = provider::versions(s.min_version, s.max_version, &self.field)?;
        let certs = Arc::new(CertSet::load(&s.certificates, &provider, &self.field)?);
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| TlsError::setting(format!("{}.cipher_suites", self.field), e.to_string()))?;
        let builder = match &s.client_certificates {
            Some(clients) => {
                builder.with_client_cert_verifier(verify::client_verifier(clients, &provider, &self.field)?)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(certs.clone());
        config.alpn_protocols = s.alpn_protocols.iter().map(|p| p.as_bytes().to_vec()).collect();
        config.session_storage = self.cache.clone();
        match &self.ticketer {
            Some(t) => config.ticketer = t.clone(),
            None => config.send_tls13_tickets = 0,
        }
        Ok(Loaded { config: Arc::new(config), certs })
    }
}

/// SHA-256 over every file the settings name, in order.
fn fingerprint(settings: &DownstreamTls) -> Result<[u8; 32], TlsError> {
    let mut hash = Sha256::new();
    for f in &settings.certificates {
        hash.update(pem::read(&f.certificate_chain)?);
        hash.update(pem::read(&f.private_key)?);
    }
    if let Some(c) = &settings.client_certificates {
        hash.update(pem::read(&c.trusted_ca)?);
    }
    Ok(hash.finalize().into())
}
