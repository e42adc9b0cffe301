//! Local mode natively: bucket selection, isolation, and the decision when CAS attempts run
//! out or shared data fails (against the fake store).

use weir_sdk::Status;

use crate::actions::Descriptor;
use crate::local::{Report, Verdict, buckets, decide};
use crate::settings::Settings;
use crate::store::fake::FakeStore;

const T0: u64 = 1_700_000_000_000_000_000;

fn settings(json: &str) -> Settings {
    serde_json::from_str(json).unwrap()
}

fn d(pairs: &[(&str, &str)]) -> Descriptor {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const DESCRIPTORS: &str = r#"{
    "token_bucket": {"max_tokens": 100, "fill_interval": "1s"},
    "always_consume_default_token_bucket": false,
    "descriptors": [
        {"entries": [{"key": "user", "value": "vip"}], "token_bucket": {"max_tokens": 50, "fill_interval": "1s"}},
        {"entries": [{"key": "user"}], "token_bucket": {"max_tokens": 2, "fill_interval": "1h"}}
    ]
}"#;

#[test]
fn descriptors_pick_their_bucket_and_wildcards_split_by_value() {
    let s = settings(DESCRIPTORS);
    let vip = buckets(&s, &[d(&[("user", "vip")])]);
    assert_eq!(vip.len(), 1);
    assert_eq!(vip[0].spec.max_tokens, 50);
    let alice = buckets(&s, &[d(&[("user", "alice")])]);
    let bob = buckets(&s, &[d(&[("user", "bob")])]);
    assert_eq!(alice[0].spec.max_tokens, 2);
    // Value-less pattern: one table for all users, a slot each.
    assert_eq!(alice[0].key, bob[0].key);
    assert_ne!(alice[0].slot, bob[0].slot);
    assert_eq!(alice[0].slot.as_ref().map(|s| s.slots), Some(20));
    // No match (other key, or more entries): the default bucket.
    let other = buckets(&s, &[d(&[("team", "x")]), d(&[("user", "a"), ("path", "/")])]);
    assert_eq!(other.iter().map(|b| b.spec.max_tokens).collect::<Vec<_>>(), [100]);
    // Nothing at all: the default bucket.
    assert_eq!(buckets(&s, &[]).len(), 1);
}

#[test]
fn the_default_bucket_is_also_taken_unless_disabled_and_duplicates_collapse() {
    let s = settings(&DESCRIPTORS.replace(r#""always_consume_default_token_bucket": false,"#, ""));
    let both = buckets(&s, &[d(&[("user", "alice")]), d(&[("user", "alice")])]);
    assert_eq!(both.iter().map(|b| b.spec.max_tokens).collect::<Vec<_>>(), [2, 100]);
}

#[test]
fn buckets_are_isolated_from_each_other() {
    let s = settings(DESCRIPTORS);
    let store = FakeStore::default();
    let alice = buckets(&s, &[d(&[("user", "alice")])]);
    let bob = buckets(&s, &[d(&[("user", "bob")])]);
    let outcomes: Vec<bool> = (0..3).map(|_| decide(&store, &s, &alice, T0).allowed).collect();
    assert_eq!(outcomes, [true, true, false]);
    assert!(decide(&store, &s, &bob, T0).allowed, "bob has his own tokens");
    // An hour later alice has one token again.
    assert!(decide(&store, &s, &alice, T0 + 3_600_000_000_000).allowed);
    assert!(!decide(&store, &s, &alice, T0 + 3_600_000_000_000).allowed);
}

#[test]
fn the_first_empty_bucket_denies_and_is_reported() {
    let s = settings(
        r#"{"token_bucket": {"max_tokens": 3, "fill_interval": "10s"},
        "descriptors": [{"entries": [{"key": "k"}], "token_bucket": {"max_tokens": 1, "fill_interval": "1h"}}]}"#,
    );
    let store = FakeStore::default();
    let b = buckets(&s, &[d(&[("k", "v")])]);
    let first = decide(&store, &s, &b, T0);
    assert!(first.allowed);
    // Allowed: the bucket with the fewest tokens left is reported.
    assert_eq!(first.report, Some(Report { limit: 1, remaining: 0, reset_ns: 3_600_000_000_000 }));
    let second = decide(&store, &s, &b, T0 + 1);
    assert_eq!((second.allowed, second.report.map(|r| r.limit)), (false, Some(1)));
    // The default bucket after the denying one was not touched: 2 tokens left.
    let default_only = buckets(&s, &[]);
    let third = decide(&store, &s, &default_only, T0 + 2);
    assert_eq!(third.report.map(|r| r.remaining), Some(1));
}

fn contended(on_contention: &str) -> (Verdict, Verdict) {
    let s = settings(&format!(
        r#"{{"token_bucket": {{"max_tokens": 5, "fill_interval": "1s"}}, "on_contention": "{on_contention}", "max_cas_attempts": 3}}"#
    ));
    let store = FakeStore::default();
    let b = buckets(&s, &[]);
    assert!(decide(&store, &s, &b, T0).allowed);
    // Other writers win every attempt.
    store.conflicts.set(u32::MAX);
    let exhausted = decide(&store, &s, &b, T0);
    store.conflicts.set(0);
    store.fail_with.set(Some(Status::InternalFailure));
    let failed = decide(&store, &s, &b, T0);
    (exhausted, failed)
}

#[test]
fn cas_exhaustion_allows_when_configured_to() {
    let (exhausted, failed) = contended("allow");
    assert_eq!(exhausted, Verdict { allowed: true, report: None, contention: 1, errors: 0, evictions: 0 });
    assert_eq!(failed, Verdict { allowed: true, report: None, contention: 0, errors: 1, evictions: 0 });
}

#[test]
fn cas_exhaustion_denies_when_configured_to() {
    let (exhausted, failed) = contended("deny");
    assert!(!exhausted.allowed);
    assert_eq!(exhausted.contention, 1);
    assert_eq!(exhausted.report, Some(Report { limit: 5, remaining: 0, reset_ns: 1_000_000_000 }));
    assert_eq!((failed.allowed, failed.errors), (false, 1));
}

#[test]
fn a_few_conflicts_within_the_attempts_change_nothing() {
    let s = settings(
        r#"{"token_bucket": {"max_tokens": 2, "fill_interval": "1h"}, "on_contention": "deny", "max_cas_attempts": 4}"#,
    );
    let store = FakeStore::default();
    let b = buckets(&s, &[]);
    store.conflicts.set(2);
    let v = decide(&store, &s, &b, T0);
    assert_eq!((v.allowed, v.contention), (true, 0));
    store.conflicts.set(3);
    assert!(decide(&store, &s, &b, T0).allowed);
    assert!(!decide(&store, &s, &b, T0).allowed, "exactly max_tokens went through");
}

fn plan(s: &Settings) -> crate::local::Plan<'_> {
    crate::local::Plan { config: s, buckets: buckets(s, &[]) }
}

/// The plans of every configuration a path's readings select, as the HTTP context builds them.
fn plans<'a>(rules: &'a weir_sdk::rules::Rules<Settings>, path: &str) -> Vec<crate::local::Plan<'a>> {
    let key = weir_sdk::rules::RequestKey { route: "r".into(), authority: "a".into(), path: path.into() };
    rules.select_each(&key).into_iter().map(plan).collect()
}

#[test]
fn every_spelling_of_a_path_is_charged_to_its_rule() {
    let rules: weir_sdk::rules::Rules<Settings> = weir_sdk::rules::Rules::parse(
        br#"{"token_bucket": {"max_tokens": 100, "fill_interval": "1h"},
             "rules": [{"match": {"path_prefix": "/admin"}, "config": {"token_bucket": {"max_tokens": 2}}}]}"#,
    )
    .unwrap();
    let store = FakeStore::default();
    let charge = |path: &str| crate::local::decide_each(&store, &plans(&rules, path), T0).0.allowed;
    assert!(charge("/admin") && charge("/x/%252e%252e/admin"), "two tokens");
    for path in [
        "/admin",
        "//admin",
        "/./admin",
        "/%61dmin",
        "/x/../admin",
        "/public/../admin",
        "/x/..;/admin",
        "/x/%252e%252e/admin",
        "/x%2f..%2fadmin",
        "/admin;jsessionid=1",
    ] {
        assert!(!charge(path), "{path} escaped the /admin limit");
    }
    assert!(charge("/orders"), "other paths use the default bucket");
}

#[test]
fn several_plans_charge_each_bucket_once_and_the_first_denial_decides() {
    let shared = settings(r#"{"token_bucket": {"max_tokens": 3, "fill_interval": "1h"}}"#);
    let strict = settings(r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1h"}, "status": 503}"#);
    let store = FakeStore::default();
    // The same bucket selected twice is charged once.
    let twice = [plan(&shared), plan(&shared)];
    let (verdict, _) = crate::local::decide_each(&store, &twice, T0);
    assert_eq!(verdict.report.map(|r| r.remaining), Some(2));
    // The strict plan denies on its second request; the report is its bucket's.
    let both = [plan(&shared), plan(&strict)];
    assert!(crate::local::decide_each(&store, &both, T0).0.allowed);
    let (denied, reported) = crate::local::decide_each(&store, &both, T0);
    assert_eq!((denied.allowed, reported, denied.report.map(|r| r.limit)), (false, 1, Some(1)));
    assert_eq!(both[reported].config.status, 503);
}
