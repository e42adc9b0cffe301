//! The `weir-cp` binary: `serve` on ephemeral ports, then the client commands against it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Client, Service};
use serde_json::{Value, json};
use weir_xds::types::RUNTIME;

const BIN: &str = env!("CARGO_BIN_EXE_weir-cp");

/// A `weir-cp serve` child; killed on drop.
struct Serve {
    child: Child,
    xds: String,
    admin: String,
    token_file: PathBuf,
}

/// A `weir-cp` command without the caller's admin settings.
fn weir_cp() -> Command {
    let mut command = Command::new(BIN);
    for var in [
        "WEIR_CP_ADMIN",
        "WEIR_CP_ADMIN_TOKEN",
        "WEIR_CP_ADMIN_TOKEN_FILE",
        "WEIR_CP_ADMIN_CA",
        "WEIR_CP_ADMIN_CLIENT_CERT",
        "WEIR_CP_ADMIN_CLIENT_KEY",
    ] {
        command.env_remove(var);
    }
    command
}

/// Writes an admin token file (mode 0600) beside `state_file`.
fn token_file(state_file: &Path) -> PathBuf {
    let path = state_file.with_file_name("admin-token");
    std::fs::write(&path, "cli-test-token-0123456789\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

impl Serve {
    fn start(state_file: &Path) -> Serve {
        Serve::start_with(state_file, &[])
    }

    fn start_with(state_file: &Path, extra: &[&str]) -> Serve {
        let token_file = token_file(state_file);
        let mut child = weir_cp()
            .args(["serve", "--xds-address", "127.0.0.1:0", "--admin-address", "127.0.0.1:0", "--state-file"])
            .arg(state_file)
            .arg("--token-file")
            .arg(&token_file)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("weir-cp printed no address line");
        let addrs: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"));
        let xds = addrs["xds"].as_str().unwrap().to_string();
        let admin = format!("http://{}", addrs["admin"].as_str().unwrap());
        Serve { child, xds, admin, token_file }
    }

    fn run(&self, args: &[&str]) -> Output {
        weir_cp()
            .arg("--admin")
            .arg(&self.admin)
            .arg("--token-file")
            .arg(&self.token_file)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs a command without the token.
    fn run_anonymous(&self, args: &[&str]) -> Output {
        weir_cp().arg("--admin").arg(&self.admin).args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "weir-cp {args:?} failed: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str], needle: &str) {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "weir-cp {args:?} should fail");
        assert!(stderr.contains(needle), "weir-cp {args:?}: {stderr:?} lacks {needle:?}");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn set_get_unset_apply() {
    let dir = tempfile::tempdir().unwrap();
    let cp = Serve::start(&dir.path().join("state.json"));
    assert!(cp.ok(&["set", "shuffle_sharding.total_hosts=10"]).contains("version 2"));
    cp.ok(&["set", "a.b=5", "a.c=true", "a.d=\"7\"", "a.e=blue"]);
    assert_eq!(cp.ok(&["get", "a.b"]).trim(), "5");
    let layer: Value = serde_json::from_str(&cp.ok(&["get"])).unwrap();
    assert_eq!(
        layer,
        json!({"a.b": 5, "a.c": true, "a.d": "7", "a.e": "blue", "shuffle_sharding.total_hosts": 10})
    );
    assert!(cp.ok(&["set", "a.b=5"]).contains("unchanged"));
    cp.ok(&["unset", "a.b"]);
    cp.fails(&["unset", "a.b"], "not found");
    cp.fails(&["get", "a.b"], "not found");

    // Bad keys and values: refused before anything changes.
    cp.fails(&["set", "a.list=[1,2]"], "lists are not runtime values");
    cp.fails(&["set", "a.n=null"], "null");
    cp.fails(&["set", "a..b=1"], "invalid key `a..b`");
    cp.fails(&["set", "noequals"], "KEY=VALUE");
    cp.fails(&["set", "a.o={\"x\":1}"], "fractional percent");
    cp.fails(&["set", "--layer", "bad layer", "a=1"], "invalid layer name");

    // apply replaces a layer from YAML; --unchecked serves what validation refuses.
    let file = dir.path().join("layer.yaml");
    std::fs::write(
        &file,
        "feature:\n  enabled: true\nhealth:\n  pct: {numerator: 5, denominator: HUNDRED}\n",
    )
    .unwrap();
    cp.ok(&["apply", "-f", file.to_str().unwrap(), "--layer", "ops"]);
    let ops: Value = serde_json::from_str(&cp.ok(&["get", "--layer", "ops"])).unwrap();
    assert_eq!(
        ops,
        json!({"feature.enabled": true, "health.pct": {"numerator": 5, "denominator": "HUNDRED"}})
    );
    std::fs::write(&file, "feature:\n  list: [1, 2]\n").unwrap();
    cp.fails(&["apply", "-f", file.to_str().unwrap(), "--layer", "ops"], "feature.list");
    let out = cp.ok(&["apply", "-f", file.to_str().unwrap(), "--layer", "ops", "--unchecked"]);
    assert!(out.contains("layer ops"), "{out}");
    let out = cp.run(&["get", "--layer", "ops"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("proxies reject it"));
    cp.fails(&["set", "--layer", "ops", "x=1"], "unchecked");
    cp.fails(&["apply", "-f", "/nonexistent.yaml"], "/nonexistent.yaml");
}

#[test]
fn status_ecds_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cp = Serve::start(&dir.path().join("state.json"));
    assert!(cp.ok(&["status"]).contains("no node has connected"));

    // Multi-thread: the stream must keep being driven while the test runs commands.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let client = runtime.block_on(async {
        let mut c = Client::open(cp.xds.parse().unwrap(), Service::Ads, "edge-1").await.unwrap();
        c.send(RUNTIME, &["rtds"], "", "", None).await;
        let r = c.recv().await.unwrap();
        c.send(RUNTIME, &["rtds"], "", &r.nonce, Some("Invalid runtime entry value for x")).await;
        c
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let table = loop {
        let table = cp.ok(&["status"]);
        if table.contains("Invalid runtime entry value for x") || Instant::now() > deadline {
            break table;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(table.contains("edge-1") && table.contains("rtds") && table.contains("version 1"), "{table}");
    let raw: Value = serde_json::from_str(&cp.ok(&["status", "--json"])).unwrap();
    assert_eq!(raw["nodes"][0]["types"]["rtds"]["nack"]["reason"], "Invalid runtime entry value for x");
    drop(client);

    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"header": "x-weir"}"#).unwrap();
    let at_file = format!("@{}", config.display());
    let args = ["ecds", "set", "rewrite", "--wasm", "/f.wasm", "--vm-id", "weir", "--config", &at_file];
    assert!(cp.ok(&args).contains("version 1"));
    let got: Value = serde_json::from_str(&cp.ok(&["ecds", "get", "rewrite"])).unwrap();
    assert_eq!(got["config"]["configuration"]["redacted"], true, "{got}");
    let got: Value = serde_json::from_str(&cp.ok(&["ecds", "get", "rewrite", "--show-secrets"])).unwrap();
    assert_eq!(got["config"]["configuration"], json!({"header": "x-weir"}));
    let out = cp.run_anonymous(&["ecds", "get", "--show-secrets"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("(401)") && stderr.contains("--token-file"), "{stderr}");
    cp.ok(&["ecds", "delete", "rewrite"]);
    cp.fails(&["ecds", "delete", "rewrite"], "not found");
    cp.fails(&["ecds", "set", "x", "--wasm", "", "--vm-id", "v"], "wasm");

    // An unreachable admin API.
    let out = weir_cp().args(["--admin", "http://127.0.0.1:1", "get"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the weir-cp admin API"));
}

#[test]
fn serve_restarts_from_its_state_file_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut cp = Serve::start(&state);
    cp.ok(&["set", "k=1"]);
    let status = Command::new("kill").args(["-TERM", &cp.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = cp.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "weir-cp did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit}");

    let cp = Serve::start(&state);
    assert_eq!(cp.ok(&["get", "k"]).trim(), "1");
    let runtime: Value = serde_json::from_str(&cp.ok(&["status", "--json"])).unwrap();
    assert_eq!(runtime["versions"]["rtds"], "2");
    drop(cp);

    std::fs::write(&state, "{ corrupt").unwrap();
    let out = weir_cp()
        .args(["serve", "--xds-address", "127.0.0.1:0", "--admin-address", "127.0.0.1:0", "--state-file"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("state.json") && stderr.contains("will not start empty"), "{stderr}");
}

#[test]
fn changes_need_the_token_or_the_socket_and_the_state_file_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let socket = dir.path().join("admin.sock");
    let cp = Serve::start_with(&state, &["--admin-socket", socket.to_str().unwrap()]);

    // No token: refused, saying how to send one; reads need none.
    let out = cp.run_anonymous(&["set", "k=1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("(401)"), "{stderr}");
    assert!(cp.run_anonymous(&["status"]).status.success());
    // A wrong token from the environment: refused.
    let out = weir_cp()
        .args(["--admin", &cp.admin, "set", "k=1"])
        .env("WEIR_CP_ADMIN_TOKEN", "not-the-token-0123456789")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid admin token"));
    // The right one from the environment.
    let out = weir_cp()
        .args(["--admin", &cp.admin, "set", "k=1"])
        .env("WEIR_CP_ADMIN_TOKEN", "cli-test-token-0123456789")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The unix socket needs no token; it is 0600.
    assert_eq!(std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777, 0o600);
    let unix = format!("unix:{}", socket.display());
    let out = weir_cp().args(["--admin", &unix, "set", "k=2"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(cp.ok(&["get", "k"]).trim(), "2");
    // The state file (it holds ECDS secrets) is the owner's only.
    assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o600);
    drop(cp);

    // A world-readable token file is refused at start.
    let token = token_file(&state);
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = weir_cp()
        .args(["--token-file", token.to_str().unwrap(), "serve", "--admin-address", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
}

/// `serve --admin-tls-*` serves the admin API over HTTPS with client certificates required;
/// client commands reach it with `--admin-ca` and their own certificate, and nothing else.
#[test]
fn admin_api_over_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = weir_tls::test_pki::Pki::new(dir.path(), "admin").unwrap();
    let server = pki.server("server", &["localhost"]).unwrap();
    let client = pki.client("operator", "operator", &[]).unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let (cert, key, ca) = (path(&server.certificate_chain), path(&server.private_key), path(pki.ca()));
    let flags = ["--admin-tls-cert", &cert, "--admin-tls-key", &key, "--admin-tls-client-ca", &ca];
    let mut cp = Serve::start_with(&dir.path().join("state.json"), &flags);
    cp.admin = cp.admin.replace("http://127.0.0.1", "https://localhost");
    let (client_cert, client_key) = (path(&client.certificate_chain), path(&client.private_key));
    let with_cert =
        ["--admin-ca", &ca, "--admin-client-cert", &client_cert, "--admin-client-key", &client_key];

    assert!(cp.ok(&[&with_cert[..], &["set", "tls.on=true"]].concat()).contains("version"));
    assert_eq!(cp.ok(&[&with_cert[..], &["get", "tls.on"]].concat()).trim(), "true");
    // No client certificate: the handshake is refused.
    cp.fails(&["--admin-ca", &ca, "get", "tls.on"], "CertificateRequired");
    // The system's roots do not know the test CA.
    cp.fails(
        &["--admin-client-cert", &client_cert, "--admin-client-key", &client_key, "get"],
        "UnknownIssuer",
    );
    // Plain HTTP to the TLS port gets no answer.
    let plain = cp.admin.replace("https://localhost", "http://127.0.0.1");
    let out = weir_cp().args(["--admin", &plain, "get"]).output().unwrap();
    assert!(!out.status.success());
}

/// `--log-format json` writes one JSON object per line, with the level, the target and the
/// message and fields of the event.
#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = token_file(&dir.path().join("state.json"));
    let mut child = weir_cp()
        .args([
            "--log-format",
            "json",
            "serve",
            "--xds-address",
            "127.0.0.1:0",
            "--admin-address",
            "127.0.0.1:0",
        ])
        .arg("--token-file")
        .arg(&token_file)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let serving = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("weir-cp never logged that it serves");
        let event: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line: {line:?}: {e}"));
        if event["fields"]["message"] == "weir-cp serving" {
            break event;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(serving["level"], "INFO", "{serving}");
    assert!(serving["fields"]["xds"].as_str().unwrap().starts_with("127.0.0.1:"), "{serving}");
    assert!(serving["timestamp"].is_string(), "{serving}");
}

/// Under systemd (`Type=notify`): `READY=1` once both ports listen, `STOPPING=1` on SIGTERM,
/// on `$NOTIFY_SOCKET`.
#[test]
fn systemd_is_told_ready_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let token_file = token_file(&dir.path().join("state.json"));
    let mut child = weir_cp()
        .args(["serve", "--xds-address", "127.0.0.1:0", "--admin-address", "127.0.0.1:0", "--token-file"])
        .arg(&token_file)
        .env("NOTIFY_SOCKET", &socket_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).expect("no notification from weir-cp");
    let ready = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addrs: Value = serde_json::from_str(&line).unwrap();
    std::net::TcpStream::connect(addrs["xds"].as_str().unwrap()).unwrap();
    std::net::TcpStream::connect(addrs["admin"].as_str().unwrap()).unwrap();
    assert!(
        ready.contains(&format!("STATUS=serving xDS on {}", addrs["xds"].as_str().unwrap())),
        "{ready:?}"
    );

    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let n = socket.recv(&mut buf).expect("no STOPPING=1 from weir-cp");
    let stopping = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping:?}");
    assert!(child.wait().unwrap().success());
}
