//! The proxy-wasm side: the root context is the SDK's [`RulesRoot`] over [`Filter`]; one HTTP
//! context per request reads the customer id and the runtime values, computes the shard (pure
//! code in [`crate::shard`]) and sets the routing and observability headers.

use std::cell::Cell;
use std::rc::Rc;

use weir_sdk::prelude::*;

use crate::cache::ShardCache;
use crate::config::{Config, OnMissingCustomer};
use crate::hash;
use crate::headers::{ShardHeaders, hashed_path, shard_headers};
use crate::metrics::Metrics;
use crate::params::{Resolved, resolve};

/// The root context: parses the configuration and hands it to each request.
/// The filter, for [`RulesRoot`]: rules of [`Config`], [`Metrics`], and per-VM state shared
/// by its streams.
pub struct Filter;

/// What every stream of the VM shares.
#[derive(Default)]
pub struct State {
    /// The runtime-values version whose invalid values were last logged.
    warned: Rc<Cell<Option<u64>>>,
    /// Shards computed before.
    shards: Rc<ShardCache>,
}

impl RulesFilter for Filter {
    type Config = Config;
    type Metrics = Metrics;
    type State = State;
    const NAME: &'static str = "shuffle-shard";

    fn define_metrics() -> Metrics {
        Metrics::define()
    }

    fn http_context(rules: Rc<Rules<Config>>, metrics: Metrics, state: &State) -> Box<dyn HttpContext> {
        Box::new(ShuffleShard {
            rules,
            metrics,
            warned: state.warned.clone(),
            shards: state.shards.clone(),
            response: None,
        })
    }
}

struct ShuffleShard {
    rules: Rc<Rules<Config>>,
    metrics: Metrics,
    warned: Rc<Cell<Option<u64>>>,
    shards: Rc<ShardCache>,
    /// Headers to copy onto the response (when `response_headers`).
    response: Option<ShardHeaders>,
}

impl Context for ShuffleShard {}

impl HttpContext for ShuffleShard {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        self.metrics.requests.inc();
        let rules = self.rules.clone();
        let config = rules.select_current();
        let customer = match self.customer_or_policy(config) {
            Ok(customer) => customer,
            Err(reply) => return reply,
        };
        let snapshot = runtime::snapshot();
        let resolved = resolve(snapshot.as_deref(), std::str::from_utf8(&customer).ok(), config);
        self.account(&resolved, snapshot.as_ref().map(|s| s.version));
        let path = self.request_header(":path").unwrap_or_default();
        let path = hashed_path(&path, config.hash_query);
        // `shard::assign`, with the shard from the per-worker cache.
        let customer_key = hash::customer_key(&customer, config.seed);
        let cached = self.shards.get(customer_key, resolved.total, resolved.size);
        let Some(host) = cached.shard.pick_path(customer_key, path) else {
            // Unreachable: `resolve` never gives total 0. Refuse rather than route unchecked.
            return self.fail(config, "no host to choose from");
        };
        let headers = shard_headers(config, host, &cached.hosts, &resolved);
        for (name, value) in headers.iter() {
            if let Err(status) = host::set_header(MapType::HttpRequestHeaders, name, value.as_bytes()) {
                log::error!("shuffle-shard: cannot set request header {name}: {status:?}");
                if Rc::ptr_eq(name, &config.cluster_header) {
                    return self.fail(config, "cannot set the routing header");
                }
                self.metrics.errors.inc();
            }
        }
        if config.response_headers {
            self.response = Some(headers);
        }
        self.metrics.routed.inc();
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let Some(headers) = self.response.take() else { return Action::Continue };
        for (name, value) in headers.iter() {
            if let Err(status) = host::set_header(MapType::HttpResponseHeaders, name, value.as_bytes()) {
                log::warn!("shuffle-shard: cannot set response header {name}: {status:?}");
                self.metrics.errors.inc();
            }
        }
        Action::Continue
    }
}

impl ShuffleShard {
    /// The customer id, or what `on_missing_customer` says without one: the default
    /// customer, or a 400 reply (`Err`, the action to return).
    fn customer_or_policy(&self, config: &Config) -> Result<Vec<u8>, Action> {
        if let Some(id) = self.customer_id(config) {
            return Ok(id);
        }
        match (config.on_missing_customer, &config.default_customer) {
            (OnMissingCustomer::Default, Some(default)) => {
                self.metrics.defaulted.inc();
                Ok(default.as_bytes().to_vec())
            }
            _ => {
                self.metrics.rejected.inc();
                let message = format!("the {} header is required", config.header);
                Err(json_error(400, "missing_customer_id", &message, &[]))
            }
        }
    }

    /// The customer id (surrounding whitespace removed), `None` when absent or empty.
    fn customer_id(&self, config: &Config) -> Option<Vec<u8>> {
        let value = self.request_header(&config.header)?;
        let trimmed = value.trim_ascii();
        if trimmed.is_empty() {
            None
        } else if trimmed.len() == value.len() {
            Some(value)
        } else {
            Some(trimmed.to_vec())
        }
    }

    /// A request header's bytes; a refused hostcall is logged, counted and read as absent.
    fn request_header(&self, name: &str) -> Option<Vec<u8>> {
        match host::header(MapType::HttpRequestHeaders, name) {
            Ok(value) => value.map(|v| v.0),
            Err(status) => {
                log::warn!("shuffle-shard: cannot read request header {name}: {status:?}");
                self.metrics.errors.inc();
                None
            }
        }
    }

    /// Counts invalid and clamped runtime values; logs invalid ones once per snapshot version.
    fn account(&self, resolved: &Resolved, version: Option<u64>) {
        if resolved.clamped {
            self.metrics.clamped.inc();
        }
        if resolved.invalid.is_empty() {
            return;
        }
        self.metrics.invalid_runtime.add(resolved.invalid.len() as u64);
        if self.warned.get() != version {
            self.warned.set(version);
            log::warn!(
                "shuffle-shard: invalid runtime value(s) {:?} in runtime version {version:?}; using the next \
                 source (counted in shuffle_shard.invalid_runtime, logged once per version)",
                resolved.invalid
            );
        }
    }

    /// Answers 500 when the request cannot be routed as configured.
    fn fail(&self, config: &Config, why: &str) -> Action {
        self.metrics.errors.inc();
        log::error!("shuffle-shard: {why} ({})", config.cluster_header);
        json_error(500, "shard_routing_failed", why, &[])
    }
}
