//! The root context: parses the configuration, fetches remote JWKS (at configuration, on its
//! tick, as callouts it owns), and resumes the requests that waited for them.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use weir_sdk::BufferType;
use weir_sdk::host;
use weir_sdk::prelude::*;

use crate::authn::{self, Outcome};
use crate::denial;
use crate::http::{self, Stream, now_secs};
use crate::jwt::JwtError;
use crate::jwt::jwks;
use crate::jwt::remote::{Cache, Settled, Waiter};
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::shared::Shared;

/// Tick period while a provider uses a remote JWKS (fetch scheduling granularity).
const TICK: Duration = Duration::from_millis(250);

/// Largest JWKS body accepted.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// The plugin's root context.
pub struct Root {
    id: u32,
    shared: Option<Rc<Shared>>,
}

impl Root {
    /// The root context `id`.
    pub fn new(id: u32) -> Root {
        Root { id, shared: None }
    }

    fn now_ms() -> u64 {
        host::now_nanos().map(|n| n / 1_000_000).unwrap_or(0)
    }

    /// Starts the fetches that are due.
    fn fetch_due(&self) {
        let Some(shared) = self.shared.clone() else { return };
        let now = Self::now_ms();
        let due = shared.cache.borrow().due(now);
        for (provider, source) in due {
            let mut headers: Vec<(&str, &str)> = vec![
                (":method", "GET"),
                (":scheme", source.scheme),
                (":path", &source.path),
                (":authority", &source.authority),
            ];
            headers.extend(source.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            match self.dispatch_http_call(&source.cluster, headers, None, vec![], source.timeout) {
                Ok(token) => shared.cache.borrow_mut().started(provider, token),
                Err(status) => {
                    shared.metrics.jwks_fetch_failed.inc();
                    shared.metrics.errors.inc();
                    log::warn!("auth: cannot fetch the JWKS from cluster {}: {status:?}", source.cluster);
                    let settled = shared.cache.borrow_mut().start_failed(provider, now);
                    self.settle(&shared, settled);
                }
            }
        }
    }

    /// Resumes (or refuses) the requests a fetch settled.
    fn settle(&self, shared: &Shared, settled: Option<Settled>) {
        let Some(settled) = settled else { return };
        if settled.waiters.is_empty() {
            return;
        }
        let now = now_secs();
        for Waiter { context_id, waiting } in settled.waiters {
            if weir_sdk::host::set_effective_context(context_id).is_err() {
                continue;
            }
            let outcome = match &now {
                Ok(now) => authn::resume(&shared.settings, waiting, *now, settled.keys.clone()),
                Err(e) => {
                    log::error!("auth: {e}");
                    Outcome::Deny(denial::bad_token(JwtError::JwksUnavailable, &waiting.realm))
                }
            };
            http::apply(shared, outcome, true);
        }
        if let Err(status) = weir_sdk::host::set_effective_context(self.id) {
            log::error!("auth: cannot return to the root context: {status:?}");
        }
    }
}

impl Context for Root {
    fn on_http_call_response(&mut self, token: u32, _headers: usize, body_size: usize, _trailers: usize) {
        let Some(shared) = self.shared.clone() else { return };
        if !shared.cache.borrow().owns(token) {
            return;
        }
        let status = host::header(MapType::HttpCallResponseHeaders, ":status")
            .ok()
            .flatten()
            .map(|v| v.to_string_lossy());
        let result = match status.as_deref() {
            Some("200") if body_size > MAX_JWKS_BYTES => {
                Err(format!("JWKS of {body_size} bytes is too large"))
            }
            Some("200") => match host::buffer(BufferType::HttpCallResponseBody, 0, body_size) {
                Ok(body) => jwks::parse(body.as_ref().map_or(&[][..], |b| b.as_bytes()), false),
                Err(s) => Err(format!("reading the JWKS body: {s:?}")),
            },
            Some(other) => Err(format!("JWKS fetch answered {other}")),
            None => Err("JWKS fetch failed (no response)".into()),
        };
        let result = match result {
            Ok((keys, notes)) => {
                shared.metrics.jwks_fetched.inc();
                for note in notes {
                    log::warn!("auth: fetched JWKS: {note}");
                }
                log::info!("auth: fetched a JWKS with {} keys", keys.keys.len());
                Ok(keys)
            }
            Err(e) => {
                shared.metrics.jwks_fetch_failed.inc();
                shared.metrics.errors.inc();
                log::warn!("auth: {e}; keeping the previous keys, retrying later");
                Err(e)
            }
        };
        let settled = shared.cache.borrow_mut().completed(token, result, Self::now_ms());
        self.settle(&shared, settled);
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        weir_sdk::host::follow_host_log_level();
        let bytes = match host::buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(bytes) => bytes.map(|b| b.0).unwrap_or_default(),
            Err(status) => {
                log::error!("auth: cannot read the plugin configuration: {status:?}");
                return false;
            }
        };
        let settings = match Settings::parse(&bytes) {
            Ok(settings) => settings,
            Err(e) => {
                log::error!("auth: invalid plugin configuration: {e}");
                return false;
            }
        };
        let remote = settings.has_remote_jwks();
        let shared = Rc::new(Shared {
            cache: RefCell::new(Cache::new(&settings)),
            settings,
            metrics: Metrics::define(),
        });
        if let Some(old) = self.shared.replace(shared.clone()) {
            // Requests still waiting under the old configuration are refused, not left hanging.
            let waiters = old.cache.borrow_mut().take_waiters();
            self.settle(&old, Some(Settled { provider: 0, waiters, keys: None }));
        }
        if remote {
            self.set_tick_period(TICK);
            self.fetch_due();
        }
        log::info!("auth: configured");
        true
    }

    fn on_tick(&mut self) {
        self.fetch_due();
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        let shared = self.shared.clone()?;
        Some(Box::new(Stream::new(context_id, shared)))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
