//! weir's admin API against local users and browser pages: cross-site requests, DNS rebinding,
//! missing or wrong tokens, browser content types, huge bodies, module paths that are not
//! modules (`/dev/zero`, a FIFO, a symlink out, a directory, a huge file), the upload directory,
//! secrets in views, and the unix socket.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use serde_json::{Value, json};
use support::{Client, Reply};
use weir_admin_guard::Token;
use weir_host::config::Config;
use weir_host::process::server::{RunningServer, ServerOptions};

const TOKEN: &str = "weir-hostile-token-0123456789";
const SECRET: &str = "sk-live-SECRET-4242";

fn filter(name: &str) -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filters").join(format!("{name}.wasm"));
    assert!(path.exists(), "{} missing: run `cargo xtask build-filters`", path.display());
    path
}

/// weir with a `require-header` plugin (its configuration holds a secret) loaded from
/// `modules`, the admin API on TCP (with `token`, if any) and on `socket`, if any.
fn weir(modules: &Path, token: bool, socket: Option<&Path>) -> RunningServer {
    std::fs::copy(filter("require-header"), modules.join("gate.wasm")).unwrap();
    let socket = socket.map(|s| format!("\n  unix_socket: {}", s.display())).unwrap_or_default();
    let yaml = format!(
        r#"
admin:
  address: 127.0.0.1:0{socket}
listeners:
  - name: main
    address: 127.0.0.1:0
    http_filters: [gate]
    virtual_hosts:
      - name: all
        domains: ['*']
        routes:
          - match: {{ prefix: / }}
            direct_response: {{ status: 200, body: "ok\n" }}
plugins:
  - name: gate
    wasm: {wasm}
    configuration: '{{"header": "x-key", "status": 401, "body": "{SECRET}"}}'
    environment_variables: {{ API_KEY: "{SECRET}" }}
module_sources:
  max_module_bytes: 2097152
"#,
        wasm = modules.join("gate.wasm").display()
    );
    let config = Config::parse(&yaml, "test").unwrap();
    let mut options = ServerOptions::with_concurrency(1);
    options.admin_token = token.then(|| Token::new(TOKEN, "test").unwrap());
    RunningServer::start(config, options).unwrap()
}

/// Sends a request to the admin port with exactly `headers`.
fn send(
    client: &Client,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    client.send(addr, request.body(Bytes::from(body)).unwrap()).unwrap()
}

struct Admin<'a> {
    client: &'a Client,
    addr: SocketAddr,
    host: String,
    bearer: String,
}

impl Admin<'_> {
    /// A change with the token and the right `Host`, plus `extra` headers (replacing).
    fn change(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut headers: Vec<(&str, &str)> =
            vec![("host", &self.host), ("authorization", &self.bearer), ("content-type", content_type)];
        headers.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        headers.extend(extra.iter().filter(|(_, v)| !v.is_empty()));
        send(self.client, self.addr, method, path, &headers, body.to_vec())
    }

    /// The status of a change that declares a `len`-byte body and sends none of it: a body over
    /// a cap is refused from the declared length, before any of it is read. (Sending the bytes
    /// races the early answer: the server closes while the client is still writing.)
    fn declared(&self, method: &str, path: &str, content_type: &str, len: usize) -> u16 {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(self.addr).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: {}\r\ncontent-type: {content_type}\r\ncontent-length: {len}\r\n\r\n",
            self.host, self.bearer
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "closed before answering: {}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&answer[9..12]).parse().unwrap()
    }

    fn get(&self, path: &str, extra: &[(&str, &str)]) -> Reply {
        let mut headers: Vec<(&str, &str)> = vec![("host", &self.host)];
        headers.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        headers.extend(extra);
        send(self.client, self.addr, "GET", path, &headers, vec![])
    }
}

#[test]
fn browsers_foreign_hosts_and_anonymous_changes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = weir(dir.path(), true, None);
    let client = Client::new();
    let addr = server.admin_addr().unwrap();
    let admin = Admin { client: &client, addr, host: addr.to_string(), bearer: format!("Bearer {TOKEN}") };
    let reload = b"listeners: []\n";

    let r =
        admin.change("POST", "/reload", "application/yaml", reload, &[("origin", "https://evil.example")]);
    assert_eq!(r.status, 403, "{}", r.text());
    let evil = format!("evil.example:{}", addr.port());
    let r = admin.change("POST", "/reload", "application/yaml", reload, &[("host", &evil)]);
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(admin.get("/config_dump", &[("host", &evil)]).status, 403, "reads too");
    let r = admin.change("POST", "/reload", "application/yaml", reload, &[("authorization", "")]);
    assert_eq!((r.status, r.header("www-authenticate")), (401, Some("Bearer realm=\"weir admin\"")));
    let r = admin.change(
        "DELETE",
        "/plugins/gate",
        "",
        b"",
        &[("authorization", "Bearer wrong-token-0123456789")],
    );
    assert_eq!(r.status, 401, "{}", r.text());
    for browser in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        let r = admin.change("POST", "/reload", browser, reload, &[]);
        assert_eq!(r.status, 415, "{browser}: {}", r.text());
        let r = admin.change("POST", "/plugins", browser, br#"{"name": "x"}"#, &[]);
        assert_eq!(r.status, 415, "{browser}: {}", r.text());
    }
    assert_eq!(admin.declared("POST", "/reload", "application/yaml", 2 << 20), 413);
    let status = admin.declared("POST", "/plugins?name=big&listener=main", "application/wasm", 3 << 20);
    assert_eq!(status, 413, "over module_sources.max_module_bytes");
    // Nothing changed.
    let plugins: Value = serde_json::from_slice(&admin.get("/plugins", &[]).body).unwrap();
    assert_eq!(plugins.as_array().unwrap().len(), 1);
    assert_eq!(client.get(server.listener_addr("main").unwrap(), "x", "/", &[]).status, 401);

    // Without a token, changes over TCP are off, and the answer says how to turn them on.
    let server = weir(dir.path(), false, None);
    let addr = server.admin_addr().unwrap();
    let r = send(
        &client,
        addr,
        "DELETE",
        "/plugins/gate",
        &[("host", &format!("localhost:{}", addr.port()))],
        vec![],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("admin.token_file") && r.text().contains("admin.unix_socket"), "{}", r.text());
}

#[test]
fn module_paths_that_are_not_modules_are_refused_quickly_and_the_config_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let modules = dir.path().join("modules");
    std::fs::create_dir(&modules).unwrap();
    let server = weir(&modules, true, None);
    let client = Client::new();
    let addr = server.admin_addr().unwrap();
    let admin = Admin { client: &client, addr, host: addr.to_string(), bearer: format!("Bearer {TOKEN}") };
    assert!(std::process::Command::new("mkfifo").arg(modules.join("pipe.wasm")).status().unwrap().success());
    std::os::unix::fs::symlink("/etc/passwd", modules.join("passwd.wasm")).unwrap();
    std::fs::create_dir(modules.join("dir.wasm")).unwrap();
    std::fs::write(modules.join("big.wasm"), vec![0u8; 3 << 20]).unwrap();
    std::fs::copy(filter("require-header"), dir.path().join("outside.wasm")).unwrap();

    let cases = [
        (PathBuf::from("/dev/zero"), "not under the module directories"),
        (modules.join("pipe.wasm"), "is a FIFO"),
        (modules.join("passwd.wasm"), "resolves to /etc/passwd"),
        (modules.join("dir.wasm"), "is a directory"),
        (modules.join("big.wasm"), "over module_sources.max_module_bytes"),
        (dir.path().join("outside.wasm"), "not under the module directories"),
        (modules.join("../outside.wasm"), "not under the module directories"),
    ];
    for (path, reason) in cases {
        for (method, uri, spec) in [
            ("POST", "/plugins", json!({"name": "x", "wasm": path, "attach": {"listener": "main"}})),
            ("PUT", "/plugins/gate", json!({"wasm": path})),
        ] {
            let started = Instant::now();
            let r = admin.change(method, uri, "application/json", spec.to_string().as_bytes(), &[]);
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{} took {:?}",
                path.display(),
                started.elapsed()
            );
            assert_eq!(r.status, 400, "{method} {}: {}", path.display(), r.text());
            assert!(r.text().contains(reason), "{method} {}: {}", path.display(), r.text());
        }
    }
    // The running config is kept, and a module in the directory still loads.
    assert_eq!(client.get(server.listener_addr("main").unwrap(), "x", "/", &[]).status, 401);
    std::fs::copy(filter("require-header"), modules.join("other.wasm")).unwrap();
    let spec =
        json!({"name": "other", "wasm": modules.join("other.wasm"), "configuration": r#"{"header": "x-k"}"#});
    let r = admin.change("POST", "/plugins", "application/json", spec.to_string().as_bytes(), &[]);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn uploads_go_to_a_private_directory_and_views_hide_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("admin.sock");
    let server = weir(dir.path(), true, Some(&socket));
    let client = Client::new();
    let addr = server.admin_addr().unwrap();
    let admin = Admin { client: &client, addr, host: addr.to_string(), bearer: format!("Bearer {TOKEN}") };

    let module = std::fs::read(filter("require-header")).unwrap();
    let r = admin.change(
        "POST",
        "/plugins?name=up&listener=main&configuration=%7B%22header%22%3A%22x-k%22%7D",
        "application/wasm",
        &module,
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let plugins: Value = serde_json::from_slice(&admin.get("/plugins", &[]).body).unwrap();
    let up = plugins.as_array().unwrap().iter().find(|p| p["name"] == "up").unwrap();
    let stored = PathBuf::from(up["wasm"].as_str().unwrap());
    let upload_dir = stored.parent().unwrap();
    let name = upload_dir.file_name().unwrap().to_string_lossy().into_owned();
    let random = name.strip_prefix("weir-uploads-").unwrap_or_else(|| panic!("{name}"));
    assert!(random.len() == 32 && random.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
    assert!(!name.contains(&std::process::id().to_string()), "not derived from the pid: {name}");
    assert_eq!(std::fs::metadata(upload_dir).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777, 0o600);

    // No view shows the plugin's secrets unless an authenticated request asks.
    for path in ["/config_dump", "/plugins"] {
        let r = admin.get(path, &[]);
        assert_eq!(r.status, 200);
        assert!(!r.text().contains(SECRET), "{path} leaks: {}", r.text());
        assert!(r.text().contains("\"redacted\":true"), "{path}: {}", r.text());
        let asked = format!("{path}?show_secrets=true");
        assert_eq!(admin.get(&asked, &[]).status, 401, "{path}: anonymous show_secrets");
        let bearer = format!("Bearer {TOKEN}");
        let r = admin.get(&asked, &[("authorization", &bearer)]);
        assert!(r.status == 200 && r.text().contains(SECRET), "{path}: {}", r.text());
    }

    // The unix socket: 0600, and changes need no token there.
    assert_eq!(std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777, 0o600);
    let reply = client.block_on(unix_request(&socket, "DELETE", "/plugins/up"));
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    drop(server);
    assert!(!upload_dir.exists(), "the upload directory goes with weir");
}

/// One request over the unix socket (raw HTTP/1.1); the raw answer.
async fn unix_request(socket: &Path, method: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    let request = format!("{method} {path} HTTP/1.1\r\nhost: whatever\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer)).await.unwrap().unwrap();
    answer
}
