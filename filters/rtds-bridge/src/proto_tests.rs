//! Golden checks: the hand-written messages encode and decode exactly as the generated
//! `envoy-types` ones (which only the tests build).

use envoy_types::pb::envoy::config::core::v3 as core;
use envoy_types::pb::envoy::service::discovery::v3 as discovery;
use envoy_types::pb::envoy::service::runtime::v3 as runtime;
use envoy_types::pb::google::protobuf as pb;
use envoy_types::pb::google::rpc;
use prost::Message;
use serde_json::json;

use crate::proto::*;

fn generated_struct(json: &serde_json::Value) -> pb::Struct {
    pb::Struct::decode(json_to_struct(json).unwrap().encode_to_vec().as_slice()).unwrap()
}

#[test]
fn request_matches_the_generated_message() {
    let ours = DiscoveryRequest {
        version_info: "7".into(),
        node: Some(Node {
            id: "envoy-1".into(),
            cluster: "edge".into(),
            user_agent_name: "weir-rtds-bridge".into(),
            user_agent_version: "0.1.0".into(),
        }),
        resource_names: vec!["rtds".into(), "ops".into()],
        type_url: RUNTIME_TYPE_URL.into(),
        response_nonce: "n-3".into(),
        error_detail: Some(Status { code: CODE_INTERNAL, message: "bad".into() }),
    };
    let theirs = discovery::DiscoveryRequest::decode(ours.encode_to_vec().as_slice()).unwrap();
    assert_eq!(theirs.version_info, "7");
    let node = theirs.node.clone().unwrap();
    assert_eq!(
        (node.id.as_str(), node.cluster.as_str(), node.user_agent_name.as_str()),
        ("envoy-1", "edge", "weir-rtds-bridge")
    );
    assert_eq!(
        node.user_agent_version_type,
        Some(core::node::UserAgentVersionType::UserAgentVersion("0.1.0".into()))
    );
    assert_eq!(theirs.resource_names, vec!["rtds", "ops"]);
    assert_eq!(theirs.type_url, RUNTIME_TYPE_URL);
    assert_eq!(theirs.response_nonce, "n-3");
    assert_eq!(theirs.error_detail, Some(rpc::Status { code: 13, message: "bad".into(), details: vec![] }));
    // And back.
    assert_eq!(DiscoveryRequest::decode(theirs.encode_to_vec().as_slice()).unwrap(), ours);
}

#[test]
fn response_with_runtime_layers_decodes() {
    let layer = json!({"a": {"b": 5, "c": "x", "d": true, "e": 0.5}, "f": {}, "g": [1, null], "h": null});
    let resource = runtime::Runtime { name: "rtds".into(), layer: Some(generated_struct(&layer)) };
    let theirs = discovery::DiscoveryResponse {
        version_info: "4".into(),
        resources: vec![pb::Any { type_url: RUNTIME_TYPE_URL.into(), value: resource.encode_to_vec() }],
        canary: true,
        type_url: RUNTIME_TYPE_URL.into(),
        nonce: "abc-1".into(),
        control_plane: Some(core::ControlPlane { identifier: "weir-cp".into() }),
        resource_errors: vec![],
    };
    let ours = DiscoveryResponse::decode(theirs.encode_to_vec().as_slice()).unwrap();
    assert_eq!(
        (ours.version_info.as_str(), ours.type_url.as_str(), ours.nonce.as_str()),
        ("4", RUNTIME_TYPE_URL, "abc-1")
    );
    assert_eq!(ours.resources.len(), 1);
    let decoded = Runtime::decode(ours.resources[0].value.as_slice()).unwrap();
    assert_eq!(decoded.name, "rtds");
    // Whole numbers become integers; nulls, lists and empty objects survive for flatten to judge.
    assert_eq!(struct_to_json(&decoded.layer.unwrap()), layer);
}

#[test]
fn struct_json_round_trip_and_edge_numbers() {
    let s = json_to_struct(&json!({"n": 10, "big": 9_007_199_254_740_993u64, "neg": -4, "f": 2.5})).unwrap();
    let back = struct_to_json(&s);
    assert_eq!(back["n"], json!(10));
    assert_eq!(back["neg"], json!(-4));
    assert_eq!(back["f"], json!(2.5));
    assert!(back["big"].is_f64(), "beyond 2^53 a double is not an integer: {}", back["big"]);
    // A value without a kind, and a non-finite number, read as null (and are refused).
    let odd = Struct {
        fields: [
            ("unset".to_string(), Value { kind: None }),
            ("nan".to_string(), Value { kind: Some(Kind::NumberValue(f64::NAN)) }),
        ]
        .into_iter()
        .collect(),
    };
    assert_eq!(struct_to_json(&odd), json!({"unset": null, "nan": null}));
    assert!(json_to_struct(&json!([1])).is_none());
}
