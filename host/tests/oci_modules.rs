//! Plugin modules pulled from a real OCI registry (Debian's `docker-registry`, distribution
//! 2.8, started by the test on loopback and stopped by PID), as Wasm OCI artifacts: by tag and
//! by manifest digest, verified, cached; with the registry gone the cache serves; a wrong
//! digest is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::Client;
use weir_host::config::Config;
use weir_host::process::server::{RunningServer, ServerOptions, StartError};

const WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
const WASM_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// `docker-registry serve` on a free loopback port, its storage in a temporary directory.
struct Registry {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let binary = which("docker-registry").expect(
            "docker-registry is missing: `apt-get install docker-registry` (cargo xtask test installs it)",
        );
        let dir = tempfile::tempdir().unwrap();
        let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog: {{ level: error }}\nstorage:\n  filesystem: {{ rootdirectory: {} }}\nhttp:\n  addr: {addr}\n  secret: weir-test\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let registry = Registry { child, addr, _dir: dir };
        // Ready when the API answers.
        let client = Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let request = Request::get("/v2/").header("host", addr.to_string()).body(Bytes::new()).unwrap();
            if client.send(addr, request).is_ok_and(|r| r.status == 200) {
                break;
            }
            assert!(Instant::now() < deadline, "the registry never answered /v2/");
            std::thread::sleep(Duration::from_millis(20));
        }
        registry
    }

    /// Pushes `module` as a Wasm OCI artifact `repository:tag`; returns the manifest's digest.
    fn push(&self, client: &Client, repository: &str, tag: &str, module: &[u8]) -> String {
        let config = self.blob(client, repository, b"{}");
        let layer = self.blob(client, repository, module);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": WASM_CONFIG, "digest": config, "size": 2},
            "layers": [{"mediaType": WASM_LAYER, "digest": layer, "size": module.len()}],
        })
        .to_string();
        let reply = self.send(
            client,
            "PUT",
            &format!("/v2/{repository}/manifests/{tag}"),
            OCI_MANIFEST,
            manifest.clone(),
        );
        assert_eq!(reply.status, 201, "manifest push: {}", reply.text());
        format!("sha256:{}", hex::encode(Sha256::digest(manifest.as_bytes())))
    }

    /// Uploads a blob (one monolithic upload); returns its digest.
    fn blob(&self, client: &Client, repository: &str, bytes: &[u8]) -> String {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
        let started = self.send(
            client,
            "POST",
            &format!("/v2/{repository}/blobs/uploads/"),
            "application/octet-stream",
            Vec::new(),
        );
        assert_eq!(started.status, 202, "upload start: {}", started.text());
        let location = started.header("location").unwrap().to_string();
        let path = location.strip_prefix(&format!("http://{}", self.addr)).unwrap_or(&location).to_string();
        let joiner = if path.contains('?') { '&' } else { '?' };
        let done = self.send(
            client,
            "PUT",
            &format!("{path}{joiner}digest={digest}"),
            "application/octet-stream",
            bytes.to_vec(),
        );
        assert_eq!(done.status, 201, "upload: {}", done.text());
        digest
    }

    fn send(
        &self,
        client: &Client,
        method: &str,
        path: &str,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> support::Reply {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string())
            .header("content-type", content_type)
            .body(body.into())
            .unwrap();
        client.send(self.addr, request).unwrap()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(program)).find(|p| p.is_file())
}

fn filter(name: &str) -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filters").join(format!("{name}.wasm"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}: run `cargo xtask build-filters`", path.display()))
}

fn start(url: &str, digest: &str, registry: SocketAddr, cache: &Path) -> Result<RunningServer, StartError> {
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
    remote: {{ url: '{url}', sha256: {digest}, timeout: 5s, retries: 1 }}
    configuration: '{{"response_headers_to_set": {{"x-powered-by": "weir"}}}}'
module_sources:
  cache_directory: {cache}
  insecure_registries: ["{registry}"]
"#,
        cache = cache.display()
    );
    RunningServer::start(Config::parse(&yaml, "test")?, ServerOptions::with_concurrency(1))
}

fn last_fetch(client: &Client, weir: &RunningServer) -> Value {
    let addr = weir.admin_addr().unwrap();
    let plugins: Value =
        serde_json::from_str(&client.get(addr, &addr.to_string(), "/plugins", &[]).text()).unwrap();
    plugins[0]["remote"]["last_fetch"].clone()
}

fn powered_by(client: &Client, weir: &RunningServer) -> Option<String> {
    client
        .get(weir.listener_addr("main").unwrap(), "example.com", "/", &[])
        .header("x-powered-by")
        .map(str::to_string)
}

#[test]
fn modules_are_pulled_from_an_oci_registry_by_tag_or_digest_and_cached() {
    let mut registry = Registry::start();
    let client = Client::new();
    let module = filter("header-rewrite");
    let digest = hex::encode(Sha256::digest(&module));
    let manifest = registry.push(&client, "filters/header-rewrite", "1.0", &module);
    let base = format!("oci://{}/filters/header-rewrite", registry.addr);

    let by_tag = tempfile::tempdir().unwrap();
    let weir = start(&format!("{base}:1.0"), &digest, registry.addr, by_tag.path()).unwrap();
    assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir"));
    assert_eq!(last_fetch(&client, &weir)["result"], "fetched");
    drop(weir);

    // Pinned by manifest digest (a tag that moves cannot change it).
    let by_digest = tempfile::tempdir().unwrap();
    let weir = start(&format!("{base}@{manifest}"), &digest, registry.addr, by_digest.path()).unwrap();
    assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir"));
    drop(weir);

    // A module digest that is not the layer's: refused, nothing cached.
    let empty = tempfile::tempdir().unwrap();
    let other = hex::encode(Sha256::digest(b"another module"));
    let err = start(&format!("{base}:1.0"), &other, registry.addr, empty.path()).unwrap_err().to_string();
    assert!(err.contains(&format!("sha256 is {digest}, not the {other} asked for")), "{err}");
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);

    // A tag that is not there: the registry's 404, named.
    let err = start(&format!("{base}:9.9"), &digest, registry.addr, empty.path()).unwrap_err().to_string();
    assert!(err.contains("HTTP status 404"), "{err}");

    // The registry gone: the cache serves, nothing is asked of the network.
    registry.stop();
    let weir = start(&format!("{base}:1.0"), &digest, registry.addr, by_tag.path()).unwrap();
    assert_eq!(powered_by(&client, &weir).as_deref(), Some("weir"));
    assert_eq!(last_fetch(&client, &weir)["result"], "cached");
    // And without a cache, the failure says why.
    let err = start(&format!("{base}:1.0"), &digest, registry.addr, empty.path()).unwrap_err().to_string();
    assert!(err.contains("2 attempt(s) failed") && err.contains("connect"), "{err}");
}
