//! The protocol: subscription, ACK, NACK (whole response, previous version, reason), ADS
//! filtering, and the version a new stream announces.

use prost::Message;
use serde_json::json;

use crate::config::Config;
use crate::proto::*;
use crate::session::{Outcome, Session, decode_layers};

fn session(extra: &str) -> Session {
    Session::new(
        &Config::parse(format!(r#"{{"cluster": "cp", "layers": ["base", "ops"]{extra}}}"#).as_bytes())
            .unwrap(),
    )
}

fn runtime(name: &str, layer: serde_json::Value) -> Any {
    Any {
        type_url: RUNTIME_TYPE_URL.into(),
        value: Runtime { name: name.into(), layer: json_to_struct(&layer) }.encode_to_vec(),
    }
}

fn response(version: &str, nonce: &str, resources: Vec<Any>) -> DiscoveryResponse {
    DiscoveryResponse {
        version_info: version.into(),
        resources,
        type_url: RUNTIME_TYPE_URL.into(),
        nonce: nonce.into(),
    }
}

#[test]
fn subscribes_acks_and_announces_the_acked_version() {
    let mut s = session(r#", "node_id": "edge-1", "node_cluster": "edge""#);
    let first = s.initial_request();
    assert_eq!(first.version_info, "");
    assert_eq!(first.response_nonce, "");
    assert_eq!(first.resource_names, vec!["base", "ops"]);
    assert_eq!(first.type_url, RUNTIME_TYPE_URL);
    assert_eq!(first.node.as_ref().map(|n| (n.id.as_str(), n.cluster.as_str())), Some(("edge-1", "edge")));
    assert!(first.error_detail.is_none());

    let Outcome::Accepted { ack, layers } = s.handle(&response(
        "3",
        "n1",
        vec![runtime("ops", json!({"a": {"b": 1}})), runtime("base", json!({}))],
    )) else {
        panic!("expected an ACK")
    };
    assert_eq!((ack.version_info.as_str(), ack.response_nonce.as_str()), ("3", "n1"));
    assert!(ack.error_detail.is_none());
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0].0, "ops");
    assert_eq!(layers[0].1["a.b"], json!(1));
    assert_eq!(s.acked_version(), "3");
    // A new stream announces what it holds.
    assert_eq!(s.initial_request().version_info, "3");
    // An empty type URL (allowed on the RTDS service) and a foreign Any host prefix are fine.
    let mut r = response("4", "n2", vec![runtime("base", json!({"x": "y"}))]);
    r.type_url.clear();
    r.resources[0].type_url = format!("example.com/{RUNTIME_TYPE}");
    assert!(matches!(s.handle(&r), Outcome::Accepted { .. }));
}

#[test]
fn invalid_layers_are_nacked_whole_with_the_previous_version() {
    let mut s = session("");
    assert!(matches!(
        s.handle(&response("1", "n1", vec![runtime("base", json!({"k": 1}))])),
        Outcome::Accepted { .. }
    ));
    for (resources, needle) in [
        (
            vec![runtime("base", json!({"k": 2})), runtime("ops", json!({"zones": ["a"]}))],
            "runtime layer `ops`: Invalid runtime entry value for zones",
        ),
        (vec![runtime("base", json!({"a": {"b": null}}))], "Invalid runtime entry value for a.b"),
        (vec![runtime("other", json!({}))], "`other` was not subscribed"),
        (vec![runtime("base", json!({})), runtime("base", json!({}))], "appears twice"),
        (
            vec![Any { type_url: "type.googleapis.com/google.protobuf.StringValue".into(), value: vec![] }],
            "expected a envoy.service.runtime.v3.Runtime",
        ),
        (vec![Any { type_url: RUNTIME_TYPE_URL.into(), value: vec![0xff, 0xff] }], "cannot decode"),
    ] {
        let Outcome::Rejected { nack, reason } = s.handle(&response("2", "n2", resources)) else {
            panic!("expected a NACK for {needle}")
        };
        assert!(reason.contains(needle), "{reason} should contain {needle}");
        assert_eq!(nack.version_info, "1", "the NACK carries the version kept");
        assert_eq!(nack.response_nonce, "n2");
        let detail = nack.error_detail.unwrap();
        assert_eq!(detail.code, 13);
        assert_eq!(detail.message, reason);
        assert_eq!(s.acked_version(), "1");
    }
    // A response that is not a DiscoveryResponse at all cannot be NACKed.
    assert!(s.handle_bytes(&[0xff, 0xff, 0xff]).unwrap_err().contains("malformed"));
}

#[test]
fn ads_ignores_other_types_but_rtds_refuses_them() {
    let mut other = response("9", "n9", vec![]);
    other.type_url = "type.googleapis.com/envoy.config.cluster.v3.Cluster".into();
    let mut ads = session(r#", "api": "ads""#);
    assert_eq!(ads.handle(&other), Outcome::Ignored { type_url: other.type_url.clone() });
    assert_eq!(ads.acked_version(), "");
    let mut rtds = session("");
    let Outcome::Rejected { reason, .. } = rtds.handle(&other) else { panic!("expected a NACK") };
    assert!(reason.contains("unexpected type_url"), "{reason}");
}

#[test]
fn a_layer_without_values_is_empty() {
    let any = Any {
        type_url: RUNTIME_TYPE_URL.into(),
        value: Runtime { name: "base".into(), layer: None }.encode_to_vec(),
    };
    let layers = decode_layers(&[any], &["base".to_string()]).unwrap();
    assert!(layers[0].1.is_empty());
}
