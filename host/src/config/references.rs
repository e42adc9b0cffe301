//! What one part of the config names of another: the plugins a listener or route runs and
//! the clusters it sends to must exist (a cluster may also come from CDS later).

use super::{Config, ConfigError};

/// Checks that every plugin of `names` (at `field`) is in `plugins`.
pub(super) fn check_filters(config: &Config, names: &[String], field: &str) -> Result<(), ConfigError> {
    for (i, name) in names.iter().enumerate() {
        if config.plugin(name).is_none() {
            return Err(ConfigError::invalid(
                format!("{field}[{i}]"),
                format!("unknown plugin `{name}` (not in `plugins`)"),
            ));
        }
    }
    Ok(())
}

/// Whether a route may name `cluster`: one of `clusters`, or any when clusters also come from
/// CDS (`xds.cds`; 503 until it arrives).
pub(super) fn known_cluster(config: &Config, cluster: &str) -> bool {
    config.cluster(cluster).is_some() || config.xds.as_ref().is_some_and(|x| x.cds)
}

pub(super) fn check_weighted(
    config: &Config,
    weighted: &super::WeightedClusters,
    at: &str,
) -> Result<(), ConfigError> {
    if weighted.clusters.is_empty() {
        return Err(ConfigError::invalid(format!("{at}.clusters"), "at least one cluster is required"));
    }
    for (i, c) in weighted.clusters.iter().enumerate() {
        if !known_cluster(config, &c.name) {
            return Err(ConfigError::invalid(
                format!("{at}.clusters[{i}].name"),
                format!("unknown cluster `{}` (not in `clusters`)", c.name),
            ));
        }
    }
    let total: u64 = weighted.clusters.iter().map(|c| u64::from(c.weight)).sum();
    if total == 0 {
        return Err(ConfigError::invalid(format!("{at}.clusters"), "the weights add up to 0"));
    }
    Ok(())
}
