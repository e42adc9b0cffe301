//! Paths whose readings select several rules, and the strictest outcome: the spellings of
//! `/admin` from issue 19 against the README's example rule and against `bypass_paths`.

use std::rc::Rc;

use serde_json::{Value, json};
use weir_sdk::rules::RequestKey;

use super::*;
use crate::sign::{self, claims};
use crate::test_config::{full, request, settings};

const NOW: u64 = 1_800_000_000;

/// Every spelling of `/admin` a server may serve as `/admin`.
const ADMIN: &[&str] = &[
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
];

/// The README's example: API keys, and only alice on `/admin`.
fn readme_example() -> Value {
    json!({
        "api_key": {"header": "x-api-key"},
        "consumers": [
            {"name": "alice", "api_keys": ["key-alice"]},
            {"name": "bob", "api_keys": ["key-bob"]}
        ],
        "policy": {"bypass_paths": ["/public/*", "/healthz"]},
        "rules": [{"match": {"path_prefix": "/admin"}, "config": {"policy": {"consumers": ["alice"]}}}]
    })
}

/// What the HTTP context decides: every policy the path's readings select.
fn judge_with(s: &Settings, path: &str, headers: &[(&str, &str)], remote: RemoteKeys<'_>) -> Outcome {
    let r = request(path, headers);
    let key = RequestKey { route: "default".into(), authority: r.authority().into(), path: r.path().into() };
    let policies: Vec<&Policy> = s.rules.select_each(&key).into_iter().map(|v| &v.policy).collect();
    decide_each(s, &policies, &r, NOW, remote)
}

fn judge(config: &Value, path: &str, headers: &[(&str, &str)]) -> Outcome {
    judge_with(&settings(config), path, headers, &|_| None)
}

fn status(outcome: &Outcome) -> u32 {
    match outcome {
        Outcome::Deny(d) => d.status,
        Outcome::Allow(_) | Outcome::Anonymous | Outcome::Bypass => 200,
        Outcome::Wait(_) => 0,
    }
}

#[test]
fn every_spelling_of_admin_gets_the_admin_decision() {
    let config = readme_example();
    for path in ADMIN {
        for path in [path.to_string(), format!("{path}?page=2")] {
            assert_eq!(status(&judge(&config, &path, &[("x-api-key", "key-bob")])), 403, "bob on {path}");
            let alice = judge(&config, &path, &[("x-api-key", "key-alice")]);
            assert!(
                matches!(&alice, Outcome::Allow(g) if g.consumer.as_deref() == Some("alice")),
                "alice on {path}: {alice:?}"
            );
            assert_eq!(status(&judge(&config, &path, &[])), 401, "no key on {path}");
        }
    }
    // `%2f` keeps Envoy from resolving the `..`, but a lenient server decodes it first.
    assert_eq!(status(&judge(&config, "/x/..%2fadmin", &[("x-api-key", "key-bob")])), 403);
    // Elsewhere bob is welcome, whatever the query says.
    for path in ["/orders", "/orders?next=/admin", "/x/..%2fadmins/../orders"] {
        assert_eq!(status(&judge(&config, path, &[("x-api-key", "key-bob")])), 200, "{path}");
    }
}

#[test]
fn no_spelling_of_admin_bypasses_as_public() {
    let config = readme_example();
    for path in ADMIN.iter().chain(&["/public/%2e%2e/admin", "/public/..;/admin", "/public;/admin"]) {
        let outcome = judge(&config, path, &[]);
        assert!(!matches!(outcome, Outcome::Bypass), "{path} bypassed");
        assert_eq!(status(&outcome), 401, "{path}");
    }
    for path in ["/public/a", "/public/a/b?x=1", "/public//a", "/public/a/../b", "/public/%61", "/healthz"] {
        assert!(matches!(judge(&config, path, &[]), Outcome::Bypass), "{path} should bypass");
    }
    for path in ["/public", "/healthz/x", "/x/../healthz/x", "/public%2f..%2fadmin"] {
        assert!(!matches!(judge(&config, path, &[]), Outcome::Bypass), "{path} must not bypass");
    }
}

#[test]
fn the_strictest_outcome_wins() {
    let allow = || {
        Outcome::Allow(authn::Grant {
            method: crate::config::Method::ApiKey,
            consumer: Some("a".into()),
            headers: Vec::new(),
            strip: None,
        })
    };
    let deny = || Outcome::Deny(denial::invalid(crate::config::Method::ApiKey, "r", "x"));
    assert!(matches!(stricter(Outcome::Bypass, Outcome::Anonymous), Outcome::Anonymous));
    assert!(matches!(stricter(Outcome::Anonymous, Outcome::Bypass), Outcome::Anonymous));
    assert!(matches!(stricter(Outcome::Bypass, allow()), Outcome::Allow(_)));
    assert!(matches!(stricter(allow(), deny()), Outcome::Deny(_)));
    assert!(matches!(stricter(deny(), Outcome::Bypass), Outcome::Deny(_)));
    let first = Outcome::Allow(authn::Grant {
        method: crate::config::Method::Basic,
        consumer: Some("first".into()),
        headers: Vec::new(),
        strip: None,
    });
    let kept = stricter(first, allow());
    assert!(matches!(kept, Outcome::Allow(g) if g.consumer.as_deref() == Some("first")));
    assert!(matches!(
        decide_each(&settings(&full()), &[], &request("/", &[]), NOW, &|_| None),
        Outcome::Deny(_)
    ));
}

#[test]
fn a_token_waiting_for_keys_is_judged_under_every_policy_it_waited_with() {
    let mut config = full();
    config["jwt"]["providers"][0].as_object_mut().unwrap().remove("local_jwks");
    config["jwt"]["providers"][0]["remote_jwks"] = json!({"cluster": "idp", "uri": "http://idp/jwks"});
    config["rules"] =
        json!([{"match": {"path_prefix": "/admin"}, "config": {"policy": {"consumers": ["alice"]}}}]);
    let s = settings(&config);
    let header = format!("Bearer {}", sign::rs256(&claims("user-1", NOW - 10, NOW + 3600)));
    let (keys, _) = crate::jwt::jwks::parse(sign::JWKS.as_bytes(), false).unwrap();
    let keys = Rc::new(keys);
    // The normalized reading selects the default policy, the decoded one the admin rule.
    let Outcome::Wait(waiting) =
        judge_with(&s, "/x/%252e%252e/admin", &[("authorization", &header)], &|_| None)
    else {
        panic!("should wait")
    };
    assert_eq!(waiting.policies.len(), 2);
    let resumed = authn::resume(&s, waiting, NOW, Some(keys.clone()));
    assert_eq!(status(&resumed), 403, "user-1 is not alice: {resumed:?}");
    // Once the keys are there, the same request is refused at once.
    let now = judge_with(&s, "/x/%252e%252e/admin", &[("authorization", &header)], &|_| Some(keys.clone()));
    assert_eq!(status(&now), 403);
    let Outcome::Wait(other) = judge_with(&s, "/orders", &[("authorization", &header)], &|_| None) else {
        panic!("should wait")
    };
    assert_eq!(other.policies.len(), 1);
    assert!(matches!(authn::resume(&s, other, NOW, Some(keys)), Outcome::Allow(_)));
}
