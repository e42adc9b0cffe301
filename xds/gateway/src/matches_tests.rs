use gateway_api::httproutes::{HttpRouteRulesMatchesHeaders, HttpRouteRulesMatchesPath};

use super::*;

fn path(kind: PathType, value: &str) -> HttpRouteRulesMatches {
    HttpRouteRulesMatches {
        path: Some(HttpRouteRulesMatchesPath { r#type: Some(kind), value: Some(value.into()) }),
        ..Default::default()
    }
}

#[test]
fn paths() {
    assert_eq!(translate(None).unwrap().envoy, json!({"prefix": "/"}));
    let m = translate(Some(&path(PathType::PathPrefix, "/a/b/"))).unwrap();
    assert_eq!((m.envoy, m.prefix.as_deref()), (json!({"path_separated_prefix": "/a/b"}), Some("/a/b")));
    assert_eq!(translate(Some(&path(PathType::Exact, "/x"))).unwrap().envoy, json!({"path": "/x"}));
    for bad in ["x", "/a//b", "/a/../b", "/a%2fb", "/a#b", "/a/.", "/a b"] {
        assert!(translate(Some(&path(PathType::PathPrefix, bad))).is_err(), "{bad}");
    }
    assert!(translate(Some(&path(PathType::RegularExpression, "/(unclosed"))).is_err());
    assert!(translate(Some(&path(PathType::RegularExpression, "/v[0-9]+/.*"))).is_ok());
    for rust_only in ["/[a-z&&[^x]]", r"/\<word", r"/\b{start}x", "/[a--b]"] {
        assert!(translate(Some(&path(PathType::RegularExpression, rust_only))).is_err(), "{rust_only}");
    }
    for re2 in ["/a--b&&c", r"/\\<", "/[a-z]+~~"] {
        assert!(translate(Some(&path(PathType::RegularExpression, re2))).is_ok(), "{re2}");
    }
}

#[test]
fn the_first_match_of_a_header_counts() {
    let header = |name: &str, value: &str| HttpRouteRulesMatchesHeaders {
        name: name.into(),
        r#type: None,
        value: value.into(),
    };
    let m = HttpRouteRulesMatches {
        headers: Some(vec![header("X-A", "1"), header("x-a", "2"), header("x-b", "3")]),
        ..Default::default()
    };
    let envoy = translate(Some(&m)).unwrap().envoy;
    assert_eq!(
        envoy["headers"],
        json!([{"name": "x-a", "string_match": {"exact": "1"}}, {"name": "x-b", "string_match": {"exact": "3"}}])
    );
    let bad = HttpRouteRulesMatches { headers: Some(vec![header("bad name", "1")]), ..Default::default() };
    assert!(translate(Some(&bad)).is_err());
}

#[test]
fn precedence_follows_the_spec() {
    let exact = translate(Some(&path(PathType::Exact, "/a"))).unwrap().precedence;
    let long = translate(Some(&path(PathType::PathPrefix, "/abc"))).unwrap().precedence;
    let short = translate(Some(&path(PathType::PathPrefix, "/ab"))).unwrap().precedence;
    let mut with_method = path(PathType::PathPrefix, "/ab");
    with_method.method = Some(Method::Get);
    let method = translate(Some(&with_method)).unwrap().precedence;
    let mut ranks = [short.clone(), method.clone(), long.clone(), exact.clone()];
    ranks.sort();
    assert_eq!(ranks, [exact, long, method, short]);
}
