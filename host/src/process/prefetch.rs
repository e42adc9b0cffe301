//! Remote modules fetched before a change takes the reload lock: a slow or silent module
//! server (up to `(retries + 1) × timeout` per module) then holds up only the change that
//! names it, not every other reload, ECDS or LDS update waiting for the lock. The change then
//! finds its modules in the cache; a fetch that fails is the change's failure, reported as the
//! change would have reported it, and nothing else waited for it.

use crate::config::Config;
use crate::process::{Generation, StartError};

/// Fetches the remote modules of `config` that `current` does not run (new plugins, or a new
/// URL or digest; all of them if the cache directory changes) into the module cache. Changes
/// fetch one at a time (as under the reload lock); changes without new modules never wait.
pub(crate) fn prefetch(config: &Config, current: &Generation) -> Result<(), StartError> {
    let sources = &config.module_sources;
    let prefixes = sources.prefixes(&config.plugins);
    let process = &current.process;
    let same_cache = current.config.module_sources.cache_directory == sources.cache_directory;
    let mut one_at_a_time = None;
    for plugin in &config.plugins {
        let Some(remote) = &plugin.remote else { continue };
        let running = current.config.plugin(&plugin.name).and_then(|p| p.remote.as_ref());
        if same_cache && running == Some(remote) {
            continue;
        }
        if one_at_a_time.is_none() {
            one_at_a_time = Some(process.remote_modules.prefetching());
        }
        process
            .remote_modules
            .obtain(&plugin.name, remote, sources, &prefixes, &process.stats)
            .map_err(|source| StartError::Module { plugin: plugin.name.clone(), source })?;
    }
    Ok(())
}
