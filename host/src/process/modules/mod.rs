//! Plugin modules fetched over HTTP(S) or pulled from an OCI registry (a plugin's `remote`;
//! ECDS `vm_config.code.remote`):
//! taken from the cache directory when a file there has the digest asked for (no network),
//! else fetched with a timeout and retries, verified against the digest, and kept in the
//! cache. A module whose digest does not match is never kept nor used. Every outcome is
//! counted (`weir_module_fetch_total{result}`) and the last one per plugin is shown in
//! `GET /plugins`.
//!
//! Fetching happens while a configuration is prepared, on the thread preparing it (never a
//! worker), on a thread of its own with its own event loop: a failed fetch fails the
//! preparation, so the running configuration, and its module, stay.

mod cache;
mod fetch;
mod layer;
mod oci;
mod outcome;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use weir_plugin_spec::RemoteModule;
use weir_tls::{ClientTls, UpstreamTls};

use crate::config::ModuleSources;
use crate::stats::Stats;

pub use cache::CacheDir;
use cache::PrivateDir;
pub use fetch::{FetchError, Fetcher};
pub use outcome::{LastFetch, ModuleError, Outcome};

/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The process's remote modules: the default cache directory (private, created on first
/// use, removed at exit) and the last fetch per plugin.
#[derive(Debug, Default)]
pub struct RemoteModules {
    private: Mutex<Option<PrivateDir>>,
    last: Mutex<BTreeMap<String, LastFetch>>,
    /// Held by a change fetching its modules before the reload lock: such fetches run one at
    /// a time, as they did under the reload lock, so concurrent changes cannot make weir hold
    /// many downloads at once.
    prefetching: Mutex<()>,
}

impl RemoteModules {
    /// The local file holding `plugin`'s module `remote`: cached, or fetched now (a redirect
    /// to another origin only under `prefixes`).
    pub fn obtain(
        &self,
        plugin: &str,
        remote: &RemoteModule,
        sources: &ModuleSources,
        prefixes: &[String],
        stats: &Stats,
    ) -> Result<PathBuf, ModuleError> {
        let digest = remote.digest();
        let setup = |reason: String| ModuleError::Setup { url: remote.url.clone(), reason };
        let cache = match &sources.cache_directory {
            Some(dir) => CacheDir::open(dir),
            None => self.private_dir(),
        }
        .map_err(|e| setup(format!("module cache directory: {e}")))?;
        let (outcome, attempts, result) = match cache.lookup(&digest, sources.max_module_bytes) {
            Some(path) => (Outcome::Cached, 0, Ok(path)),
            None => {
                let (attempts, fetched) = self.fetch(remote, sources, prefixes);
                match fetched.and_then(|bytes| verified(remote, &digest, bytes)) {
                    Ok(bytes) => match cache.store(&digest, &bytes, sources.max_cache_bytes) {
                        Ok(path) => (Outcome::Fetched, attempts, Ok(path)),
                        Err(e) => (Outcome::Failed, attempts, Err(setup(format!("module cache: {e}")))),
                    },
                    Err(e @ ModuleError::DigestMismatch { .. }) => {
                        (Outcome::DigestMismatch, attempts, Err(e))
                    }
                    Err(e) => (Outcome::Failed, attempts, Err(e)),
                }
            }
        };
        let mut last = self.last.lock();
        // A cache hit for the module a change has just fetched (its modules are fetched before
        // it applies, then found here) is that fetch, already counted and recorded.
        let just_fetched = last
            .get(plugin)
            .is_some_and(|l| l.url == remote.url && l.sha256 == digest && l.result == Outcome::Fetched);
        if just_fetched && outcome == Outcome::Cached {
            return result;
        }
        stats.module_fetch(outcome.label());
        let record = LastFetch {
            url: remote.url.clone(),
            sha256: digest,
            result: outcome,
            error: result.as_ref().err().map(ToString::to_string),
            at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            attempts,
        };
        match &result {
            Ok(path) => {
                tracing::info!(plugin, url = %remote.url, result = outcome.label(), path = %path.display(), "module obtained")
            }
            Err(e) => tracing::warn!(plugin, result = outcome.label(), "{e}"),
        }
        last.insert(plugin.to_string(), record);
        result
    }

    /// Taken by a change before it fetches modules outside the reload lock (one at a time).
    pub fn prefetching(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.prefetching.lock()
    }

    /// The last fetch of `plugin`'s module, if it has a remote one.
    pub fn last(&self, plugin: &str) -> Option<LastFetch> {
        self.last.lock().get(plugin).cloned()
    }

    /// Fetches with retries; the attempts made and the bytes or the last failure.
    fn fetch(
        &self,
        remote: &RemoteModule,
        sources: &ModuleSources,
        prefixes: &[String],
    ) -> (u32, Result<bytes::Bytes, ModuleError>) {
        let settings = UpstreamTls {
            trusted_ca: sources.trusted_ca.clone(),
            alpn_protocols: Some(vec!["http/1.1".into()]),
            ..UpstreamTls::default()
        };
        let tls = match ClientTls::new(&settings, false, "module_sources.trusted_ca") {
            Ok(tls) => tls,
            Err(e) => return (0, Err(ModuleError::Setup { url: remote.url.clone(), reason: e.to_string() })),
        };
        let mut backoff = Duration::from_millis(200);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let fetcher = Fetcher { tls: &tls, prefixes };
            let got = on_own_thread(fetch::within(remote.timeout, pull(remote, sources, fetcher)));
            match got {
                Ok(bytes) => return (attempt, Ok(bytes)),
                Err(last) if attempt > remote.retries || !last.worth_retrying() => {
                    return (
                        attempt,
                        Err(ModuleError::Fetch { url: remote.url.clone(), attempts: attempt, last }),
                    );
                }
                Err(e) => {
                    tracing::debug!(url = %remote.url, attempt, "module fetch failed, retrying: {e}");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn private_dir(&self) -> std::io::Result<CacheDir> {
        let mut private = self.private.lock();
        if let Some(dir) = &*private {
            return CacheDir::open(&dir.0);
        }
        let dir = PrivateDir::create(&std::env::temp_dir())?;
        let cache = CacheDir::open(&dir.0);
        *private = Some(dir);
        cache
    }
}

/// One attempt: a plain GET, or an OCI pull (`http` for `module_sources.insecure_registries`).
async fn pull(
    remote: &RemoteModule,
    sources: &ModuleSources,
    fetcher: Fetcher<'_>,
) -> Result<bytes::Bytes, FetchError> {
    if remote.url.starts_with("oci://") {
        let image = oci::OciRef::parse(&remote.url).map_err(FetchError::Url)?;
        let scheme = if sources.insecure_registries.contains(&image.registry) { "http" } else { "https" };
        return oci::pull(&image, scheme, sources.max_module_bytes, fetcher).await;
    }
    fetch::get(&remote.url, "application/wasm, */*", sources.max_module_bytes, fetcher).await
}

fn verified(remote: &RemoteModule, digest: &str, bytes: bytes::Bytes) -> Result<bytes::Bytes, ModuleError> {
    let got = hex::encode(Sha256::digest(&bytes));
    if got != digest {
        return Err(ModuleError::DigestMismatch { url: remote.url.clone(), want: digest.to_string(), got });
    }
    Ok(bytes)
}

/// Runs `future` to completion on a new thread with an event loop of its own: the caller may
/// be a thread of another event loop (a blocking task), where one cannot be started.
fn on_own_thread<F>(future: F) -> Result<bytes::Bytes, FetchError>
where
    F: std::future::Future<Output = Result<bytes::Bytes, FetchError>> + Send,
{
    std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| FetchError::Transport(format!("cannot start the fetch's event loop: {e}")))?;
            runtime.block_on(future)
        });
        run.join().unwrap_or_else(|_| Err(FetchError::Transport("the fetch thread failed".into())))
    })
}
