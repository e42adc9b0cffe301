use super::*;

fn policies(json: &str) -> Result<Policies, String> {
    weir_sdk::config::parse_config::<Config>(json.as_bytes()).map_err(|e| e.to_string())?.compile()
}

#[test]
fn a_route_policy_overrides_setting_by_setting() {
    let p = policies(
        r#"{"policy": {"allow_origin_string_match": [{"exact": "https://a.example"}],
                       "allow_methods": "GET", "max_age": "600", "allow_credentials": true},
            "routes": {"strict": {"allow_methods": "POST", "allow_credentials": false},
                       "other": {"allow_origin_string_match": [{"suffix": ".b.example"}]}}}"#,
    )
    .unwrap();
    let default = p.of_route("unlisted").unwrap();
    assert_eq!((default.allow_methods(), default.max_age()), ("GET", "600"));
    assert!(default.allow_credentials() && default.allows("https://a.example"));
    let strict = p.of_route("strict").unwrap();
    assert_eq!((strict.allow_methods(), strict.max_age()), ("POST", "600"), "unset: the default's");
    assert!(!strict.allow_credentials(), "a boolean given wins, false too");
    assert!(strict.allows("https://a.example"), "no origins of its own: the default's");
    let other = p.of_route("other").unwrap();
    assert!(
        other.allows("https://x.b.example") && !other.allows("https://a.example"),
        "its own origins only"
    );
    assert!(other.forward_not_matching_preflights(), "default true");
    assert!(policies(r#"{"routes": {"only": {}}}"#).unwrap().of_route("else").is_none(), "no policy: off");
    let any = policies(r#"{"policy": {"allow_origin_string_match": [{"prefix": "https://x."}, {"safe_regex": {"regex": ".*"}}]}}"#).unwrap();
    assert!(
        any.of_route("r").unwrap().allows("https://anything.example"),
        "a matcher of `*` allows every origin"
    );
}

#[test]
fn bad_policies_are_refused_naming_the_field() {
    let err =
        policies(r#"{"routes": {"r": {"allow_origin_string_match": [{"exact": "a"}, {}]}}}"#).unwrap_err();
    assert!(err.contains("`routes.r`: `allow_origin_string_match[1]`"), "{err}");
    let err = policies(r#"{"policy": {"max_age": "1\n2"}}"#).unwrap_err();
    assert!(err.contains("`policy`: `max_age`"), "{err}");
    let err = policies(r#"{"policy": {"filter_enabled": {}}}"#).unwrap_err();
    assert!(err.contains("filter_enabled"), "{err}");
    let many: Vec<String> = (0..=MAX_ORIGINS).map(|i| format!(r#"{{"exact": "o{i}"}}"#)).collect();
    let err = policies(&format!(r#"{{"policy": {{"allow_origin_string_match": [{}]}}}}"#, many.join(",")))
        .unwrap_err();
    assert!(err.contains("more than"), "{err}");
    let regexes: Vec<String> = (0..=MAX_REGEXES)
        .map(|i| {
            format!(r#""r{i}": {{"allow_origin_string_match": [{{"safe_regex": {{"regex": "a{i}"}}}}]}}"#)
        })
        .collect();
    let err = policies(&format!(r#"{{"routes": {{{}}}}}"#, regexes.join(","))).unwrap_err();
    assert!(err.contains("safe_regex"), "{err}");
}
