//! Envoy's TLS transport sockets as weir's TLS settings: a cluster's `UpstreamTlsContext` and
//! a listener's `DownstreamTlsContext`, with certificates and CAs from files.
//!
//! Supported: `sni`; `common_tls_context` `tls_params` (TLS 1.2/1.3), `tls_certificates`
//! (`certificate_chain`, `private_key` as `filename`), `validation_context` (`trusted_ca` as
//! `filename`, `match_typed_subject_alt_names` with `exact` matchers), `alpn_protocols`; a
//! listener's `require_client_certificate`. Everything else is refused.

use envoy_types::pb::envoy::config::core::v3::TransportSocket;
use envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    DownstreamTlsContext, UpstreamTlsContext,
};
use serde_json::{Map, Value, json};
use weir_tls::{DownstreamTls, UpstreamTls};
use weir_xds::convert::envoy_json::to_json;
use weir_xds::convert::unpack;

use super::Refusals;
use super::support::{Spec, join};

const TLS: &str = "envoy.extensions.transport_sockets.tls.v3";

/// What weir reads of TLS transport sockets.
pub(super) const SPEC: Spec = &[
    ("envoy.config.core.v3.TransportSocket", &["name", "typed_config"]),
    ("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", &["common_tls_context", "sni"]),
    (
        "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        &["common_tls_context", "require_client_certificate"],
    ),
    (
        "envoy.extensions.transport_sockets.tls.v3.CommonTlsContext",
        &["tls_params", "tls_certificates", "validation_context", "alpn_protocols"],
    ),
    (
        "envoy.extensions.transport_sockets.tls.v3.TlsParameters",
        &["tls_minimum_protocol_version", "tls_maximum_protocol_version"],
    ),
    ("envoy.extensions.transport_sockets.tls.v3.TlsCertificate", &["certificate_chain", "private_key"]),
    (
        "envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext",
        &["trusted_ca", "match_typed_subject_alt_names"],
    ),
    ("envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher", &["san_type", "matcher"]),
    ("envoy.type.matcher.v3.StringMatcher", &["exact"]),
    ("envoy.config.core.v3.DataSource", &["filename"]),
    ("envoy.config.listener.v3.ListenerFilter", &["name", "typed_config"]),
    ("envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector", &[]),
];

/// A cluster's `transport_socket` as weir's upstream TLS.
pub fn upstream(socket: &TransportSocket, at: &str, refusals: &mut Refusals) -> Option<UpstreamTls> {
    let context: UpstreamTlsContext = context(socket, "UpstreamTlsContext", at, refusals)?;
    let json = json_of(&context, at, refusals)?;
    let common = &json["common_tls_context"];
    let mut out = Map::new();
    copy_common(common, &mut out, at, refusals);
    if let Some(sni) = json.get("sni") {
        out.insert("sni".into(), sni.clone());
    }
    if let Some(v) = common.get("validation_context") {
        if let Some(ca) = v.get("trusted_ca") {
            out.insert("trusted_ca".into(), ca["filename"].clone());
        }
        let sans =
            v.get("match_typed_subject_alt_names").and_then(Value::as_array).cloned().unwrap_or_default();
        let names: Vec<Value> =
            sans.iter().map(|m| m["matcher"]["exact"].clone()).filter(|n| !n.is_null()).collect();
        if names.len() != sans.len() {
            refusals.add(
                &join(at, "common_tls_context.validation_context"),
                "weir matches subject alternative names exactly",
            );
        }
        out.insert("verify_subject_alt_name".into(), Value::Array(names));
    }
    match certificates(common).as_slice() {
        [] => {}
        [one] => {
            out.insert("client_certificate".into(), one.clone());
        }
        _ => refusals
            .add(&join(at, "common_tls_context.tls_certificates"), "weir presents one client certificate"),
    }
    parse(Value::Object(out), at, refusals)
}

/// A listener filter chain's `transport_socket` as weir's listener TLS.
pub fn downstream(socket: &TransportSocket, at: &str, refusals: &mut Refusals) -> Option<DownstreamTls> {
    let context: DownstreamTlsContext = context(socket, "DownstreamTlsContext", at, refusals)?;
    let json = json_of(&context, at, refusals)?;
    let common = &json["common_tls_context"];
    let mut out = Map::new();
    copy_common(common, &mut out, at, refusals);
    out.insert("certificates".into(), Value::Array(certificates(common)));
    if let Some(ca) = common.get("validation_context").and_then(|v| v.get("trusted_ca")) {
        let require = json.get("require_client_certificate") == Some(&json!(true));
        out.insert("client_certificates".into(), json!({"trusted_ca": ca["filename"], "require": require}));
    }
    parse(Value::Object(out), at, refusals)
}

fn context<M: prost::Message + prost::Name + Default>(
    socket: &TransportSocket,
    kind: &str,
    at: &str,
    refusals: &mut Refusals,
) -> Option<M> {
    let Some(ConfigType::TypedConfig(any)) = &socket.config_type else {
        refusals.add(at, format!("a typed_config ({TLS}.{kind}) is required by weir"));
        return None;
    };
    unpack::<M>(any).map_err(|e| refusals.add(&join(at, "typed_config"), e.to_string())).ok()
}

fn json_of<M: prost::Message + prost::Name>(message: &M, at: &str, refusals: &mut Refusals) -> Option<Value> {
    to_json(message).map_err(|e| refusals.add(at, e.to_string())).ok()
}

/// `alpn_protocols` and the TLS versions, the same in both directions.
fn copy_common(common: &Value, out: &mut Map<String, Value>, at: &str, refusals: &mut Refusals) {
    if let Some(alpn) = common.get("alpn_protocols") {
        out.insert("alpn_protocols".into(), alpn.clone());
    }
    for (envoy, weir) in
        [("tls_minimum_protocol_version", "min_version"), ("tls_maximum_protocol_version", "max_version")]
    {
        match common.get("tls_params").and_then(|p| p.get(envoy)).and_then(Value::as_str) {
            None | Some("TLS_AUTO") => {}
            Some(v @ ("TLSv1_2" | "TLSv1_3")) => {
                out.insert(weir.into(), json!(v));
            }
            Some(other) => refusals.add(
                &join(at, &format!("common_tls_context.tls_params.{envoy}")),
                format!("{other} is not supported by weir (TLSv1_2, TLSv1_3)"),
            ),
        }
    }
}

/// `tls_certificates` as weir's `{certificate_chain, private_key}` files.
fn certificates(common: &Value) -> Vec<Value> {
    let list = common.get("tls_certificates").and_then(Value::as_array).cloned().unwrap_or_default();
    list.iter()
        .map(|c| json!({"certificate_chain": c["certificate_chain"]["filename"], "private_key": c["private_key"]["filename"]}))
        .collect()
}

fn parse<T: serde::de::DeserializeOwned>(value: Value, at: &str, refusals: &mut Refusals) -> Option<T> {
    serde_json::from_value(value).map_err(|e| refusals.add(at, e.to_string())).ok()
}
