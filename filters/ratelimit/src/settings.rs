//! A checked configuration, cheap to clone into each request. Deserializing one validates the
//! whole [`Config`], so [`weir_sdk::rules::Rules`] checks every rule the same way and a bad
//! rule fails `on_configure` with its position.

use std::ops::Deref;
use std::rc::Rc;

use serde::Deserialize;

use crate::config::{Action, Config, MAX_DYNAMIC_DESCRIPTORS, Mode};

/// A validated [`Config`].
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Config")]
pub struct Settings(Rc<Config>);

impl Deref for Settings {
    type Target = Config;

    fn deref(&self) -> &Config {
        &self.0
    }
}

impl TryFrom<Config> for Settings {
    type Error = String;

    fn try_from(config: Config) -> Result<Settings, String> {
        check(config).map(|c| Settings(Rc::new(c)))
    }
}

/// Checks what the types cannot, and lower-cases header names.
pub fn check(mut config: Config) -> Result<Config, String> {
    if config.max_cas_attempts < 2 {
        return Err(format!(
            "max_cas_attempts is {}; it must be at least 2 (creating a bucket takes one attempt)",
            config.max_cas_attempts
        ));
    }
    for (name, status) in [("status", config.status)]
        .into_iter()
        .chain(config.global.as_ref().map(|g| ("global.status_on_error", g.status_on_error)))
    {
        if !(200..=599).contains(&status) {
            return Err(format!("{name} {status} is not an HTTP status between 200 and 599"));
        }
    }
    config.consumer_header = config.consumer_header.trim().to_ascii_lowercase();
    if config.consumer_header.is_empty() {
        return Err("consumer_header must not be empty".into());
    }
    for (i, limit) in config.rate_limits.iter_mut().enumerate() {
        if limit.actions.is_empty() {
            return Err(format!("rate_limits[{i}].actions must not be empty"));
        }
        for action in &mut limit.actions {
            if let Action::RequestHeaders(a) = action {
                a.header_name = a.header_name.trim().to_ascii_lowercase();
                if a.header_name.is_empty() {
                    return Err(format!("rate_limits[{i}]: request_headers.header_name must not be empty"));
                }
            }
        }
    }
    if !(1..=MAX_DYNAMIC_DESCRIPTORS).contains(&config.max_dynamic_descriptors) {
        return Err(format!(
            "max_dynamic_descriptors is {}; it must be between 1 and {MAX_DYNAMIC_DESCRIPTORS} (the slots \
             of each value-less descriptor pattern's table)",
            config.max_dynamic_descriptors
        ));
    }
    for (i, d) in config.descriptors.iter().enumerate() {
        if d.entries.is_empty() {
            return Err(format!("descriptors[{i}].entries must not be empty"));
        }
    }
    match config.mode {
        Mode::Local => {
            if config.token_bucket.is_none() && config.descriptors.is_empty() {
                return Err("local mode needs `token_bucket` or `descriptors`".into());
            }
            if config.global.is_some() {
                return Err("`global` is set but `mode` is local; set \"mode\": \"global\"".into());
            }
        }
        Mode::Global => {
            let Some(global) = &config.global else {
                return Err("global mode needs `global` (domain, cluster)".into());
            };
            if global.domain.is_empty() || global.cluster.is_empty() {
                return Err("global.domain and global.cluster must not be empty".into());
            }
            if global.timeout.as_nanos() < 1_000_000 {
                return Err(format!(
                    "global.timeout {} is shorter than the 1 ms hosts can honour",
                    global.timeout
                ));
            }
            if config.rate_limits.is_empty() {
                return Err("global mode needs `rate_limits` (the descriptors sent to the service)".into());
            }
            if config.token_bucket.is_some() || !config.descriptors.is_empty() {
                return Err(
                    "token_bucket and descriptors are local-mode fields; the service holds global limits"
                        .into(),
                );
            }
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use weir_sdk::rules::Rules;

    use super::*;

    fn parse(json: &str) -> Result<Settings, String> {
        serde_json::from_str::<Settings>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_minimal_local_config_gets_envoy_defaults() {
        let s = parse(r#"{"token_bucket": {"max_tokens": 2, "fill_interval": "1h"}}"#).unwrap();
        let spec = s.token_bucket.unwrap().spec();
        assert_eq!((spec.max_tokens, spec.tokens_per_fill, spec.fill_interval_ns), (2, 1, 3_600_000_000_000));
        assert!(s.always_consume_default_token_bucket);
        assert_eq!(s.status, 429);
        assert_eq!(s.consumer_header, "x-consumer-id");
        assert_eq!(s.max_cas_attempts, 10);
        assert_eq!(s.max_dynamic_descriptors, 20, "Envoy's default");
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let cases = [
            (r#"{}"#, "needs `token_bucket` or `descriptors`"),
            (
                r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1s"}, "max_dynamic_descriptors": 0}"#,
                "max_dynamic_descriptors is 0",
            ),
            (
                r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1s"}, "max_dynamic_descriptors": 100001}"#,
                "between 1 and 100000",
            ),
            (r#"{"token_bucket": {"max_tokens": 0, "fill_interval": "1s"}}"#, "nonzero"),
            (r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "0s"}}"#, "greater than zero"),
            (
                r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1s"}, "max_cas_attempts": 1}"#,
                "at least 2",
            ),
            (
                r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1s"}, "status": 42}"#,
                "not an HTTP status",
            ),
            (
                r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1s"}, "on_contention": "maybe"}"#,
                "unknown variant",
            ),
            (r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1s"}, "tokens": 3}"#, "unknown field"),
            (
                r#"{"descriptors": [{"entries": [], "token_bucket": {"max_tokens": 1, "fill_interval": "1s"}}]}"#,
                "entries",
            ),
            (
                r#"{"mode": "global", "rate_limits": [{"actions": [{"remote_address": {}}]}]}"#,
                "needs `global`",
            ),
            (r#"{"mode": "global", "global": {"domain": "d", "cluster": "rls"}}"#, "needs `rate_limits`"),
            (
                r#"{"mode": "global", "global": {"domain": "d", "cluster": "rls", "timeout": "500us"}}"#,
                "1 ms",
            ),
            (
                r#"{"mode": "global", "global": {"domain": "d", "cluster": "rls"}, "rate_limits": [{"actions": [{"remote_address": {}}]}],
                   "token_bucket": {"max_tokens": 1, "fill_interval": "1s"}}"#,
                "local-mode fields",
            ),
            (
                r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1s"}, "global": {"domain": "d", "cluster": "c"}}"#,
                "mode",
            ),
        ];
        for (json, want) in cases {
            let err = parse(json).unwrap_err();
            assert!(err.contains(want), "{json}: {err}");
        }
    }

    #[test]
    fn global_mode_defaults_follow_envoy() {
        let s = parse(
            r#"{"mode": "global", "global": {"domain": "edge", "cluster": "rls"},
                "rate_limits": [{"actions": [{"request_headers": {"header_name": "X-User", "descriptor_key": "user"}}]}]}"#,
        )
        .unwrap();
        let global = s.global.as_ref().unwrap();
        assert_eq!(global.timeout.as_nanos(), 20_000_000);
        assert!(!global.failure_mode_deny);
        assert_eq!(global.status_on_error, 500);
        match &s.rate_limits[0].actions[0] {
            Action::RequestHeaders(a) => assert_eq!(a.header_name, "x-user"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rules_are_checked_and_name_their_position() {
        let rules: Rules<Settings> = Rules::parse(
            br#"{"token_bucket": {"max_tokens": 100, "fill_interval": "1s"},
                 "rules": [{"match": {"path_prefix": "/admin"}, "config": {"token_bucket": {"max_tokens": 5}}}]}"#,
        )
        .unwrap();
        assert_eq!(rules.len(), 1);
        let err = Rules::<Settings>::parse(
            br#"{"token_bucket": {"max_tokens": 100, "fill_interval": "1s"},
                 "rules": [{"match": {"route": "r"}, "config": {"max_cas_attempts": 0}}]}"#,
        )
        .unwrap_err();
        assert!(err.message.starts_with("rules[0].config") && err.message.contains("at least 2"), "{err}");
    }
}
