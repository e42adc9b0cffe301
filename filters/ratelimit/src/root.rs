//! The root context is the SDK's [`RulesRoot`] over [`Filter`]: rules of [`Settings`], the
//! [`Metrics`], and the descriptor tables prepared once a configuration is accepted; one
//! [`RateLimitHttp`] per request.

use std::rc::Rc;

use weir_sdk::prelude::*;
use weir_sdk::rules::Rules;

use crate::config::Mode;
use crate::http::RateLimitHttp;
use crate::keys;
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::store::SharedData;
use crate::table;

/// The filter, for [`RulesRoot`].
pub struct Filter;

impl RulesFilter for Filter {
    type Config = Settings;
    type Metrics = Metrics;
    type State = ();
    const NAME: &'static str = "ratelimit";

    fn define_metrics() -> Metrics {
        Metrics::define()
    }

    fn configured(rules: &Rules<Settings>) {
        let default = rules.default_config();
        log::info!(
            "ratelimit: configured ({:?} mode, {} descriptor bucket(s), {} rule(s))",
            default.mode,
            default.descriptors.len(),
            rules.len()
        );
        prepare_tables(rules);
    }

    fn http_context(rules: Rc<Rules<Settings>>, metrics: Metrics, _state: &()) -> Box<dyn HttpContext> {
        Box::new(RateLimitHttp::new(rules, metrics))
    }
}

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
