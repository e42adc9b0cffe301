use std::path::PathBuf;

use super::*;
use crate::config::parse;

fn compile(yaml: &str) -> Result<Limits, ConfigError> {
    let file = PathBuf::from("limits.yaml");
    Limits::compile(vec![(file.clone(), parse(&file, yaml)?)], &Metrics::default())
}

const TREE: &str = r#"
domain: edge
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 100}
  - key: user
    value: vip
    rate_limit: {unit: Minute, requests_per_unit: 1000, name: vip}
  - key: user
    value: "bot-*"
    rate_limit: {unit: second, requests_per_unit: 1}
  - key: path
    value: /login
    descriptors:
      - key: remote_address
        rate_limit: {unit: hour, requests_per_unit: 10}
        shadow_mode: true
  - key: internal
    rate_limit: {unlimited: true}
"#;

fn find<'a>(limits: &'a Limits, entries: &[(&'a str, &'a str)]) -> Option<&'a Limit> {
    limits.find("edge", entries.iter().copied()).map(|l| &**l)
}

#[test]
fn exact_values_win_over_prefixes_and_prefixes_over_any_value() {
    let limits = compile(TREE).unwrap();
    assert_eq!(limits.count, 5);
    assert_eq!(find(&limits, &[("user", "vip")]).unwrap().requests_per_unit, 1000);
    assert_eq!(find(&limits, &[("user", "vip")]).unwrap().name, "vip");
    assert_eq!(find(&limits, &[("user", "bot-7")]).unwrap().path, "user_bot-*");
    assert_eq!(find(&limits, &[("user", "alice")]).unwrap().path, "user");
    assert_eq!(find(&limits, &[("user", "alice")]).unwrap().unit, Unit::Minute);
}

#[test]
fn the_limit_is_the_one_where_the_last_entry_lands() {
    let limits = compile(TREE).unwrap();
    let nested = find(&limits, &[("path", "/login"), ("remote_address", "10.0.0.1")]).unwrap();
    assert_eq!((nested.path.as_str(), nested.shadow), ("path_/login.remote_address", true));
    assert!(find(&limits, &[("path", "/login")]).is_none(), "a node without a limit");
    assert!(find(&limits, &[("path", "/other"), ("remote_address", "x")]).is_none(), "left the tree");
    assert!(find(&limits, &[("user", "alice"), ("extra", "x")]).is_none(), "deeper than the tree");
    assert!(find(&limits, &[]).is_none());
    assert!(limits.find("other", [("user", "alice")]).is_none(), "unknown domain");
    assert!(find(&limits, &[("internal", "x")]).unwrap().unlimited);
}

#[test]
fn bad_files_are_refused_with_the_field() {
    let cases = [
        ("domain: ''\n", "domain: must not be empty"),
        (
            "domain: d\ndescriptors: [{key: k, rate_limit: {unit: fortnight, requests_per_unit: 1}}]\n",
            "descriptors[0].rate_limit.unit: `fortnight`",
        ),
        (
            "domain: d\ndescriptors: [{key: k, rate_limit: {requests_per_unit: 1}}]\n",
            "descriptors[0].rate_limit.unit: required",
        ),
        (
            "domain: d\ndescriptors: [{key: k, rate_limit: {unit: second}}]\n",
            "descriptors[0].rate_limit.requests_per_unit: required",
        ),
        (
            "domain: d\ndescriptors: [{key: k, rate_limit: {unlimited: true, unit: second}}]\n",
            "descriptors[0].rate_limit: `unlimited: true`",
        ),
        ("domain: d\ndescriptors: [{key: k}, {key: k}]\n", "descriptors[1]: a second descriptor for `k`"),
        (
            "domain: d\ndescriptors: [{key: k, detailed_metric: true}]\n",
            "descriptors[0].detailed_metric: not supported",
        ),
        (
            "domain: d\ndescriptors: [{key: k, replaces: [{name: x}]}]\n",
            "descriptors[0].replaces: not supported",
        ),
        ("domain: d\ndescriptors: [{key: k, shadow_mode: true}]\n", "descriptors[0].shadow_mode"),
        (
            "domain: d\ndescriptors: [{key: k, descriptors: [{key: ''}]}]\n",
            "descriptors[0].descriptors[0].key: must not be empty",
        ),
        (
            "domain: d\ndescriptors: [{key: k, rate_limit: {unit: second, requests_per_unit: 1, burst: 3}}]\n",
            "descriptors[0].rate_limit: unknown field `burst`",
        ),
    ];
    for (yaml, want) in cases {
        let err = compile(yaml).err().unwrap_or_else(|| panic!("accepted: {yaml}")).to_string();
        assert!(err.contains(want), "{yaml}\n  got: {err}\n  want: {want}");
    }
}

#[test]
fn nesting_is_bounded() {
    let mut yaml = String::from("domain: d\ndescriptors:\n");
    for depth in 0..=MAX_DEPTH {
        let indent = "  ".repeat(depth * 2 + 1);
        yaml.push_str(&format!("{indent}- key: k{depth}\n{indent}  descriptors:\n"));
    }
    let err = compile(&yaml).unwrap_err().to_string();
    assert!(err.contains("nested deeper than 16 levels"), "{err}");
}

#[test]
fn a_domain_in_two_files_is_refused() {
    let file = |n: &str| PathBuf::from(n);
    let one = parse(&file("a.yaml"), "domain: d\n").unwrap();
    let err =
        Limits::compile(vec![(file("a.yaml"), one.clone()), (file("b.yaml"), one)], &Metrics::default())
            .unwrap_err()
            .to_string();
    assert!(err.contains("b.yaml: domain: `d` is already defined in a.yaml"), "{err}");
}
