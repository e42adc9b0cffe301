//! A real OCI registry for tests (Debian's `docker-registry`, distribution 2.8): started on a
//! free loopback port with its storage in a temporary directory, ready once `/v2/` answers,
//! stopped by PID; artifacts pushed with the registry API (monolithic blob uploads).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{Client, Reply};

/// The Wasm OCI artifact's layer: the module itself.
pub const WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
/// An image layer (Istio's Wasm images: `plugin.wasm` in a tar+gzip archive).
pub const IMAGE_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const WASM_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// `docker-registry serve` on a free loopback port, its storage in a temporary directory.
pub struct Registry {
    child: Child,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub fn start() -> Registry {
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

    /// Pushes `module` as the one layer (of `media_type`) of `repository:tag`; returns the
    /// manifest's digest.
    pub fn push(
        &self,
        client: &Client,
        repository: &str,
        tag: &str,
        media_type: &str,
        module: &[u8],
    ) -> String {
        let config = self.blob(client, repository, b"{}");
        let layer = self.blob(client, repository, module);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": WASM_CONFIG, "digest": config, "size": 2},
            "layers": [{"mediaType": media_type, "digest": layer, "size": module.len()}],
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
    ) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string())
            .header("content-type", content_type)
            .body(body.into())
            .unwrap();
        client.send(self.addr, request).unwrap()
    }

    pub fn stop(&mut self) {
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
