use serde_json::json;

use super::*;
use crate::test_config::{full, request, settings, with};

fn found(path: &str, headers: &[(&str, &str)]) -> Option<(Method, Credential, Location)> {
    let s = settings(&full());
    extract(&request(path, headers), &s, &Policy::default()).map(|p| (p.method, p.credential, p.location))
}

fn header(name: &str) -> Location {
    Location::Header(name.into())
}

#[test]
fn jwt_from_header_with_any_case_prefix() {
    let want = Some((Method::Jwt, Credential::Jwt("a.b.c".into()), header("authorization")));
    assert_eq!(found("/", &[("authorization", "Bearer a.b.c")]), want);
    assert_eq!(found("/", &[("authorization", "bearer   a.b.c ")]), want);
    let from_param = found("/x?access_token=a.b%2Ec&y=1", &[]);
    assert_eq!(
        from_param,
        Some((Method::Jwt, Credential::Jwt("a.b.c".into()), Location::Query("access_token".into())))
    );
}

#[test]
fn order_is_jwt_basic_api_key() {
    let both = found("/", &[("authorization", "Bearer t"), ("x-api-key", "k")]);
    assert_eq!(both.unwrap().0, Method::Jwt);
    let basic = found("/", &[("authorization", "Basic YWxpY2U6d29uZGVybGFuZA=="), ("x-api-key", "k")]);
    assert_eq!(
        basic,
        Some((
            Method::Basic,
            Credential::Basic(b"alice".to_vec(), b"wonderland".to_vec()),
            header("authorization")
        ))
    );
    let key = found("/?api_key=q", &[("x-api-key", "k")]);
    assert_eq!(key, Some((Method::ApiKey, Credential::ApiKey(b"k".to_vec()), header("x-api-key"))));
    let query = found("/?a=1&api_key=a%2Bb+c", &[("x-api-key", "")]);
    assert_eq!(
        query,
        Some((Method::ApiKey, Credential::ApiKey(b"a+b+c".to_vec()), Location::Query("api_key".into())))
    );
    assert_eq!(found("/", &[("authorization", "Digest x"), ("authorization-x", "y")]), None);
    assert_eq!(found("/", &[("authorization", "Bearer ")]), None);
}

#[test]
fn basic_parsing() {
    let creds = |v: &str| found("/", &[("authorization", v)]).map(|f| f.1);
    // "user:pa:ss" without padding; an empty password; no colon; not base64.
    assert_eq!(creds("Basic dXNlcjpwYTpzcw"), Some(Credential::Basic(b"user".to_vec(), b"pa:ss".to_vec())));
    assert_eq!(creds("BASIC dXNlcjo="), Some(Credential::Basic(b"user".to_vec(), Vec::new())));
    assert_eq!(creds("Basic dXNlcg=="), Some(Credential::BasicMalformed));
    assert_eq!(creds("Basic !!!"), Some(Credential::BasicMalformed));
}

#[test]
fn route_methods_hide_other_credentials() {
    let s = settings(&full());
    let only_keys = Policy { methods: vec![Method::ApiKey], ..Policy::default() };
    let r = request("/", &[("authorization", "Bearer t"), ("x-api-key", "k")]);
    assert_eq!(extract(&r, &s, &only_keys).unwrap().method, Method::ApiKey);
    let r = request("/", &[("authorization", "Bearer t")]);
    assert_eq!(extract(&r, &s, &only_keys), None);
}

#[test]
fn too_long_is_flagged_before_decoding() {
    let s = settings(&with(full(), json!({"max_credential_bytes": 16})));
    let long = "x".repeat(17);
    for h in [
        ("authorization", format!("Bearer {long}")),
        ("authorization", format!("Basic {long}")),
        ("x-api-key", long.clone()),
    ] {
        let r = request("/", &[(h.0, h.1.as_str())]);
        assert_eq!(extract(&r, &s, &Policy::default()).unwrap().credential, Credential::TooLong, "{h:?}");
    }
    let r = request("/", &[("x-api-key", &long[..16])]);
    assert_eq!(extract(&r, &s, &Policy::default()).unwrap().credential, Credential::ApiKey(vec![b'x'; 16]));
}

#[test]
fn query_param_removal_keeps_the_rest() {
    assert_eq!(strip_query_param("/a?api_key=k", "api_key"), "/a");
    assert_eq!(strip_query_param("/a?x=1&api_key=k&y=%20&api_key=2", "api_key"), "/a?x=1&y=%20");
    assert_eq!(strip_query_param("/a?api%5Fkey=k&b", "api_key"), "/a?b");
    assert_eq!(strip_query_param("/a?x=1", "api_key"), "/a?x=1");
    assert_eq!(strip_query_param("/a", "api_key"), "/a");
}

#[test]
fn view_helpers() {
    let r = request("/p/q?x=1&x=2&y", &[("X-Mixed", "v")]);
    assert_eq!(r.readings(), ["/p/q"]);
    assert_eq!(request("//p/./q;a?x", &[]).readings(), ["/p/q;a", "/p/q"]);
    assert_eq!(r.query_param("x"), Some(b"1".to_vec()));
    assert_eq!(r.query_param("y"), Some(Vec::new()));
    assert_eq!(r.query_param("z"), None);
    assert_eq!(r.header("x-mixed").as_deref(), Some(&b"v"[..]));
    assert_eq!((r.method(), r.authority()), ("GET", "example.com:8080"));
}

#[test]
fn repeated_credential_sources() {
    let names = |list: &[&str]| list.iter().map(|n| std::rc::Rc::from(*n)).collect::<Vec<std::rc::Rc<str>>>();
    let (headers, params) = (names(&["authorization", "x-api-key"]), names(&["api_key"]));
    let repeated = |path: &str, pairs: &[(&str, &str)]| {
        request(path, pairs).repeated(&headers, &params).unwrap().map(|n| n.to_string())
    };
    assert_eq!(repeated("/", &[("x-api-key", "a")]), None);
    assert_eq!(repeated("/", &[("x-api-key", "a"), ("x-other", "1"), ("x-other", "2")]), None);
    assert_eq!(repeated("/", &[("x-api-key", "a"), ("X-Api-Key", "b")]).as_deref(), Some("x-api-key"));
    assert_eq!(repeated("/", &[("x-api-key", ""), ("x-api-key", "b")]).as_deref(), Some("x-api-key"));
    assert_eq!(
        repeated("/", &[("authorization", "Basic x"), ("authorization", "Bearer y")]).as_deref(),
        Some("authorization")
    );
    assert_eq!(repeated("/?api_key=a&x=1", &[]), None);
    assert_eq!(repeated("/?api_key=a&api%5Fkey=b", &[]).as_deref(), Some("api_key"));
    assert_eq!(repeated("/?api_key&api_key=b", &[]).as_deref(), Some("api_key"));
    assert_eq!(repeated("/?api_keys=a&api_key=b", &[]), None);
}
