use serde_json::json;

use super::*;
use crate::authn::Waiting;
use crate::config::Policy;
use crate::credential::Location;
use crate::test_config::{full, settings};

fn remote_settings() -> Settings {
    let mut config = full();
    let provider = &mut config["jwt"]["providers"][0];
    provider.as_object_mut().unwrap().remove("local_jwks");
    provider["remote_jwks"] = json!({"cluster": "idp", "uri": "http://idp/jwks", "cache_duration_seconds": 10,
        "failed_refetch_ms": 500, "max_pending_requests": 2});
    settings(&config)
}

fn waiting() -> Waiting {
    Waiting {
        provider: 0,
        token: "t".into(),
        location: Location::Header("authorization".into()),
        policies: vec![Policy::default()],
        realm: "r".into(),
    }
}

fn keys() -> KeySet {
    crate::jwt::jwks::parse(crate::sign::JWKS.as_bytes(), false).unwrap().0
}

#[test]
fn fetch_schedule() {
    let mut cache = Cache::new(&remote_settings());
    assert_eq!(cache.due(0).len(), 1);
    cache.started(0, 7);
    assert!(cache.due(1).is_empty() && cache.owns(7) && !cache.owns(8));
    assert!(cache.completed(8, Ok(keys()), 1).is_none());
    let settled = cache.completed(7, Ok(keys()), 1000).unwrap();
    assert!(settled.keys.is_some() && settled.waiters.is_empty());
    assert!(cache.keys(0).is_some());
    assert!(cache.due(10_999).is_empty());
    assert_eq!(cache.due(11_000).len(), 1);
    // A failed refresh keeps the keys and retries after failed_refetch.
    cache.started(0, 9);
    let settled = cache.completed(9, Err("503".into()), 11_000).unwrap();
    assert!(settled.keys.is_some() && cache.keys(0).is_some());
    assert!(cache.due(11_499).is_empty());
    assert_eq!(cache.due(11_500).len(), 1);
}

#[test]
fn waiters_are_bounded_and_settled_by_the_next_attempt() {
    let mut cache = Cache::new(&remote_settings());
    cache.started(0, 1);
    assert!(cache.wait(10, waiting()).is_ok());
    assert!(cache.wait(11, waiting()).is_ok());
    assert!(cache.wait(12, waiting()).is_err());
    cache.forget(11);
    assert_eq!(cache.waiting(), 1);
    let settled = cache.completed(1, Err("timeout".into()), 0).unwrap();
    assert_eq!(settled.waiters.iter().map(|w| w.context_id).collect::<Vec<_>>(), [10]);
    assert!(settled.keys.is_none());
    assert!(cache.wait(13, waiting()).is_ok());
    let settled = cache.start_failed(0, 600).unwrap();
    assert_eq!((settled.waiters.len(), cache.due(1099).len(), cache.due(1100).len()), (1, 0, 1));
    assert!(cache.wait(14, waiting()).is_ok());
    assert_eq!(cache.take_waiters().len(), 1);
}

#[test]
fn inline_providers_have_no_state() {
    let cache = Cache::new(&settings(&full()));
    assert!(cache.due(0).is_empty() && cache.keys(0).is_none());
}
