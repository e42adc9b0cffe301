//! The admin HTTP API, request by request (server-side validation, status codes, views).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::Method;
use serde_json::{Value, json};
use weir_admin_guard::Token;
use weir_cp::cli::{AdminClient, CliError};
use weir_cp::{ControlPlane, ServerConfig};

async fn setup() -> (ControlPlane, AdminClient) {
    let token = Token::new("admin-test-token-0123456789", "test").unwrap();
    let cp = ControlPlane::start(ServerConfig::local().with_token(token.clone())).await.unwrap();
    let admin =
        AdminClient::new(&format!("http://{}", cp.admin_addr().unwrap())).unwrap().with_token(Some(token));
    (cp, admin)
}

async fn refused(admin: &AdminClient, method: Method, path: &str, body: &str) -> (u16, String) {
    let body = (!body.is_empty()).then(|| body.as_bytes().to_vec());
    match admin.raw(method, path, body).await {
        Err(CliError::Refused { status, message }) => (status, message),
        other => panic!("{path}: expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn runtime_values() {
    let (_cp, admin) = setup().await;
    let change: Value = admin.call(Method::PUT, "/runtime/rtds/a.b", Some(b"5".to_vec())).await.unwrap();
    assert_eq!(change, json!({"changed": true, "version": "2"}));
    let change: Value = admin.call(Method::PUT, "/runtime/rtds/a.b", Some(b"5".to_vec())).await.unwrap();
    assert_eq!(change, json!({"changed": false, "version": "2"}));
    let pct = br#"{"numerator": 5, "denominator": "TEN_THOUSAND"}"#.to_vec();
    let _: Value = admin.call(Method::PUT, "/runtime/rtds/a.pct", Some(pct)).await.unwrap();

    for (body, needle) in [
        ("[1, 2]", "lists"),
        ("null", "null"),
        (r#"{"x": 1}"#, "fractional percent"),
        ("not json", "JSON value"),
    ] {
        let (status, message) = refused(&admin, Method::PUT, "/runtime/rtds/a.c", body).await;
        assert_eq!(status, 400, "{body}: {message}");
        assert!(message.contains(needle), "{body}: {message}");
        if body != "not json" {
            assert!(message.contains("`a.c`"), "names the key: {message}");
        }
    }
    let (status, message) = refused(&admin, Method::PUT, "/runtime/rtds/a%20b", "1").await;
    assert_eq!(status, 400);
    assert!(message.contains("invalid key `a b`"), "{message}");

    let view: Value = admin.call(Method::GET, "/runtime", None).await.unwrap();
    assert_eq!(view["version"], "3");
    assert_eq!(view["layers"]["rtds"]["values"]["a.b"], 5);
    let one: Value = admin.call(Method::GET, "/runtime/rtds/a.b", None).await.unwrap();
    assert_eq!(one, json!({"layer": "rtds", "key": "a.b", "value": 5}));
    let _: Value = admin.call(Method::DELETE, "/runtime/rtds/a.b", None).await.unwrap();
    assert_eq!(refused(&admin, Method::DELETE, "/runtime/rtds/a.b", "").await.0, 404);
    assert_eq!(refused(&admin, Method::GET, "/runtime/nope", "").await.0, 404);
}

#[tokio::test]
async fn whole_layers() {
    let (cp, admin) = setup().await;
    let yaml = b"shuffle_sharding:\n  total_hosts: 10\nfeature.on: true\n".to_vec();
    let _: Value = admin.call(Method::POST, "/runtime/ops", Some(yaml)).await.unwrap();
    let _: Value =
        admin.call(Method::POST, "/runtime/ops?mode=merge", Some(br#"{"x": 1}"#.to_vec())).await.unwrap();
    let layer: Value = admin.call(Method::GET, "/runtime/ops", None).await.unwrap();
    assert_eq!(layer["values"], json!({"feature.on": true, "shuffle_sharding.total_hosts": 10, "x": 1}));

    let bad = br#"{"zones": ["a", "b"]}"#;
    let (status, message) =
        refused(&admin, Method::POST, "/runtime/ops", std::str::from_utf8(bad).unwrap()).await;
    assert_eq!(status, 400);
    assert!(message.contains("zones") && message.contains("lists"), "{message}");
    let _: Value = admin.call(Method::POST, "/runtime/ops?validate=false", Some(bad.to_vec())).await.unwrap();
    let layer: Value = admin.call(Method::GET, "/runtime/ops", None).await.unwrap();
    assert!(layer["invalid"].as_str().unwrap().contains("zones"), "{layer}");
    let (status, message) = refused(&admin, Method::PUT, "/runtime/ops/y", "1").await;
    assert_eq!(status, 409, "{message}");
    assert_eq!(refused(&admin, Method::POST, "/runtime/ops?validate=maybe", "{}").await.0, 400);
    assert_eq!(refused(&admin, Method::POST, "/runtime/ops?mode=sideways", "{}").await.0, 400);
    assert_eq!(refused(&admin, Method::POST, "/runtime/ops?other=1", "{}").await.0, 400);
    assert_eq!(refused(&admin, Method::POST, "/runtime/ops?validate=false", "[1]").await.0, 400);
    let _: Value = admin.call(Method::DELETE, "/runtime/ops", None).await.unwrap();
    assert!(!cp.store().snapshot().runtime.resources.contains_key("ops"));
}

#[tokio::test]
async fn ecds_status_metrics_and_errors() {
    let (_cp, admin) = setup().await;
    let config =
        br#"{"wasm": "/f.wasm", "vm_id": "weir", "configuration": {"a": 1}, "failure_policy": "FAIL_OPEN"}"#;
    let change: Value = admin.call(Method::PUT, "/ecds/f", Some(config.to_vec())).await.unwrap();
    assert_eq!(change["version"], "1");
    let all: Value = admin.call(Method::GET, "/ecds", None).await.unwrap();
    assert_eq!(all["configs"]["f"]["config"]["failure_policy"], "FAIL_OPEN");
    assert_eq!(all["configs"]["f"]["config"]["configuration"]["bytes"], 7, "redacted: {all}");
    let all: Value = admin.call(Method::GET, "/ecds?show_secrets=true", None).await.unwrap();
    assert_eq!(all["configs"]["f"]["config"]["configuration"], json!({"a": 1}));
    let (status, message) = refused(&admin, Method::PUT, "/ecds/g", r#"{"wasm": "/f.wasm"}"#).await;
    assert_eq!(status, 400);
    assert!(message.contains("vm_id"), "{message}");
    let _: Value = admin.call(Method::DELETE, "/ecds/f", None).await.unwrap();
    assert_eq!(refused(&admin, Method::GET, "/ecds/f", "").await.0, 404);

    let ready = admin.raw(Method::GET, "/ready", None).await.unwrap();
    assert_eq!(ready.as_ref(), b"LIVE\n");
    let status: Value = admin.call(Method::GET, "/status", None).await.unwrap();
    assert_eq!(
        status["versions"],
        json!({"cds": "0", "ecds": "2", "eds": "0", "lds": "0", "rds": "0", "rtds": "1", "sds": "0"})
    );
    let metrics = admin.raw(Method::GET, "/metrics", None).await.unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(metrics.contains("weir_cp_version{type=\"ecds\"} 2"), "{metrics}");
    assert_eq!(refused(&admin, Method::POST, "/status", "").await.0, 405);
    assert_eq!(refused(&admin, Method::GET, "/nothing", "").await.0, 404);
}

#[tokio::test]
async fn clusters_and_endpoints_apply_whole() {
    let (_cp, admin) = setup().await;
    let cluster = |name: &str| json!({"name": name, "type": "EDS", "eds_config_unused": null});
    // An unknown field is refused with the element and the field.
    let body = json!({"clusters": [{"name": "a"}, cluster("b")]}).to_string();
    let (status, message) = refused(&admin, Method::POST, "/apply", &body).await;
    assert_eq!(status, 400);
    assert!(message.contains("clusters[1]") && message.contains("eds_config_unused"), "{message}");
    let (status, message) =
        refused(&admin, Method::POST, "/apply", r#"{"clusters": [{"name": "a"}, {"name": "a"}]}"#).await;
    assert_eq!(status, 400);
    assert!(message.contains("`a` is given twice"), "{message}");
    let (status, message) = refused(&admin, Method::POST, "/apply", r#"{"secrets": []}"#).await;
    assert_eq!(status, 400);
    assert!(message.contains("secrets"), "{message}");

    let body = json!({
        "clusters": [{"name": "a", "lb_policy": "MAGLEV"}, {"name": "b"}],
        "endpoints": [{"cluster_name": "a"}],
    });
    let applied: Value =
        admin.call(Method::POST, "/apply", Some(body.to_string().into_bytes())).await.unwrap();
    assert_eq!(
        applied,
        json!({
            "clusters": {"changed": true, "version": "1"},
            "endpoints": {"changed": true, "version": "1"},
            "routes": {"changed": false, "version": "0"},
            "listeners": {"changed": false, "version": "0"},
        })
    );
    let again: Value = admin.call(Method::POST, "/apply", Some(body.to_string().into_bytes())).await.unwrap();
    assert_eq!(again["clusters"], json!({"changed": false, "version": "1"}));
    // A list given is the whole type: `b` goes; endpoints are left alone.
    let body = json!({"clusters": [{"name": "a", "lb_policy": "MAGLEV"}]}).to_string().into_bytes();
    let applied: Value = admin.call(Method::POST, "/apply", Some(body)).await.unwrap();
    assert_eq!(applied["clusters"], json!({"changed": true, "version": "2"}));
    assert_eq!(applied["endpoints"], json!({"changed": false, "version": "1"}));
    let clusters: Value = admin.call(Method::GET, "/clusters", None).await.unwrap();
    assert_eq!(clusters["version"], "2");
    assert_eq!(clusters["resources"]["a"]["value"]["lb_policy"], "MAGLEV");
    assert!(clusters["resources"].get("b").is_none(), "{clusters}");
    let endpoints: Value = admin.call(Method::GET, "/endpoints", None).await.unwrap();
    assert_eq!(endpoints["resources"]["a"]["version"], "1");
}
