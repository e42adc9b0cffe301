//! Remote modules fetched before a change takes the reload lock: a slow or silent module
//! server (up to `(retries + 1) × timeout` per module) then holds up only the change that
//! names it, not every other reload, ECDS or LDS update waiting for the lock. The change then
//! finds its modules in the cache; a fetch that fails is the change's failure, reported as the
//! change would have reported it, and nothing else waited for it.

use crate::config::Config;
use crate::process::{Generation, StartError};

/// Fetches the remote modules of `config` that `current` does not run (new plugins, or a new
/// URL or digest) into the module cache.
pub(crate) fn prefetch(config: &Config, current: &Generation) -> Result<(), StartError> {
    let sources = &config.module_sources;
    let prefixes = sources.prefixes(&config.plugins);
    let process = &current.process;
    for plugin in &config.plugins {
        let Some(remote) = &plugin.remote else { continue };
        let running = current.config.plugin(&plugin.name).and_then(|p| p.remote.as_ref());
        if running == Some(remote) {
            continue;
        }
        process
            .remote_modules
            .obtain(&plugin.name, remote, sources, &prefixes, &process.stats)
            .map_err(|source| StartError::Module { plugin: plugin.name.clone(), source })?;
    }
    Ok(())
}
