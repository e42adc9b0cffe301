//! Plugin modules fetched over HTTP (a plugin's `remote`: URL + SHA-256), against a real
//! local HTTP server: fetched, verified, cached by digest, served; a wrong digest refused and
//! never cached; the cache used with the server gone; a failed fetch keeps the running module;
//! hostile servers (huge, endless, silent, redirect loops) bounded; and pulled from a real OCI
//! registry (Debian's `docker-registry`) by tag or by manifest digest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/registry.rs"]
mod registry;
mod support;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::Request;
use registry::Registry;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::Client;
use weir_admin_guard::Token;
use weir_host::config::Config;
use weir_host::process::server::{RunningServer, ServerOptions, StartError};
use weir_testing::modules::{ModuleServer, Serve};

const TOKEN: &str = "weir-remote-modules-token-0123";

fn filter(name: &str) -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filters").join(format!("{name}.wasm"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}: run `cargo xtask build-filters`", path.display()))
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// weir with one plugin whose module is `remote` (YAML), the cache in `cache`, and `sources`
/// (more `module_sources` fields, one line).
fn start(remote: &str, cache: &Path, sources: &str) -> Result<RunningServer, StartError> {
    let yaml = format!(
        r#"
admin:
  address: 127.0.0.1:0
listeners:
  - name: main
    address: 127.0.0.1:0
    http_filters: [rewrite]
    virtual_hosts:
      - name: all
        domains: ['*']
        routes:
          - match: {{ prefix: / }}
            direct_response: {{ status: 200, body: "ok\n" }}
plugins:
  - name: rewrite
    remote: {remote}
    configuration: '{{"response_headers_to_set": {{"x-powered-by": "weir"}}}}'
module_sources:
  cache_directory: {cache}
  max_module_bytes: 4194304
  {sources}
"#,
        cache = cache.display()
    );
    let mut options = ServerOptions::with_concurrency(1);
    options.admin_token = Some(Token::new(TOKEN, "test").unwrap());
    RunningServer::start(Config::parse(&yaml, "test")?, options)
}

fn remote(url: &str, digest: &str) -> String {
    format!("{{ url: '{url}', sha256: {digest}, timeout: 2s, retries: 1 }}")
}

fn oci(url: &str, digest: &str) -> String {
    format!("{{ url: '{url}', sha256: {digest}, timeout: 5s, retries: 1 }}")
}

fn admin(client: &Client, weir: &RunningServer, method: &str, path: &str, body: &str) -> (u16, String) {
    let addr = weir.admin_addr().unwrap();
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap();
    let reply = client.send(addr, request).unwrap();
    (reply.status, reply.text())
}

fn plugin_view(client: &Client, weir: &RunningServer) -> Value {
    let (_, text) = admin(client, weir, "GET", "/plugins", "");
    serde_json::from_str::<Value>(&text).unwrap()[0].clone()
}

fn fetches(client: &Client, weir: &RunningServer, result: &str) -> u64 {
    let (_, text) = admin(client, weir, "GET", "/stats/prometheus", "");
    let series = format!("weir_module_fetch_total{{result=\"{result}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&series)).map_or(0, |v| v.trim().parse().unwrap())
}

fn powered_by(client: &Client, weir: &RunningServer) -> Option<String> {
    let reply = client.get(weir.listener_addr("main").unwrap(), "example.com", "/", &[]);
    reply.header("x-powered-by").map(str::to_string)
}

fn cached_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_module_is_fetched_verified_cached_and_then_found_without_the_network() {
    let module = filter("header-rewrite");
    let digest = sha256(&module);
    let mut server = ModuleServer::start().unwrap();
    server.serve("/m/header-rewrite.wasm", Serve::Bytes(module));
    let cache = tempfile::tempdir().unwrap();
    let client = Client::new();

    let weir = start(&remote(&server.url("/m/header-rewrite.wasm"), &digest), cache.path(), "").unwrap();
    assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir"));
    assert_eq!(server.hits(), 1);
    assert_eq!(cached_files(cache.path()), vec![format!("{digest}.wasm")]);
    let view = plugin_view(&client, &weir);
    assert_eq!(view["sha256"], digest.as_str(), "{view}");
    assert_eq!(view["remote"]["last_fetch"]["result"], "fetched", "{view}");
    assert_eq!(fetches(&client, &weir, "fetched"), 1);
    drop(weir);

    // The server gone: a new weir starts from the cache, asking nothing of the network.
    server.stop();
    let weir = start(&remote(&server.url("/m/header-rewrite.wasm"), &digest), cache.path(), "").unwrap();
    assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir"));
    assert_eq!(server.hits(), 1);
    let view = plugin_view(&client, &weir);
    assert_eq!(view["remote"]["last_fetch"]["result"], "cached", "{view}");
    assert_eq!(view["remote"]["last_fetch"]["attempts"], 0, "{view}");
    assert_eq!(fetches(&client, &weir, "cached"), 1);
}

#[test]
fn a_module_with_another_digest_is_refused_and_never_cached() {
    let module = filter("header-rewrite");
    let server = ModuleServer::start().unwrap();
    server.serve("/m.wasm", Serve::Bytes(module.clone()));
    let cache = tempfile::tempdir().unwrap();
    let wanted = sha256(b"another module");
    let err = start(&remote(&server.url("/m.wasm"), &wanted), cache.path(), "").unwrap_err().to_string();
    assert!(err.contains(&format!("sha256 is {}, not the {wanted} asked for", sha256(&module))), "{err}");
    assert!(err.starts_with("plugin `rewrite`: module http://"), "{err}");
    assert_eq!(cached_files(cache.path()), Vec::<String>::new());
    // A digest mismatch is final: not fetched again.
    assert_eq!(server.hits(), 1);

    // A tampered cache entry is not used either: fetched again.
    let digest = sha256(&module);
    std::fs::write(cache.path().join(format!("{digest}.wasm")), b"\0asm tampered").unwrap();
    let weir = start(&remote(&server.url("/m.wasm"), &digest), cache.path(), "").unwrap();
    assert_eq!(server.hits(), 2);
    assert_eq!(std::fs::read(cache.path().join(format!("{digest}.wasm"))).unwrap(), module);
    drop(weir);
}

#[test]
fn a_failed_fetch_keeps_the_running_module_and_says_why() {
    let rewrite = filter("header-rewrite");
    let gate = filter("require-header");
    let server = ModuleServer::start().unwrap();
    server.serve("/rewrite.wasm", Serve::Bytes(rewrite.clone()));
    let cache = tempfile::tempdir().unwrap();
    let client = Client::new();
    let weir = start(&remote(&server.url("/rewrite.wasm"), &sha256(&rewrite)), cache.path(), "").unwrap();
    assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir"));

    // A new module that is not there yet (404): refused, the running one serves on.
    let swap = json!({
        "remote": {"url": server.url("/gate.wasm"), "sha256": sha256(&gate), "timeout": "2s", "retries": 1},
        "configuration": r#"{"header": "x-key", "status": 401}"#,
    })
    .to_string();
    let (status, body) = admin(&client, &weir, "PUT", "/plugins/rewrite", &swap);
    assert_eq!(status, 400, "{body}");
    // A 404 is not tried again.
    assert!(body.contains("1 attempt(s) failed, the last: HTTP status 404"), "{body}");
    assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir"));
    let view = plugin_view(&client, &weir);
    assert_eq!(view["remote"]["last_fetch"]["result"], "failed", "{view}");
    assert!(view["remote"]["last_fetch"]["error"].as_str().unwrap().contains("404"), "{view}");
    assert_eq!(fetches(&client, &weir, "failed"), 1);

    // Published: the same change now swaps the module in.
    server.serve("/gate.wasm", Serve::Bytes(gate.clone()));
    let (status, body) = admin(&client, &weir, "PUT", "/plugins/rewrite", &swap);
    assert_eq!(status, 200, "{body}");
    let reply = client.get(weir.listener_addr("main").unwrap(), "example.com", "/", &[]);
    assert_eq!(reply.status, 401);
    let view = plugin_view(&client, &weir);
    assert_eq!(view["sha256"], sha256(&gate).as_str());
    assert_eq!(view["remote"]["last_fetch"]["result"], "fetched", "{view}");
    // Fetched once, before the change applied (then found in the cache, not counted again).
    assert_eq!((fetches(&client, &weir, "fetched"), fetches(&client, &weir, "cached")), (2, 0));

    // A URL outside the origins the config file names is refused before any fetch.
    let hits = server.hits();
    let elsewhere =
        json!({"remote": {"url": "http://127.0.0.2:9/x.wasm", "sha256": sha256(&gate)}}).to_string();
    let (status, body) = admin(&client, &weir, "PUT", "/plugins/rewrite", &elsewhere);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("is not under module_sources.url_prefixes"), "{body}");
    assert_eq!(server.hits(), hits);
}

#[test]
fn hostile_module_servers_are_bounded() {
    let server = ModuleServer::start().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let digest = sha256(b"whatever");
    server.serve("/huge.wasm", Serve::Bytes(vec![0u8; 5 << 20]));
    server.serve("/endless.wasm", Serve::Endless);
    server.serve("/silent.wasm", Serve::Hang);
    server.serve("/loop.wasm", Serve::Redirect("/loop.wasm".into()));
    // Another origin, not under the prefixes (the default: this server's origin only).
    server.serve("/away.wasm", Serve::Redirect("http://127.0.0.2:9/x.wasm".into()));
    let cases = [
        ("/huge.wasm", "over module_sources.max_module_bytes (4194304 bytes)", 1),
        ("/endless.wasm", "over module_sources.max_module_bytes (4194304 bytes)", 1),
        ("/silent.wasm", "no complete answer within 300ms", 2),
        ("/loop.wasm", "more than 5 redirects", 1),
        ("/away.wasm", "leaves http://127.0.0.1:", 1),
    ];
    for (path, reason, attempts) in cases {
        let spec = format!("{{ url: '{}', sha256: {digest}, timeout: 300ms, retries: 1 }}", server.url(path));
        let err = start(&spec, cache.path(), "").unwrap_err().to_string();
        assert!(err.contains(reason), "{path}: {err}");
        assert!(err.contains(&format!("{attempts} attempt(s) failed")), "{path}: {err}");
    }
    assert_eq!(cached_files(cache.path()), Vec::<String>::new());
}

#[test]
fn modules_are_pulled_from_an_oci_registry_by_tag_or_digest_and_cached() {
    let mut registry = Registry::start();
    let client = Client::new();
    let module = filter("header-rewrite");
    let digest = sha256(&module);
    let manifest = registry.push(&client, "filters/header-rewrite", "1.0", registry::WASM_LAYER, &module);
    let base = format!("oci://{}/filters/header-rewrite", registry.addr);
    let insecure = format!("insecure_registries: [\"{}\"]", registry.addr);

    let by_tag = tempfile::tempdir().unwrap();
    let weir = start(&oci(&format!("{base}:1.0"), &digest), by_tag.path(), &insecure).unwrap();
    assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir"));
    assert_eq!(plugin_view(&client, &weir)["remote"]["last_fetch"]["result"], "fetched");
    drop(weir);

    // Pinned by manifest digest (a tag that moves cannot change it).
    let by_digest = tempfile::tempdir().unwrap();
    let weir = start(&oci(&format!("{base}@{manifest}"), &digest), by_digest.path(), &insecure).unwrap();
    assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir"));
    drop(weir);

    // Istio's image format: the only layer a tar+gzip archive holding plugin.wasm (made by tar).
    let files = tempfile::tempdir().unwrap();
    std::fs::create_dir(files.path().join("root")).unwrap();
    std::fs::write(files.path().join("root/plugin.wasm"), &module).unwrap();
    let archive = files.path().join("layer.tar.gz");
    let tar = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(files.path().join("root"))
        .arg("plugin.wasm")
        .status()
        .unwrap();
    assert!(tar.success());
    let layer = std::fs::read(&archive).unwrap();
    registry.push(&client, "filters/header-rewrite", "image", registry::IMAGE_LAYER, &layer);
    let from_image = tempfile::tempdir().unwrap();
    let weir = start(&oci(&format!("{base}:image"), &digest), from_image.path(), &insecure).unwrap();
    assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir"));
    drop(weir);

    // A module digest that is not the layer's: refused, nothing cached.
    let empty = tempfile::tempdir().unwrap();
    let other = sha256(b"another module");
    let err = start(&oci(&format!("{base}:1.0"), &other), empty.path(), &insecure).unwrap_err().to_string();
    assert!(err.contains(&format!("sha256 is {digest}, not the {other} asked for")), "{err}");
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);

    // A tag that is not there: the registry's 404, named.
    let err = start(&oci(&format!("{base}:9.9"), &digest), empty.path(), &insecure).unwrap_err().to_string();
    assert!(err.contains("HTTP status 404"), "{err}");

    // The registry gone: the cache serves, nothing is asked of the network.
    registry.stop();
    let weir = start(&oci(&format!("{base}:1.0"), &digest), by_tag.path(), &insecure).unwrap();
    assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir"));
    assert_eq!(plugin_view(&client, &weir)["remote"]["last_fetch"]["result"], "cached");
    // And without a cache, the failure says why.
    let err = start(&oci(&format!("{base}:1.0"), &digest), empty.path(), &insecure).unwrap_err().to_string();
    assert!(err.contains("2 attempt(s) failed") && err.contains("connect"), "{err}");
}

/// A module server that never answers holds up only the change that names it: the fetch runs
/// before the reload lock, so another change made meanwhile applies at once, and the slow one
/// fails alone when its timeout passes (the running module kept).
#[test]
fn a_silent_module_server_holds_up_only_the_change_that_names_it() {
    let rewrite = filter("header-rewrite");
    let server = ModuleServer::start().unwrap();
    server.serve("/rewrite.wasm", Serve::Bytes(rewrite.clone()));
    server.serve("/silent.wasm", Serve::Hang);
    let cache = tempfile::tempdir().unwrap();
    let client = Client::new();
    let weir = start(&remote(&server.url("/rewrite.wasm"), &sha256(&rewrite)), cache.path(), "").unwrap();
    let silent = json!({
        "remote": {"url": server.url("/silent.wasm"), "sha256": sha256(b"never"), "timeout": "3s", "retries": 0},
    })
    .to_string();
    let reconfigured =
        json!({"configuration": r#"{"response_headers_to_set": {"x-powered-by": "weir-2"}}"#}).to_string();
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| admin(&Client::new(), &weir, "PUT", "/plugins/rewrite", &silent));
        // The slow change's fetch is under way (the start fetched the first module).
        while server.hits() < 2 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let (status, body) = admin(&client, &weir, "PUT", "/plugins/rewrite", &reconfigured);
        assert_eq!(status, 200, "{body}");
        assert!(!slow.is_finished(), "the other change waited for the silent server");
        assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir-2"));
        let (status, body) = slow.join().unwrap();
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("no complete answer within 3s"), "{body}");
    });
    assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir-2"));
}
