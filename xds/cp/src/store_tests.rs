use std::collections::BTreeSet;

use envoy_types::pb::envoy::service::runtime::v3::Runtime;
use serde_json::json;

use super::*;
use weir_xds::convert::{struct_to_json, unpack};

#[test]
fn set_unset_bump_versions_only_on_change() {
    let store = Store::in_memory();
    let mut changes = store.subscribe();
    let c = store.set_value("rtds", "a.b", json!(5)).unwrap();
    assert_eq!(c, Change { changed: true, version: 1 });
    assert!(changes.has_changed().unwrap());
    changes.borrow_and_update();
    assert_eq!(store.set_value("rtds", "a.b", json!(5)).unwrap(), Change { changed: false, version: 1 });
    assert!(!changes.has_changed().unwrap());
    assert_eq!(store.set_value("rtds", "a.c", json!("x")).unwrap().version, 2);
    assert_eq!(store.unset_value("rtds", "a.b").unwrap().version, 3);
    assert!(matches!(store.unset_value("rtds", "a.b"), Err(StoreError::NotFound(_))));
    assert!(matches!(store.unset_value("nope", "a.b"), Err(StoreError::NotFound(_))));
    assert!(matches!(store.set_value("rtds", "a", json!(null)), Err(StoreError::InvalidValue { .. })));
    assert!(matches!(store.set_value("bad layer", "a", json!(1)), Err(StoreError::InvalidName { .. })));
    assert_eq!(store.version(Kind::Rtds), 3);
}

#[test]
fn apply_checked_unchecked_and_same_values() {
    let store = Store::in_memory();
    store.apply_layer("rtds", json!({"a": {"b": 1}}), ApplyMode::Replace, true).unwrap();
    // Same values in another shape: no change.
    let c = store.apply_layer("rtds", json!({"a.b": 1}), ApplyMode::Replace, true).unwrap();
    assert!(!c.changed);
    let err = store.apply_layer("rtds", json!({"a": [1]}), ApplyMode::Replace, true).unwrap_err();
    assert!(err.to_string().contains("`a`"), "{err}");
    let c = store.apply_layer("rtds", json!({"a": [1]}), ApplyMode::Replace, false).unwrap();
    assert_eq!(c.version, 2);
    store.apply_layer("rtds", json!({"c": 3}), ApplyMode::Merge, true).unwrap();
    let state = store.snapshot();
    assert_eq!(state.runtime.resources["rtds"].value, json!({"a": [1], "c": 3}));
    store.delete_layer("rtds").unwrap();
    assert!(store.delete_layer("rtds").is_err());
}

#[test]
fn select_packs_the_subscribed_resources() {
    let store = Store::in_memory();
    store.set_value("one", "k", json!(1)).unwrap();
    store.set_value("two", "k", json!(2)).unwrap();
    let all = store.select(Kind::Rtds, &BTreeSet::new(), None);
    assert_eq!(all.version, 2);
    assert_eq!(all.stamps, vec![("one".to_string(), 1), ("two".to_string(), 2)]);
    let names: BTreeSet<String> = ["two".to_string(), "missing".to_string()].into();
    let some = store.select(Kind::Rtds, &names, None);
    assert_eq!(some.resources.len(), 1);
    let runtime = unpack::<Runtime>(&some.resources[0]).unwrap();
    assert_eq!(runtime.name, "two");
    assert_eq!(struct_to_json(&runtime.layer.unwrap()), json!({"k": 2}));
}

#[test]
fn ecds_resources() {
    let store = Store::in_memory();
    let config: EcdsConfig = serde_json::from_value(json!({"wasm": "/a.wasm", "vm_id": "v"})).unwrap();
    assert_eq!(store.put_ecds("auth", config.clone()).unwrap().version, 1);
    assert!(!store.put_ecds("auth", config).unwrap().changed);
    let selection = store.select(Kind::Ecds, &BTreeSet::new(), None);
    assert_eq!(selection.resources[0].type_url, weir_xds::types::EXTENSION_CONFIG);
    assert_eq!(store.delete_ecds("auth").unwrap().version, 2);
    assert!(matches!(store.delete_ecds("auth"), Err(StoreError::NotFound(_))));
}

#[test]
fn persists_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = Store::open(Some(&path), &["rtds".to_string()]).unwrap();
    assert_eq!(store.version(Kind::Rtds), 1);
    store.set_value("rtds", "a", json!(1)).unwrap();
    drop(store);
    let store = Store::open(Some(&path), &["rtds".to_string()]).unwrap();
    assert_eq!(store.version(Kind::Rtds), 2);
    assert_eq!(store.snapshot().runtime.resources["rtds"].value, json!({"a": 1}));
    std::fs::write(&path, "garbage").unwrap();
    let err = Store::open(Some(&path), &[]).unwrap_err().to_string();
    assert!(err.contains("state.json"), "{err}");
}

#[test]
fn a_failed_write_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = Store::open(Some(&path), &[]).unwrap();
    std::fs::remove_dir_all(dir.path()).unwrap();
    let err = store.set_value("rtds", "a", json!(1)).unwrap_err();
    assert!(matches!(err, StoreError::Persist { .. }), "{err}");
    assert_eq!(store.version(Kind::Rtds), 0);
}

#[test]
fn secrets_put_checked_unchecked_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let pki = weir_tls::test_pki::Pki::new(dir.path(), "st").unwrap();
    let (a, b) = (pki.server("a", &["a.test"]).unwrap(), pki.server("b", &["b.test"]).unwrap());
    let text = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    let store = Store::in_memory();
    let good = SecretConfig::certificate(text(&a.certificate_chain), text(&a.private_key));
    assert_eq!(store.put_secret("web", good.clone(), true).unwrap(), Change { changed: true, version: 1 });
    assert_eq!(store.put_secret("web", good, true).unwrap(), Change { changed: false, version: 1 });
    let mismatch = SecretConfig::certificate(text(&a.certificate_chain), text(&b.private_key));
    assert!(matches!(store.put_secret("web", mismatch.clone(), true), Err(StoreError::InvalidSecret { .. })));
    assert_eq!(store.put_secret("odd", mismatch, false).unwrap().version, 2);
    let shapeless =
        SecretConfig { trusted_ca: Some("x".into()), ..SecretConfig::certificate("c".into(), "k".into()) };
    assert!(store.put_secret("odd", shapeless, false).is_err());
    let names: BTreeSet<String> = ["web".to_string()].into();
    let selection = store.select(Kind::Sds, &names, None);
    assert_eq!((selection.version, selection.stamps), (2, vec![("web".to_string(), 1)]));
    assert_eq!(store.delete_secret("web").unwrap().version, 3);
    assert!(matches!(store.delete_secret("web"), Err(StoreError::NotFound(_))));
    assert_eq!(store.version(Kind::Sds), 3);
}
