//! weir's own listener defaults for the Envoy bootstraps the suites generate: a listener
//! (as `weir.yaml` has it) is read with weir's config schema and written back with every
//! field it left unset at weir's default, so the Envoy connection manager beside it gets
//! weir's path handling, forwarding headers, header limits and timeouts (weir's defaults
//! differ from Envoy's where Envoy's are unsafe, e.g. path normalisation), not Envoy's.

use anyhow::Context;
use serde_json::Value;
use weir_host::config::ListenerConfig;
use weir_testkit::twin::ListenerDefaults;

/// [`ListenerDefaults`] from weir's config schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeirDefaults;

impl ListenerDefaults for WeirDefaults {
    fn complete(&self, listener: &Value) -> anyhow::Result<Value> {
        let config: ListenerConfig =
            serde_json::from_value(listener.clone()).context("the weir listener of a generated config")?;
        serde_json::to_value(&config).context("a weir listener with its defaults")
    }
}
