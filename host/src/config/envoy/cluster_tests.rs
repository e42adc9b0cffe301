use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use weir_xds::convert::envoy_json::from_json;

use super::*;

fn parse<M: prost::Message + prost::Name + Default>(yaml: &str) -> M {
    from_json(&serde_norway::from_str(yaml).unwrap()).unwrap()
}

fn translate(yaml: &str) -> Result<EnvoyCluster, crate::config::ConfigError> {
    cluster(&parse::<Cluster>(yaml), "clusters[0]")
}

#[test]
fn a_static_cluster_with_everything_weir_reads() {
    let c = translate(
        r#"
name: backend
type: STATIC
connect_timeout: 0.25s
lb_policy: MAGLEV
load_assignment:
  cluster_name: backend
  endpoints:
  - locality: { zone: a }
    lb_endpoints:
    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8080 } } }
    - endpoint: { address: { socket_address: { address: "::1", port_value: 8081 } } }
      health_status: HEALTHY
    - endpoint: { address: { socket_address: { address: 127.0.0.3, port_value: 8082 } } }
      health_status: DRAINING
typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config: { http2_protocol_options: {} }
circuit_breakers: { thresholds: [ { max_connections: 7, max_requests: 9 } ] }
outlier_detection: { consecutive_5xx: 3, base_ejection_time: 10s }
health_checks:
- timeout: 2s
  interval: 3s
  unhealthy_threshold: 2
  healthy_threshold: 1
  http_health_check: { path: /healthz, expected_statuses: [ { start: 200, end: 205 } ] }
"#,
    )
    .unwrap();
    assert_eq!(c.eds_service, None);
    let config = c.config;
    assert_eq!(config.endpoints, ["127.0.0.1:8080", "[::1]:8081"]);
    assert_eq!(config.connect_timeout, Duration::from_millis(250));
    assert_eq!(config.lb_policy, LbPolicy::Maglev);
    assert!(config.http2);
    assert_eq!((config.circuit_breakers.max_connections, config.circuit_breakers.max_requests), (7, 9));
    assert_eq!(config.circuit_breakers.max_pending_requests, 1024);
    let od = config.outlier_detection.unwrap();
    assert_eq!(
        (od.consecutive_5xx, od.base_ejection_time, od.max_ejection_percent),
        (3, Duration::from_secs(10), 10)
    );
    let hc = config.health_check.unwrap();
    assert_eq!(hc.path, "/healthz");
    assert_eq!(hc.expected_statuses, [200, 201, 202, 203, 204]);
    assert_eq!((hc.interval, hc.timeout), (Duration::from_secs(3), Duration::from_secs(2)));
}

#[test]
fn an_eds_cluster_names_its_service() {
    let c = translate("name: api\ntype: EDS\neds_cluster_config: { eds_config: { ads: {} } }").unwrap();
    assert_eq!(c.eds_service.as_deref(), Some("api"));
    assert!(c.config.endpoints.is_empty());
    let c = translate(
        "name: api\ntype: EDS\neds_cluster_config: { service_name: api-v2, eds_config: { ads: {} } }",
    )
    .unwrap();
    assert_eq!(c.eds_service.as_deref(), Some("api-v2"));
}

#[test]
fn strict_dns_keeps_hostnames() {
    let c = translate(
        "name: dns\ntype: STRICT_DNS\ndns_refresh_rate: 2s\nload_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: localhost, port_value: 80 } } } } ] } ] }",
    )
    .unwrap();
    assert_eq!(c.config.endpoints, ["localhost:80"]);
    assert_eq!(c.config.dns_refresh_rate, Duration::from_secs(2));
}

#[test]
fn every_unsupported_field_is_refused_with_its_path() {
    let e = translate(
        r#"
name: x
type: ORIGINAL_DST
lb_policy: CLUSTER_PROVIDED
per_connection_buffer_limit_bytes: 1024
outlier_detection: { interval: 1s }
load_assignment:
  endpoints:
  - priority: 40
    lb_endpoints:
    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } }, hostname: h }
  policy: { overprovisioning_factor: 200 }
typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    common_http_protocol_options: { idle_timeout: 1s }
    explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 5 } }
"#,
    )
    .unwrap_err()
    .to_string();
    for expected in [
        "clusters[0].per_connection_buffer_limit_bytes: envoy.config.cluster.v3.Cluster.per_connection_buffer_limit_bytes is not supported",
        "clusters[0].outlier_detection.interval: ",
        "clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.hostname: ",
        "clusters[0].typed_extension_protocol_options[\"envoy.extensions.upstreams.http.v3.HttpProtocolOptions\"].common_http_protocol_options: ",
        ".explicit_http_config.http2_protocol_options.max_concurrent_streams: ",
        "clusters[0].type: ORIGINAL_DST clusters are not supported",
        "clusters[0].lb_policy: CLUSTER_PROVIDED is not supported",
        "clusters[0].load_assignment.endpoints[0].priority: weir takes priorities 0 to 31",
        "clusters[0].load_assignment.policy: ",
    ] {
        assert!(e.contains(expected), "missing `{expected}` in:\n{e}");
    }
}

#[test]
fn endpoint_weights_are_taken_and_unknown_extensions_refused() {
    let yaml = |second: u32, maglev: bool| {
        format!(
            r#"
name: x
lb_policy: {policy}
load_assignment:
  endpoints:
  - lb_endpoints:
    - {{ endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: 1 }} }} }}, load_balancing_weight: 1 }}
    - {{ endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: 2 }} }} }}, load_balancing_weight: {second} }}
"#,
            policy = if maglev { "MAGLEV" } else { "ROUND_ROBIN" }
        )
    };
    let c = translate(&yaml(3, false)).unwrap().config;
    assert_eq!(c.endpoints[0], "127.0.0.1:1");
    assert_eq!(
        c.endpoints[1],
        EndpointConfig::Weighted { address: "127.0.0.1:2".into(), weight: 3, priority: 0 }
    );
    // Weighted Maglev and ring hash are refused when the cluster is checked.
    let maglev = translate(&yaml(3, true)).unwrap().config;
    let e = crate::config::check_cluster_settings(&maglev, "clusters[0]").unwrap_err().to_string();
    assert!(e.contains("ring_hash and maglev need equal weights"), "{e}");
    let e = translate(&yaml(1000, false)).unwrap_err().to_string();
    assert!(e.contains("lb_endpoints[1].load_balancing_weight: weir takes weights of 1 to 128"), "{e}");
    let e = translate(&format!(
        "{}typed_extension_protocol_options:\n  envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions:\n    \"@type\": type.googleapis.com/envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions\n",
        yaml(1, false)
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("TcpProtocolOptions is not supported by weir"), "{e}");
}

#[test]
fn an_eds_assignment() {
    let cla: ClusterLoadAssignment = parse(
        r#"
cluster_name: api
endpoints:
- locality: { zone: a }
  lb_endpoints:
  - endpoint: { address: { socket_address: { address: 10.0.0.1, port_value: 80 } } }
- locality: { zone: b }
  lb_endpoints:
  - endpoint: { address: { socket_address: { address: 10.0.0.2, port_value: 80 } } }
    health_status: UNHEALTHY
  - endpoint: { address: { socket_address: { address: 10.0.0.3, port_value: 80 } } }
"#,
    );
    assert_eq!(load_assignment(&cla, "").unwrap(), ["10.0.0.1:80", "10.0.0.3:80"]);
    let bad: ClusterLoadAssignment = parse("cluster_name: api\npolicy: { overprovisioning_factor: 100 }");
    let e = load_assignment(&bad, "").unwrap_err().to_string();
    assert!(e.starts_with("policy: "), "{e}");
}

#[test]
fn upstream_tls_from_files_and_what_is_refused() {
    let c = translate(
        r#"
name: secure
load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 443 } } } } ] } ] }
transport_socket:
  name: envoy.transport_sockets.tls
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
    sni: up.example
    common_tls_context:
      alpn_protocols: [h2]
      tls_params: { tls_minimum_protocol_version: TLSv1_3 }
      validation_context:
        trusted_ca: { filename: /pki/ca.pem }
        match_typed_subject_alt_names: [ { san_type: DNS, matcher: { exact: up.example } } ]
"#,
    )
    .unwrap();
    let tls = c.config.tls.unwrap();
    assert_eq!(tls.sni.as_deref(), Some("up.example"));
    assert_eq!(tls.trusted_ca.as_deref(), Some(std::path::Path::new("/pki/ca.pem")));
    assert_eq!(tls.verify_subject_alt_name, ["up.example"]);
    assert_eq!(tls.alpn_protocols.as_deref(), Some(&["h2".to_string()][..]));
    assert_eq!(tls.min_version, weir_tls::TlsVersion::Tls13);
    let e = translate(
        r#"
name: secure
transport_socket:
  name: envoy.transport_sockets.tls
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
    common_tls_context:
      validation_context:
        trusted_ca: { inline_string: "PEM" }
        match_typed_subject_alt_names: [ { san_type: DNS, matcher: { prefix: up } } ]
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("validation_context.trusted_ca.inline_string: "), "{e}");
    assert!(e.contains("match_typed_subject_alt_names[0].matcher.prefix: "), "{e}");
}

#[test]
fn an_assignment_over_the_cap_is_refused() {
    use envoy_types::pb::envoy::config::endpoint::v3::{LbEndpoint, LocalityLbEndpoints};
    let many = LocalityLbEndpoints {
        lb_endpoints: vec![LbEndpoint::default(); crate::config::envoy::MAX_ENDPOINTS_PER_CLUSTER + 1],
        ..LocalityLbEndpoints::default()
    };
    let cla = ClusterLoadAssignment { cluster_name: "a".into(), endpoints: vec![many], ..Default::default() };
    let e = load_assignment(&cla, "").unwrap_err().to_string();
    assert!(e.contains("10001 endpoints: weir takes at most 10000"), "{e}");
}

#[test]
fn http2_keepalive_towards_a_cluster() {
    let yaml = |keepalive: &str| {
        format!(
            r#"
name: cp
load_assignment: {{ endpoints: [ {{ lb_endpoints: [ {{ endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: 1 }} }} }} }} ] }} ] }}
typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config: {{ http2_protocol_options: {{ connection_keepalive: {keepalive} }} }}
"#
        )
    };
    let c = translate(&yaml("{ interval: 30s, timeout: 5s }")).unwrap().config;
    assert!(c.http2);
    let keepalive = c.http2_keepalive.unwrap();
    assert_eq!((keepalive.interval, keepalive.timeout), (Duration::from_secs(30), Duration::from_secs(5)));
    let e = translate(&yaml("{ interval: 30s }")).unwrap_err().to_string();
    assert!(e.contains("connection_keepalive: interval and timeout are required by weir"), "{e}");
    let e = translate(&yaml("{ interval: 30s, timeout: 5s, interval_jitter: { value: 10 } }"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("connection_keepalive.interval_jitter: "), "{e}");
}

#[test]
fn logical_dns_takes_one_endpoint() {
    let yaml = |endpoints: &str| {
        format!(
            "name: api\ntype: LOGICAL_DNS\nload_assignment: {{ endpoints: [ {{ lb_endpoints: [ {endpoints} ] }} ] }}\n"
        )
    };
    let one = "{ endpoint: { address: { socket_address: { address: api.internal, port_value: 443 } } } }";
    let c = translate(&yaml(one)).unwrap().config;
    assert!(c.logical_dns);
    assert_eq!(c.endpoints, ["api.internal:443"]);
    let e = translate(&yaml(&format!("{one}, {one}"))).unwrap_err().to_string();
    assert!(e.contains("a LOGICAL_DNS cluster takes exactly one endpoint"), "{e}");
}

#[test]
fn typed_filter_metadata_is_taken() {
    let c = translate(
        r#"
name: meta
load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } } } } ] } ] }
metadata:
  typed_filter_metadata:
    probe.typed: { "@type": type.googleapis.com/google.protobuf.StringValue, value: canary }
"#,
    )
    .unwrap()
    .config;
    let typed = &c.metadata.unwrap().typed_filter_metadata["probe.typed"];
    assert_eq!(typed["value"], "canary");
}
