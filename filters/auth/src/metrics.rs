//! The filter's counters (`wasmcustom.auth.*` in Envoy's and weir's stats).

use weir_sdk::metrics::Counter;

/// Counter handles, defined once per configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics {
    /// `auth.allowed`: authenticated and allowed requests, forwarded.
    pub allowed: Counter,
    /// `auth.denied`: requests refused (401 or 403).
    pub denied: Counter,
    /// `auth.unauthorized`: 401 replies (missing or invalid credentials).
    pub unauthorized: Counter,
    /// `auth.forbidden`: 403 replies (identity not allowed, token audience).
    pub forbidden: Counter,
    /// `auth.bypassed`: requests let through by `bypass`, `bypass_paths` or CORS preflight.
    pub bypassed: Counter,
    /// `auth.anonymous`: requests without credential let through by `allow_missing`.
    pub anonymous: Counter,
    /// `auth.errors`: host calls that failed (requests then get 503) and failed JWKS fetches.
    pub errors: Counter,
    /// `auth.jwks_fetched`: successful JWKS fetches (every worker VM fetches on its own).
    pub jwks_fetched: Counter,
    /// `auth.jwks_fetch_failed`: failed JWKS fetches.
    pub jwks_fetch_failed: Counter,
    /// `auth.waited`: requests paused until their provider's first JWKS arrived.
    pub waited: Counter,
}

impl Metrics {
    /// Defines every counter.
    pub fn define() -> Metrics {
        Metrics {
            allowed: Counter::define("auth.allowed"),
            denied: Counter::define("auth.denied"),
            unauthorized: Counter::define("auth.unauthorized"),
            forbidden: Counter::define("auth.forbidden"),
            bypassed: Counter::define("auth.bypassed"),
            anonymous: Counter::define("auth.anonymous"),
            errors: Counter::define("auth.errors"),
            jwks_fetched: Counter::define("auth.jwks_fetched"),
            jwks_fetch_failed: Counter::define("auth.jwks_fetch_failed"),
            waited: Counter::define("auth.waited"),
        }
    }
}
