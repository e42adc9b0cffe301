//! What the root context shares with its HTTP contexts: the checked configuration, the
//! remote JWKS state and the counters.

use std::cell::RefCell;

use crate::jwt::remote::Cache;
use crate::metrics::Metrics;
use crate::settings::Settings;

/// What the root context shares with its HTTP contexts.
pub struct Shared {
    /// The configuration.
    pub settings: Settings,
    /// Remote JWKS state.
    pub cache: RefCell<Cache>,
    /// Counters.
    pub metrics: Metrics,
}
