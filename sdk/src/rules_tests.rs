//! Rule selection: overrides, merging, errors, and paths matched on their readings.

#![allow(clippy::unwrap_used)]

use super::*;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Limits {
    limit: u32,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
}

fn key(route: &str, authority: &str, path: &str) -> RequestKey {
    RequestKey { route: route.into(), authority: authority.into(), path: path.into() }
}

#[test]
fn rules_override_the_default_and_merge_objects() {
    let rules: Rules<Limits> = Rules::parse(
        br#"{"limit": 100, "headers": {"a": "1"}, "rules": [
            {"match": {"route": "admin"}, "config": {"limit": 5}},
            {"match": {"authority": "Api.Example.com", "path_prefix": "/batch"}, "config": {"headers": {"b": "2"}}}
        ]}"#,
    )
    .unwrap();
    assert_eq!(rules.select(&key("admin", "x", "/")).limit, 5);
    let batch = rules.select(&key("r", "api.example.com:8080", "/batch/1"));
    assert_eq!(batch.limit, 100);
    assert_eq!(batch.headers.len(), 2);
    assert_eq!(rules.select(&key("r", "api.example.com", "/other")).limit, 100);
}

#[test]
fn errors_name_the_rule() {
    let err = Rules::<Limits>::parse(br#"{"limit": 1, "rules": [{"match": {}, "config": {"limit": "x"}}]}"#)
        .unwrap_err();
    assert!(err.message.starts_with("rules[0].config"), "{err}");
    let err = Rules::<Limits>::parse(br#"{"limit": 1, "rules": [{"match": {"host": "x"}}]}"#).unwrap_err();
    assert!(err.message.starts_with("rules[0].match"), "{err}");
    assert!(Rules::<Limits>::parse(br#"{"limitt": 1}"#).is_err());
    let err = Rules::<Limits>::parse(br#"{"limit": 1, "rules": [{"match": {"path_prefix": "/a?b=1"}}]}"#)
        .unwrap_err();
    assert!(err.message.starts_with("rules[0].match.path_prefix"), "{err}");
}

/// Every spelling of `/admin` from issue 19.
const ADMIN_SPELLINGS: &[&str] = &[
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

fn admin_rules() -> Rules<Limits> {
    Rules::parse(
        br#"{"limit": 100, "rules": [{"match": {"path_prefix": "/admin"}, "config": {"limit": 5}}]}"#,
    )
    .unwrap()
}

#[test]
fn every_spelling_of_a_path_selects_its_rule() {
    let rules = admin_rules();
    for path in ADMIN_SPELLINGS {
        for path in [path.to_string(), format!("{path}?q=1")] {
            let each = rules.select_each(&key("r", "a", &path));
            assert!(each.iter().any(|c| c.limit == 5), "{path}: {each:?}");
        }
    }
    // Spellings whose readings agree select the rule alone, also through `select`.
    for path in ["/admin", "//admin", "/./admin", "/%61dmin", "/x/../admin", "/x/..;/admin"] {
        let k = key("r", "a", path);
        assert_eq!(rules.select_each(&k).iter().map(|c| c.limit).collect::<Vec<_>>(), [5], "{path}");
        assert_eq!(rules.select(&k).limit, 5, "{path}");
    }
}

#[test]
fn disagreeing_readings_select_every_rule_they_name() {
    let rules = admin_rules();
    // Envoy's normalization keeps `%252e` and `%2f`; a lenient server decodes them to /admin.
    for path in ["/x/%252e%252e/admin", "/x%2f..%2fadmin"] {
        let k = key("r", "a", path);
        assert_eq!(rules.select_each(&k).iter().map(|c| c.limit).collect::<Vec<_>>(), [100, 5], "{path}");
        assert_eq!(rules.select(&k).limit, 100, "`select` uses the normalized reading: {path}");
    }
    // `;` parameters: normalized `/admin;jsessionid=1` starts with /admin anyway (one rule).
    let k = key("r", "a", "/admin;jsessionid=1");
    assert_eq!(rules.select_each(&k).iter().map(|c| c.limit).collect::<Vec<_>>(), [5]);
}

#[test]
fn the_query_never_matches_a_path_prefix() {
    let rules = admin_rules();
    for path in ["/public?next=/admin", "/?/admin", "/public#/admin"] {
        let k = key("r", "a", path);
        assert_eq!(rules.select_each(&k).iter().map(|c| c.limit).collect::<Vec<_>>(), [100], "{path}");
    }
}

#[test]
fn rules_without_paths_never_read_the_path() {
    let rules: Rules<Limits> =
        Rules::parse(br#"{"limit": 100, "rules": [{"match": {"route": "admin"}, "config": {"limit": 5}}]}"#)
            .unwrap();
    assert!(!rules.paths);
    let each = rules.select_each(&key("admin", "a", "//%61dmin"));
    assert_eq!(each.iter().map(|c| c.limit).collect::<Vec<_>>(), [5]);
    assert_eq!(rules.configs().map(|c| c.limit).collect::<Vec<_>>(), [100, 5]);
    let single = Rules::single(Limits { limit: 7, headers: Default::default() });
    assert_eq!(single.select_each(&key("r", "a", "/x")).len(), 1);
}
