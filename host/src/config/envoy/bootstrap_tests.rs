use std::time::Duration;

use super::*;

fn translate(yaml: &str) -> Result<Config, ConfigError> {
    bootstrap(&serde_norway::from_str(yaml).unwrap(), "envoy.yaml")
}

const BOOTSTRAP: &str = r#"
node: { id: edge-1, cluster: edge, metadata: { zone: a } }
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 9901 } } }
dynamic_resources:
  ads_config:
    api_type: DELTA_GRPC
    transport_api_version: V3
    grpc_services: [ { envoy_grpc: { cluster_name: cp } } ]
  cds_config: { ads: {}, resource_api_version: V3, initial_fetch_timeout: 2s }
layered_runtime:
  layers:
  - { name: static, static_layer: { a: { b: 1 } } }
  - { name: rtds, rtds_layer: { name: rtds, rtds_config: { ads: {}, resource_api_version: V3 } } }
static_resources:
  listeners:
  - name: main
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: main
          stream_idle_timeout: 30s
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [ { match: { prefix: / }, route: { cluster: up } } ]
          http_filters:
          - name: rewrite
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                root_id: r
                vm_config: { vm_id: v, runtime: envoy.wasm.runtime.v8, code: { local: { filename: /f.wasm } } }
                configuration: { "@type": type.googleapis.com/google.protobuf.StringValue, value: '{"x": 1}' }
                failure_policy: FAIL_OPEN
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
  - name: up
    load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8080 } } } } ] } ] }
  - name: cp
    type: STATIC
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: {} }
    load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 18000 } } } } ] } ] }
"#;

#[test]
fn a_bootstrap_becomes_a_weir_config() {
    let config = translate(BOOTSTRAP).unwrap();
    crate::config::validate(&config).unwrap();
    let node = config.node();
    assert_eq!((node.id.as_str(), node.cluster.as_str()), ("edge-1", "edge"));
    assert_eq!(node.metadata["zone"], "a");
    assert_eq!(config.admin.as_ref().unwrap().address.port(), 9901);
    let listener = &config.listeners[0];
    assert_eq!(listener.address.port(), 10000);
    assert_eq!(listener.http_filters, ["rewrite"]);
    assert_eq!(listener.stream_idle_timeout, Duration::from_secs(30));
    // Envoy's defaults, not weir.yaml's.
    assert!(!listener.normalize_path && !listener.merge_slashes && !listener.use_remote_address);
    assert_eq!(listener.virtual_hosts[0].routes[0].route.as_ref().unwrap().cluster.as_deref(), Some("up"));
    let plugin = config.plugin("rewrite").unwrap();
    assert_eq!((plugin.root_id.as_str(), plugin.vm_id.as_str()), ("r", "v"));
    assert_eq!(plugin.configuration, Some(serde_json::json!("{\"x\": 1}")));
    assert_eq!(plugin.failure_policy, crate::config::FailurePolicy::FailOpen);
    assert!(config.cluster("cp").unwrap().http2);
    assert_eq!(config.cluster("up").unwrap().endpoints, ["127.0.0.1:8080"]);
    let xds = config.xds.as_ref().unwrap();
    assert!(xds.cds);
    assert_eq!(xds.cluster, "cp");
    assert_eq!(xds.api_type, crate::config::ApiType::DeltaGrpc);
    assert_eq!(xds.initial_fetch_timeout, Duration::from_secs(2));
    assert_eq!(config.runtime.layers.len(), 2);
    assert_eq!(config.runtime.layers[1].rtds_resource(), Some("rtds"));
}

#[test]
fn every_unsupported_field_is_listed_at_once() {
    let yaml = BOOTSTRAP
        .replace("stat_prefix: main", "stat_prefix: main\n          access_log: [ { name: x, filter: { not_health_check_filter: {} } } ]")
        .replace("  - name: up\n", "  - name: up\n    lb_policy: CLUSTER_PROVIDED\n")
        .replace("    api_type: DELTA_GRPC", "    api_type: DELTA_GRPC\n    rate_limit_settings: {}")
        + "overload_manager: { refresh_interval: 1s }\n";
    let e = translate(&yaml).unwrap_err().to_string();
    for expected in [
        "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.access_log[0].filter: ",
        "static_resources.clusters[0].lb_policy: CLUSTER_PROVIDED is not supported",
        "dynamic_resources.ads_config.rate_limit_settings: ",
        "overload_manager: ",
    ] {
        assert!(e.contains(expected), "missing `{expected}` in:\n{e}");
    }
}

#[test]
fn a_lua_filter_and_tcp_proxy_settings_weir_lacks_are_refused_by_name() {
    let lua = BOOTSTRAP.replace(
        "          - name: envoy.filters.http.router\n",
        "          - name: envoy.filters.http.lua\n            typed_config: { \"@type\": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua }\n          - name: envoy.filters.http.router\n",
    );
    let e = translate(&lua).unwrap_err().to_string();
    assert!(e.contains("http_filters[1]") && e.contains("envoy.extensions.filters.http.lua.v3.Lua"), "{e}");
    let tcp = r#"
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 1 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: c }
"#;
    let config = translate(tcp).unwrap();
    let proxy = config.listeners[0].tcp_proxy.as_ref().unwrap();
    assert_eq!((proxy.cluster.as_deref(), config.listeners[0].network_filters.len()), (Some("c"), 0));
    let attempts = tcp.replace("cluster: c }", "cluster: c, max_connect_attempts: 3 }");
    let e = translate(&attempts).unwrap_err().to_string();
    assert!(e.contains("TcpProxy.max_connect_attempts is not supported by weir"), "{e}");
    let rbac = tcp.replace(
        "      - name: envoy.filters.network.tcp_proxy\n",
        "      - name: rbac\n        typed_config: { \"@type\": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC, stat_prefix: r }\n      - name: envoy.filters.network.tcp_proxy\n",
    );
    let e = translate(&rbac).unwrap_err().to_string();
    assert!(e.contains("filters[0]") && e.contains("RBAC"), "{e}");
}

/// `BOOTSTRAP` with the Wasm filter's config from ECDS and the RTDS layer, both on streams of
/// their own (`api_config_source`), and no `dynamic_resources`.
fn per_type(api_type: &str, cluster: &str) -> String {
    let source = format!(
        "{{ resource_api_version: V3, api_config_source: {{ api_type: {api_type}, transport_api_version: V3, grpc_services: [ {{ envoy_grpc: {{ cluster_name: {cluster} }} }} ] }} }}"
    );
    let start = BOOTSTRAP.find("dynamic_resources:").unwrap();
    let end = BOOTSTRAP.find("layered_runtime:").unwrap();
    format!("{}{}", &BOOTSTRAP[..start], &BOOTSTRAP[end..])
        .replace("rtds_config: { ads: {}, resource_api_version: V3 }", &format!("rtds_config: {source}"))
        .replace(
            "            typed_config:\n              \"@type\": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm\n",
            &format!(
                "            config_discovery:\n              config_source: {source}\n              type_urls: [type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm]\n              default_config:\n                \"@type\": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm\n"
            ),
        )
        .replace("\n                root_id: r", "\n                  root_id: r")
        .replace("\n                vm_config:", "\n                  vm_config:")
        .replace("\n                configuration:", "\n                  configuration:")
        .replace("\n                failure_policy:", "\n                  failure_policy:")
        .replace("              config:\n                  root_id", "                config:\n                  root_id")
}

#[test]
fn ecds_and_rtds_on_streams_of_their_own() {
    let config = translate(&per_type("GRPC", "cp")).unwrap();
    crate::config::validate(&config).unwrap();
    let plugin = config.plugin("rewrite").unwrap();
    assert_eq!(plugin.config_discovery.as_ref().unwrap().resource_name.as_deref(), Some("rewrite"));
    assert_eq!(plugin.configuration, Some(serde_json::json!("{\"x\": 1}")));
    let xds = config.xds.as_ref().unwrap();
    assert_eq!((xds.cluster.as_str(), xds.api_type, xds.cds), ("cp", crate::config::ApiType::Grpc, false));
    use crate::config::XdsType::{Ecds, Rtds};
    assert_eq!(xds.separate_streams, [Rtds, Ecds]);
}

#[test]
fn config_sources_must_name_one_control_plane_and_ecds_a_default() {
    let yaml = per_type("GRPC", "cp").replacen("cluster_name: cp", "cluster_name: up", 1);
    let e = translate(&yaml).unwrap_err().to_string();
    assert!(e.contains("one control plane"), "{e}");
    let yaml = per_type("GRPC", "cp");
    let (start, end) = (
        yaml.find("              default_config:").unwrap(),
        yaml.find("          - name: envoy.filters.http.router").unwrap(),
    );
    let e = translate(&format!("{}{}", &yaml[..start], &yaml[end..])).unwrap_err().to_string();
    assert!(e.contains("config_discovery.default_config: a Wasm filter default_config is required"), "{e}");
    let yaml = per_type("REST", "cp");
    let e = translate(&yaml).unwrap_err().to_string();
    assert!(e.contains("api_config_source.api_type: GRPC or DELTA_GRPC is required by weir"), "{e}");
}

fn shuffle_shard() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../envoy-configs/shuffle-shard.yaml");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn the_shuffle_shard_bootstrap_translates_whole() {
    let config = translate(&shuffle_shard()).unwrap();
    crate::config::validate(&config).unwrap();
    let xds = config.xds.as_ref().unwrap();
    use crate::config::XdsType::{Ecds, Rtds};
    assert_eq!((xds.cluster.as_str(), xds.separate_streams.as_slice()), ("weir-cp", &[Rtds, Ecds][..]));
    let plugin = config.plugin("shuffle-shard").unwrap();
    assert_eq!(plugin.vm_id, "shard");
    assert!(plugin.config_discovery.is_some());
    let keepalive = config.cluster("weir-cp").unwrap().http2_keepalive.unwrap();
    assert_eq!((keepalive.interval, keepalive.timeout), (Duration::from_secs(30), Duration::from_secs(5)));
    let kinds: Vec<_> = config
        .runtime
        .layers
        .iter()
        .map(|l| (l.static_layer.is_some(), l.rtds_resource(), l.admin_layer.is_some()))
        .collect();
    assert_eq!(kinds, [(true, None, false), (false, Some("rtds"), false), (false, None, true)]);
}

#[test]
fn an_rtds_bridge_saying_otherwise_and_other_extensions_are_refused() {
    let yaml = shuffle_shard().replace(r#""layers": ["rtds"]"#, r#""layers": ["other"]"#);
    let e = translate(&yaml).unwrap_err().to_string();
    assert!(e.contains("bootstrap_extensions[0].typed_config: the rtds-bridge's layers"), "{e}");
    let yaml = shuffle_shard()
        .replace(r#""static_layer": {"shuffle_sharding": {"total_hosts": 8}}"#, r#""static_layer": {}"#);
    let e = translate(&yaml).unwrap_err().to_string();
    assert!(e.contains("static_layer is not layered_runtime's"), "{e}");
    let yaml = shuffle_shard().replace(r#""cluster": "weir-cp""#, r#""cluster": "other", "x": 1"#);
    let e = translate(&yaml).unwrap_err().to_string();
    assert!(e.contains("takes the rtds-bridge Wasm service alone"), "{e}");
}
