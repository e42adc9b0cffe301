//! The root context: parses the configuration in `on_configure` (refusing a bad one with a
//! log line) and defines the metrics; creates one [`RateLimitHttp`] per request.

use std::rc::Rc;

use weir_sdk::prelude::*;
use weir_sdk::rules::Rules;

use crate::config::Mode;
use crate::http::RateLimitHttp;
use crate::keys;
use crate::settings::Settings;
use crate::store::SharedData;
use crate::table;

/// The filter's counters (`wasmcustom.ratelimit.*` in the host's stats).
#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics {
    /// Requests let through (also after a failure that `on_contention: allow` or
    /// `failure_mode_deny: false` lets through).
    pub allowed: Counter,
    /// Requests denied (over the limit, or failures that deny).
    pub denied: Counter,
    /// Shared-data failures, unreadable buckets, RLS failures and timeouts.
    pub errors: Counter,
    /// Bucket updates given up after `max_cas_attempts` CAS conflicts.
    pub contention: Counter,
    /// Descriptor table slots taken over from a descriptor whose bucket was not full (the
    /// table of a value-less pattern is too small for its active values).
    pub evictions: Counter,
}

impl Metrics {
    /// Defines (or finds) the counters.
    pub fn define() -> Metrics {
        Metrics {
            allowed: Counter::define("ratelimit.allowed"),
            denied: Counter::define("ratelimit.denied"),
            errors: Counter::define("ratelimit.errors"),
            contention: Counter::define("ratelimit.contention"),
            evictions: Counter::define("ratelimit.descriptors_evicted"),
        }
    }
}

/// The root context.
#[derive(Default)]
pub struct Root {
    rules: Option<Rc<Rules<Settings>>>,
    metrics: Metrics,
}

impl Context for Root {}

/// Creates the slots of every descriptor table the configuration uses (see
/// [`crate::table`]), so requests claim them by compare-and-swap. Best effort: a failure is
/// logged, and requests then create the missing slots themselves.
fn prepare_tables(rules: &Rules<Settings>) {
    let mut done: Vec<String> = Vec::new();
    for config in rules.configs().filter(|c| c.mode == Mode::Local) {
        for pattern in config.descriptors.iter().filter(|p| p.is_dynamic()) {
            let slots = config.max_dynamic_descriptors;
            let prefix = keys::table_prefix(&config.scope, &pattern.token_bucket.spec(), slots, pattern);
            if done.contains(&prefix) {
                continue;
            }
            match table::prepare(&SharedData, &prefix, slots) {
                Ok(created) => {
                    log::debug!("ratelimit: descriptor table {prefix}*: {created} slot(s) created")
                }
                Err(status) => {
                    log::warn!("ratelimit: cannot create the descriptor table {prefix}*: {status:?}")
                }
            }
            done.push(prefix);
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        weir_sdk::host::follow_host_log_level();
        let bytes = match host::buffer(weir_sdk::BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(bytes) => bytes.unwrap_or_default().0,
            Err(status) => {
                log::error!("ratelimit: cannot read the plugin configuration: {status:?}");
                return false;
            }
        };
        match Rules::<Settings>::parse(&bytes) {
            Ok(rules) => {
                let default = rules.default_config();
                log::info!(
                    "ratelimit: configured ({:?} mode, {} descriptor bucket(s), {} rule(s))",
                    default.mode,
                    default.descriptors.len(),
                    rules.len()
                );
                prepare_tables(&rules);
                self.rules = Some(Rc::new(rules));
                self.metrics = Metrics::define();
                true
            }
            Err(e) => {
                log::error!("ratelimit: {e}");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let rules = self.rules.clone()?;
        Some(Box::new(RateLimitHttp::new(rules, self.metrics)))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
