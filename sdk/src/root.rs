//! A ready-made root context for the most common filter shape: a typed configuration parsed
//! once in `on_configure`, checked, and shared by every HTTP context of the VM.
//!
//! ```ignore
//! use weir_sdk::prelude::*;
//!
//! #[derive(serde::Deserialize)]
//! struct Config { header: String }
//!
//! impl FilterConfig for Config {
//!     fn validate(&self) -> Result<(), String> {
//!         if self.header.is_empty() { Err("`header` must not be empty".into()) } else { Ok(()) }
//!     }
//! }
//!
//! struct Filter { config: std::rc::Rc<Config> }
//! impl Context for Filter {}
//! impl HttpContext for Filter {}
//!
//! weir_sdk::main! {{
//!     weir_sdk::set_root_context(|_| ConfigRoot::boxed("my-filter", |config| Filter { config }));
//! }}
//! ```
//!
//! A configuration that does not parse or validate is refused (`on_configure` returns
//! `false`, so Envoy and weir both refuse the plugin) with one error log line naming the
//! filter and the field.

use std::rc::Rc;

use crate::traits::{Context, HttpContext, RootContext};
use crate::types::ContextType;
use serde::de::DeserializeOwned;

use crate::config::parse_config;
use crate::host;

/// A filter configuration: JSON-deserializable, with optional checks beyond its types.
pub trait FilterConfig: DeserializeOwned + 'static {
    /// Checks that types cannot express; `Err(reason)` refuses the configuration.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A root context that parses `C` from the plugin configuration and creates one `H` per
/// HTTP stream from it.
pub struct ConfigRoot<C, H> {
    name: &'static str,
    config: Option<Rc<C>>,
    make: fn(Rc<C>) -> H,
}

impl<C: FilterConfig, H: HttpContext + 'static> ConfigRoot<C, H> {
    /// The root context of filter `name` (used in log lines), creating stream contexts with
    /// `make`.
    pub fn boxed(name: &'static str, make: fn(Rc<C>) -> H) -> Box<dyn RootContext> {
        Box::new(ConfigRoot { name, config: None, make })
    }

    fn load(&self) -> Result<C, String> {
        let bytes = host::plugin_configuration().map_err(|s| format!("reading it: {s:?}"))?;
        let config =
            parse_config::<C>(bytes.as_ref().map_or(&[], |v| v.as_bytes())).map_err(|e| e.to_string())?;
        config.validate().map_err(|reason| format!("invalid plugin configuration: {reason}"))?;
        Ok(config)
    }
}

impl<C, H> Context for ConfigRoot<C, H> {}

impl<C: FilterConfig, H: HttpContext + 'static> RootContext for ConfigRoot<C, H> {
    fn on_configure(&mut self, _size: usize) -> bool {
        host::follow_host_log_level();
        match self.load() {
            Ok(config) => {
                self.config = Some(Rc::new(config));
                true
            }
            Err(e) => {
                log::error!("{}: {e}", self.name);
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let config = self.config.clone()?;
        Some(Box::new((self.make)(config)))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// A filter configured by [`Rules`](crate::rules::Rules) (a default configuration and
/// per-route overrides) with counters defined once configured: the shape of weir's product
/// filters. [`RulesRoot`] does the root context's work for it.
pub trait RulesFilter: 'static {
    /// The per-rule configuration.
    type Config: DeserializeOwned + 'static;
    /// The filter's counters, defined when a configuration is accepted.
    type Metrics: Copy + Default + 'static;
    /// What the root keeps for every stream beyond rules and metrics (caches, rate-limited
    /// warnings); `()` for none.
    type State: Default + 'static;
    /// The filter's name, at the start of its log lines.
    const NAME: &'static str;

    /// Defines (or finds) the counters.
    fn define_metrics() -> Self::Metrics;

    /// Runs once a configuration is accepted (log it, prepare shared data).
    fn configured(_rules: &crate::rules::Rules<Self::Config>) {}

    /// The stream context of one request.
    fn http_context(
        rules: Rc<crate::rules::Rules<Self::Config>>,
        metrics: Self::Metrics,
        state: &Self::State,
    ) -> Box<dyn HttpContext>;
}

/// The root context of a [`RulesFilter`]: parses the rules in `on_configure` (a bad
/// configuration is refused with one log line naming the rule and field), defines the
/// counters, and creates one stream context per request.
pub struct RulesRoot<F: RulesFilter> {
    rules: Option<Rc<crate::rules::Rules<F::Config>>>,
    metrics: F::Metrics,
    state: F::State,
}

impl<F: RulesFilter> Default for RulesRoot<F> {
    fn default() -> Self {
        RulesRoot { rules: None, metrics: F::Metrics::default(), state: F::State::default() }
    }
}

impl<F: RulesFilter> RulesRoot<F> {
    /// A boxed root context, for `set_root_context`.
    pub fn boxed() -> Box<dyn RootContext> {
        Box::new(RulesRoot::<F>::default())
    }
}

impl<F: RulesFilter> Context for RulesRoot<F> {}

impl<F: RulesFilter> RootContext for RulesRoot<F> {
    fn on_configure(&mut self, _size: usize) -> bool {
        host::follow_host_log_level();
        let bytes = match host::plugin_configuration() {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(status) => {
                log::error!("{}: cannot read the plugin configuration: {status:?}", F::NAME);
                return false;
            }
        };
        match crate::rules::Rules::<F::Config>::parse(bytes.as_bytes()) {
            Ok(rules) => {
                F::configured(&rules);
                self.rules = Some(Rc::new(rules));
                self.metrics = F::define_metrics();
                true
            }
            Err(e) => {
                log::error!("{}: {e}", F::NAME);
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let rules = self.rules.clone()?;
        Some(F::http_context(rules, self.metrics, &self.state))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
