//! A listener's TLS: the rustls configuration built from [`DownstreamTls`] and its material
//! (PEM files, SDS secrets: [`crate::material`]), rebuilt when the material changes (an
//! invalid new set is refused and the running one kept), and the handshake that yields what
//! the connection's exchanges see ([`TlsInfo`]), with ALPN chosen as Envoy does
//! ([`crate::alpn`]). Until every SDS secret it names has arrived,
//! a listener has no configuration and refuses handshakes (Envoy's listener is not ready).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use parking_lot::Mutex;
use rustls::ServerConfig;
use rustls::server::{Acceptor, ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;
use weir_http::TlsInfo;

use crate::alpn::AlpnConfigs;
use crate::certs::CertSet;
use crate::config::DownstreamTls;
use crate::error::TlsError;
use crate::material::{self, Gathered, Material};
use crate::secret::{SecretMap, Secrets};
use crate::{provider, summary, verify};

/// Sessions kept for resumption by id (TLS 1.2 and clients without tickets).
const SESSION_CACHE_ENTRIES: usize = 256;

/// Seconds between two warnings about handshakes refused for missing secrets.
const NOT_READY_LOG_EVERY: u64 = 10;

/// SHA-256 of a listener's material.
type Digest = [u8; 32];

struct Loaded {
    configs: AlpnConfigs,
    certs: Arc<CertSet>,
}

/// What a configuration is built from; the session keys and cache outlive rotations.
struct Recipe {
    settings: DownstreamTls,
    field: String,
    ticketer: Option<Arc<dyn ProducesTickets>>,
    cache: Arc<dyn StoresServerSessions>,
    /// Where SDS secrets are looked up (`None`: the settings may name none).
    secrets: Option<Arc<Secrets>>,
}

/// A listener's TLS, shared by every worker.
pub struct ServerTls {
    recipe: Recipe,
    current: ArcSwapOption<Loaded>,
    /// Digest of the material the running set was built from, and of the last refused set.
    seen: Mutex<(Option<Digest>, Option<Digest>)>,
    /// When a refused handshake was last logged (seconds since the epoch).
    not_ready_logged: AtomicU64,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("field", &self.recipe.field).finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Loads `settings` from files only (SDS names are refused); `field` (`admin.tls`)
    /// prefixes errors.
    pub fn new(settings: &DownstreamTls, field: &str) -> Result<ServerTls, TlsError> {
        if !settings.sds_names().is_empty() {
            return Err(TlsError::setting(
                field,
                "SDS secrets (`sds`, `trusted_ca_sds`) are only served on listeners; use files here",
            ));
        }
        ServerTls::build_new(settings, field, None)
    }

    /// Loads `settings`, looking SDS secrets up in `secrets`; `field` (`listeners[0].tls`)
    /// prefixes errors. A secret not there yet is not an error: the listener waits for it
    /// ([`is_ready`](ServerTls::is_ready)).
    pub fn with_secrets(
        settings: &DownstreamTls,
        field: &str,
        secrets: &Arc<Secrets>,
    ) -> Result<ServerTls, TlsError> {
        ServerTls::build_new(settings, field, Some(secrets.clone()))
    }

    fn build_new(
        settings: &DownstreamTls,
        field: &str,
        secrets: Option<Arc<Secrets>>,
    ) -> Result<ServerTls, TlsError> {
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
        if settings.certificates.is_empty() {
            return Err(TlsError::setting(
                format!("{field}.certificates"),
                "at least one certificate is needed",
            ));
        }
        let recipe =
            Recipe { settings: settings.clone(), field: field.to_string(), ticketer, cache, secrets };
        let tls = ServerTls {
            current: ArcSwapOption::empty(),
            seen: Mutex::new((None, None)),
            not_ready_logged: AtomicU64::new(0),
            recipe,
        };
        match tls.recipe.gather(&tls.recipe.table())? {
            Gathered::Ready(material) => {
                tls.current.store(Some(Arc::new(tls.recipe.build(&material)?)));
                tls.seen.lock().0 = Some(material.digest);
            }
            Gathered::Missing(names) => {
                tracing::info!(tls = %field, secrets = ?names, "waiting for SDS secrets: handshakes are refused until they arrive");
            }
        }
        Ok(tls)
    }

    /// Whether it has certificates to serve (every SDS secret it names has arrived).
    pub fn is_ready(&self) -> bool {
        self.current.load().is_some()
    }

    /// The SDS secrets it names.
    pub fn sds_names(&self) -> Vec<String> {
        self.recipe.settings.sds_names().into_iter().map(str::to_string).collect()
    }

    /// Re-reads the files and looks the secrets up again: `Ok(true)` when a changed, valid set
    /// now serves new handshakes, `Ok(false)` when nothing changed (or the same refused set is
    /// still there, or a secret is still missing), `Err` with the reason when a changed set is
    /// refused (the running one keeps serving).
    pub fn reload(&self) -> Result<bool, TlsError> {
        let Gathered::Ready(material) = self.recipe.gather(&self.recipe.table())? else { return Ok(false) };
        let mut seen = self.seen.lock();
        if seen.0 == Some(material.digest) || seen.1 == Some(material.digest) {
            return Ok(false);
        }
        match self.recipe.build(&material) {
            Ok(loaded) => {
                self.current.store(Some(Arc::new(loaded)));
                *seen = (Some(material.digest), None);
                Ok(true)
            }
            Err(e) => {
                seen.1 = Some(material.digest);
                Err(e)
            }
        }
    }

    /// Whether the listener would accept `secrets` in place of the current table: builds what
    /// they would give without using it. The reason when it would refuse them.
    pub fn check_with(&self, secrets: &SecretMap) -> Result<(), TlsError> {
        match self.recipe.gather(secrets)? {
            Gathered::Missing(_) => Ok(()),
            Gathered::Ready(material) if self.seen.lock().0 == Some(material.digest) => Ok(()),
            Gathered::Ready(material) => self.recipe.build(&material).map(|_| ()),
        }
    }

    /// Checks the material every `interval` on a thread of its own for as long as `tls` is
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

    /// The handshake on `io`; the stream and what its exchanges see. Refused (an error, the
    /// connection closed) while an SDS secret is missing.
    pub async fn accept<IO>(&self, io: IO) -> std::io::Result<(TlsStream<IO>, TlsInfo)>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let Some(loaded) = self.current.load_full() else {
            return Err(self.not_ready());
        };
        let start = LazyConfigAcceptor::new(Acceptor::default(), io).await?;
        let config = loaded.configs.for_hello(&start.client_hello());
        let stream = start.into_stream(config).await?;
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

    fn not_ready(&self) -> std::io::Error {
        let names = self.sds_names();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let last = self.not_ready_logged.load(Ordering::Relaxed);
        if now >= last + NOT_READY_LOG_EVERY
            && self.not_ready_logged.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            tracing::warn!(tls = %self.recipe.field, secrets = ?names,
                           "TLS handshake refused: the listener's SDS secrets have not arrived");
        }
        std::io::Error::other(format!("{}: not ready, waiting for SDS secrets {names:?}", self.recipe.field))
    }
}

impl Recipe {
    /// The secrets table now (empty without one).
    fn table(&self) -> Arc<SecretMap> {
        self.secrets.as_ref().map_or_else(Default::default, |s| s.current())
    }

    fn gather(&self, secrets: &SecretMap) -> Result<Gathered, TlsError> {
        material::gather(&self.settings, secrets, &self.field)
    }

    fn build(&self, material: &Material) -> Result<Loaded, TlsError> {
        let s = &self.settings;
        let provider = provider::provider(&s.cipher_suites, &self.field)?;
        let versions = provider::versions(s.min_version, s.max_version, &self.field)?;
        let certs = Arc::new(CertSet::load(&material.certs, &provider, &self.field)?);
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| TlsError::setting(format!("{}.cipher_suites", self.field), e.to_string()))?;
        let builder = match (&s.client_certificates, material.roots()?) {
            (Some(clients), Some(roots)) => builder.with_client_cert_verifier(verify::client_verifier(
                clients,
                roots,
                &provider,
                &self.field,
            )?),
            _ => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(certs.clone());
        config.alpn_protocols = s.alpn_protocols.iter().map(|p| p.as_bytes().to_vec()).collect();
        config.session_storage = self.cache.clone();
        match &self.ticketer {
            Some(t) => config.ticketer = t.clone(),
            None => config.send_tls13_tickets = 0,
        }
        Ok(Loaded { configs: AlpnConfigs::new(config), certs })
    }
}
