//! weir's xDS client against a scripted ADS server: subscriptions, ACK/NACK with versions and
//! nonces, RTDS layers reaching filters, ECDS plugin configs (and their refusal), the initial
//! fetch, and reconnecting with the versions held.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/ads.rs"]
mod ads;
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ads::{AdsStream, ScriptedAds};
use envoy_types::pb::envoy::config::core::v3::{
    AsyncDataSource, DataSource, TypedExtensionConfig, async_data_source, data_source,
};
use envoy_types::pb::envoy::extensions::filters::http::wasm::v3::Wasm;
use envoy_types::pb::envoy::extensions::wasm::v3::{PluginConfig, VmConfig, plugin_config};
use envoy_types::pb::envoy::service::runtime::v3::Runtime;
use envoy_types::pb::google::protobuf::{Any, StringValue};
use serde_json::json;
use support::{Client, Reply};
use weir_admin_guard::Token;
use weir_host::config::Config;
use weir_host::process::server::{RunningServer, ServerOptions};
use weir_testing::EchoServer;
use weir_xds::convert::{json_to_struct, pack};
use weir_xds::types::{EXTENSION_CONFIG, RUNTIME};

const TOKEN: &str = "weir-xds-client-token-0123456789";

fn shuffle_shard() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filters/shuffle-shard.wasm");
    assert!(path.exists(), "{} missing: run `cargo xtask build-filters`", path.display());
    path
}

fn config(ads: &ScriptedAds, echo: &EchoServer, initial_fetch_timeout: &str) -> Config {
    let yaml = format!(
        r#"
admin: {{ address: 127.0.0.1:0 }}
listeners:
  - name: main
    address: 127.0.0.1:0
    http_filters: [shard]
    virtual_hosts:
      - name: all
        domains: ['*']
        routes:
          - name: default
            match: {{ prefix: / }}
            route: {{ cluster: upstream }}
clusters:
  - name: upstream
    endpoints: ['{echo}']
  - name: control-plane
    endpoints: ['{ads}']
    http2: true
plugins:
  - name: shard
    wasm: {wasm}
    vm_id: filters
    configuration: {{ "total_hosts": 4, "shard_size": 1 }}
    config_discovery: {{}}
runtime:
  layers:
    - name: static
      static_layer: {{ shuffle_sharding: {{ total_hosts: 6 }} }}
    - name: rtds
      rtds_layer: {{}}
    - name: admin
      admin_layer: {{}}
xds:
  cluster: control-plane
  node_id: test-node
  initial_fetch_timeout: {initial_fetch_timeout}
"#,
        echo = echo.addr(),
        ads = ads.addr,
        wasm = shuffle_shard().display(),
    );
    Config::parse(&yaml, "test").unwrap()
}

fn runtime(values: serde_json::Value) -> Vec<Any> {
    vec![pack(&Runtime { name: "rtds".into(), layer: json_to_struct(&values) })]
}

fn ecds(configuration: &str) -> Vec<Any> {
    ecds_with_module(configuration, None)
}

/// An ECDS resource that also names its module (`vm_config.code.local.filename`).
fn ecds_with_module(configuration: &str, filename: Option<&Path>) -> Vec<Any> {
    let code = filename.map(|f| AsyncDataSource {
        specifier: Some(async_data_source::Specifier::Local(DataSource {
            specifier: Some(data_source::Specifier::Filename(f.display().to_string())),
            ..DataSource::default()
        })),
    });
    let plugin = PluginConfig {
        name: "shard".into(),
        configuration: Some(pack(&StringValue { value: configuration.into() })),
        vm: Some(plugin_config::Vm::VmConfig(VmConfig {
            vm_id: "filters".into(),
            runtime: "envoy.wasm.runtime.v8".into(),
            code,
            ..VmConfig::default()
        })),
        ..PluginConfig::default()
    };
    let typed = TypedExtensionConfig {
        name: "shard".into(),
        typed_config: Some(pack(&Wasm { config: Some(plugin) })),
    };
    vec![pack(&typed)]
}

fn shard(client: &Client, server: &RunningServer, customer: &str) -> Reply {
    let addr = server.listener_addr("main").unwrap();
    client.get(addr, "example.com", "/orders", &[("x-customer-id", customer)])
}

/// Starts weir on another thread (start waits for the initial fetch) and returns the
/// client's first stream with its two subscriptions read.
fn start(
    ads: &mut ScriptedAds,
    config: Config,
) -> (std::thread::JoinHandle<RunningServer>, AdsStream, Vec<String>) {
    let mut options = ServerOptions::with_concurrency(2);
    options.admin_token = Some(Token::new(TOKEN, "test").unwrap());
    let weir = std::thread::spawn(move || RunningServer::start(config, options).unwrap());
    let mut stream = ads.stream();
    let mut types = Vec::new();
    for _ in 0..2 {
        let request = stream.request(&ads.rt);
        assert_eq!(request.node.as_ref().unwrap().id, "test-node");
        assert_eq!(request.response_nonce, "");
        assert!(request.error_detail.is_none());
        let expected_names = if request.type_url == RUNTIME { "rtds" } else { "shard" };
        assert_eq!(request.resource_names, [expected_names]);
        types.push(request.type_url);
    }
    types.sort();
    (weir, stream, types)
}

#[test]
fn rtds_layers_reach_filters_and_bad_layers_are_nacked_keeping_the_last_values() {
    let mut ads = ScriptedAds::start();
    let echo = EchoServer::start().unwrap();
    let (weir, mut stream, types) = {
        let config = config(&ads, &echo, "10s");
        start(&mut ads, config)
    };
    assert_eq!(types, [EXTENSION_CONFIG, RUNTIME]);

    // The initial fetch: start returns only once both types had an answer.
    let nonce = stream.respond(
        RUNTIME,
        "1",
        runtime(
            json!({"shuffle_sharding": {"total_hosts": 10, "customer": {"customer-A": {"shard_size": 3}}}}),
        ),
    );
    let ack = stream.request(&ads.rt);
    assert_eq!(
        (ack.type_url.as_str(), ack.version_info.as_str(), ack.response_nonce.as_str()),
        (RUNTIME, "1", nonce.as_str())
    );
    assert!(ack.error_detail.is_none());
    assert!(!weir.is_finished(), "weir must wait for every subscription's first answer");
    stream.respond(EXTENSION_CONFIG, "1", Vec::new());
    stream.request(&ads.rt);
    let server = weir.join().unwrap();
    let client = Client::new();
    let reply = shard(&client, &server, "customer-A");
    assert_eq!(reply.header("x-shard-hosts"), Some("0,1,7"), "{:?}", reply.headers);

    // A list is not a runtime value: NACK with the reason, previous version, values kept.
    let nonce = stream.respond(RUNTIME, "2", runtime(json!({"shuffle_sharding": {"total_hosts": [1, 2]}})));
    let nack = stream.request(&ads.rt);
    assert_eq!((nack.version_info.as_str(), nack.response_nonce.as_str()), ("1", nonce.as_str()));
    let reason = nack.error_detail.expect("a NACK").message;
    assert!(reason.contains("shuffle_sharding.total_hosts") && reason.contains("list"), "{reason}");
    assert_eq!(shard(&client, &server, "customer-A").header("x-shard-hosts"), Some("0,1,7"));
    let status = server.control().xds_status().unwrap();
    assert_eq!(status.types[RUNTIME].acked_version, "1");
    assert_eq!(status.types[RUNTIME].last_nack.as_ref().unwrap().version, "2");

    // The next good version applies; the static layer shows through where RTDS is silent.
    stream.respond(RUNTIME, "3", runtime(json!({"shuffle_sharding.default_shard_size": 2})));
    assert_eq!(stream.request(&ads.rt).version_info, "3");
    let reply = shard(&client, &server, "customer-A");
    assert_eq!(reply.header("x-shard-config"), Some("total=6;size=2;source=runtime;total_source=runtime"));

    // /runtime shows the layers as Envoy does.
    let admin = server.admin_addr().unwrap();
    let body = client.get(admin, &admin.to_string(), "/runtime", &[]).text();
    let runtime: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(runtime["layers"], json!(["static", "rtds", "admin"]));
    assert_eq!(
        runtime["entries"]["shuffle_sharding.total_hosts"],
        json!({"final_value": "6", "layer_values": ["6", "", ""]})
    );

    // The admin layer (Envoy's `POST /runtime_modify`) overrides the others and reaches the
    // filter; an empty value removes the key. Changing it needs the token.
    let modify = |query: &str, token: bool| {
        let mut request =
            http::Request::post(format!("/runtime_modify?{query}")).header("host", admin.to_string());
        if token {
            request = request.header("authorization", format!("Bearer {TOKEN}"));
        }
        client.send(admin, request.body(bytes::Bytes::new()).unwrap()).unwrap()
    };
    assert_eq!(modify("shuffle_sharding.total_hosts=9", false).status, 401);
    let reply = modify("shuffle_sharding.total_hosts=9&note=a+b%21", true);
    assert_eq!((reply.status, reply.text().as_str()), (200, "OK\n"));
    let reply = shard(&client, &server, "customer-A");
    assert_eq!(reply.header("x-shard-config"), Some("total=9;size=2;source=runtime;total_source=runtime"));
    let body = client.get(admin, &admin.to_string(), "/runtime", &[]).text();
    let runtime: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(runtime["entries"]["note"]["final_value"], "a b!");
    modify("shuffle_sharding.total_hosts=", true);
    let reply = shard(&client, &server, "customer-A");
    assert_eq!(reply.header("x-shard-config"), Some("total=6;size=2;source=runtime;total_source=runtime"));
    let metrics = client.get(admin, &admin.to_string(), "/stats/prometheus", &[]).text();
    assert!(metrics.contains(r#"weir_xds_update_total{type="Runtime",result="rejected"} 1"#), "{metrics}");
    assert!(metrics.contains("weir_xds_connected 1"), "{metrics}");
}

#[test]
fn ecds_swaps_the_plugin_config_and_a_refused_config_is_nacked_while_the_old_one_serves() {
    let mut ads = ScriptedAds::start();
    let echo = EchoServer::start().unwrap();
    let (weir, mut stream, _) = {
        let config = config(&ads, &echo, "10s");
        start(&mut ads, config)
    };
    stream.respond(RUNTIME, "r1", runtime(json!({})));
    stream.request(&ads.rt);
    stream.respond(
        EXTENSION_CONFIG,
        "e1",
        ecds(r#"{"total_hosts": 10, "shard_size": 3, "config_header": ""}"#),
    );
    let ack = stream.request(&ads.rt);
    assert_eq!((ack.type_url.as_str(), ack.version_info.as_str()), (EXTENSION_CONFIG, "e1"));
    assert!(ack.error_detail.is_none(), "{:?}", ack.error_detail);
    let server = weir.join().unwrap();
    let client = Client::new();
    // Static layer says 6 hosts; the ECDS config asks for 3 per shard and no config header.
    let reply = shard(&client, &server, "customer-A");
    assert_eq!(
        (reply.header("x-shard-config"), reply.header("x-shard-hosts").map(|h| h.split(',').count())),
        (None, Some(3))
    );

    // on_configure refuses this one (shard_size 0): NACK with the plugin's reason, old config serves.
    stream.respond(EXTENSION_CONFIG, "e2", ecds(r#"{"total_hosts": 10, "shard_size": 0}"#));
    let nack = stream.request(&ads.rt);
    assert_eq!(nack.version_info, "e1");
    let reason = nack.error_detail.expect("a NACK").message;
    assert!(reason.contains("rejected its configuration") && reason.contains("shard_size"), "{reason}");
    let reply = shard(&client, &server, "customer-A");
    assert_eq!(reply.header("x-shard-hosts").map(|h| h.split(',').count()), Some(3));
}

#[test]
fn start_serves_after_the_initial_fetch_timeout_and_reconnects_with_the_versions_held() {
    let mut ads = ScriptedAds::start();
    let echo = EchoServer::start().unwrap();
    // No answer at all: weir starts anyway after the timeout, with the static layer.
    let (weir, mut stream, _) = {
        let config = config(&ads, &echo, "300ms");
        start(&mut ads, config)
    };
    let server = weir.join().unwrap();
    let client = Client::new();
    assert_eq!(
        shard(&client, &server, "customer-A").header("x-shard-config"),
        Some("total=6;size=1;source=config;total_source=runtime")
    );
    stream.respond(RUNTIME, "7", runtime(json!({"shuffle_sharding": {"default_shard_size": 2}})));
    assert_eq!(stream.request(&ads.rt).version_info, "7");

    // The control plane goes away: values stay; the client comes back with what it holds.
    stream.close();
    let mut again = ads.stream();
    let mut versions = Vec::new();
    for _ in 0..2 {
        let r = again.request(&ads.rt);
        assert_eq!(r.response_nonce, "");
        versions.push((r.type_url, r.version_info));
    }
    versions.sort();
    assert_eq!(
        versions,
        [(EXTENSION_CONFIG.to_string(), String::new()), (RUNTIME.to_string(), "7".to_string())]
    );
    assert_eq!(
        shard(&client, &server, "customer-A").header("x-shard-config"),
        Some("total=6;size=2;source=runtime;total_source=runtime")
    );
    // No resend loop: without a response the client asks nothing more.
    assert!(again.request_within(&ads.rt, Duration::from_millis(300)).is_none());
    let status = server.control().xds_status().unwrap();
    assert!(status.connected && status.connects == 2 && status.disconnects == 1, "{status:?}");
}

#[test]
fn ecds_modules_must_be_regular_files_under_the_module_directories() {
    let dir = tempfile::tempdir().unwrap();
    let modules = dir.path().join("modules");
    std::fs::create_dir(&modules).unwrap();
    std::fs::copy(shuffle_shard(), modules.join("ok.wasm")).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(modules.join("pipe.wasm")).status().unwrap().success());
    std::os::unix::fs::symlink("/etc/passwd", modules.join("passwd.wasm")).unwrap();
    std::fs::create_dir(modules.join("dir.wasm")).unwrap();
    std::fs::write(modules.join("big.wasm"), vec![0u8; 3 << 20]).unwrap();
    std::fs::copy(shuffle_shard(), dir.path().join("outside.wasm")).unwrap();

    let mut ads = ScriptedAds::start();
    let echo = EchoServer::start().unwrap();
    let (weir, mut stream, _) = {
        let mut config = config(&ads, &echo, "10s");
        config.module_sources.directories = vec![modules.clone()];
        config.module_sources.max_module_bytes = 2 << 20;
        start(&mut ads, config)
    };
    stream.respond(RUNTIME, "r1", runtime(json!({})));
    stream.request(&ads.rt);
    let good = r#"{"total_hosts": 10, "shard_size": 3}"#;
    stream.respond(EXTENSION_CONFIG, "e1", ecds_with_module(good, Some(&modules.join("ok.wasm"))));
    assert!(stream.request(&ads.rt).error_detail.is_none());
    let server = weir.join().unwrap();
    let client = Client::new();
    let hosts = |client: &Client| {
        shard(client, &server, "customer-A").header("x-shard-hosts").map(|h| h.split(',').count())
    };
    assert_eq!(hosts(&client), Some(3));

    let cases = [
        (PathBuf::from("/dev/zero"), "not under the module directories"),
        (dir.path().join("outside.wasm"), "not under the module directories"),
        (modules.join("passwd.wasm"), "resolves to /etc/passwd"),
        (modules.join("pipe.wasm"), "is a FIFO"),
        (modules.join("dir.wasm"), "is a directory"),
        (modules.join("big.wasm"), "over module_sources.max_module_bytes"),
    ];
    for (i, (path, reason)) in cases.iter().enumerate() {
        let started = Instant::now();
        stream.respond(EXTENSION_CONFIG, &format!("bad{i}"), ecds_with_module(good, Some(path)));
        let nack = stream.request_within(&ads.rt, Duration::from_secs(5)).expect("an answer within 5 s");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(nack.version_info, "e1", "{}", path.display());
        let message = nack.error_detail.expect("a NACK").message;
        assert!(message.contains(reason), "{}: {message}", path.display());
        assert_eq!(hosts(&client), Some(3), "the running config is kept");
    }
}
