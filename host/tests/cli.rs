//! The `weir` binary: help, config validation with field-naming errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn weir() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weir"));
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    cmd
}

#[test]
fn help_describes_the_options() {
    let out = weir().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["--config", "--validate", "--concurrency"] {
        assert!(text.contains(word), "{text}");
    }
}

#[test]
fn a_broken_config_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "listeners:\n  - name: main\n    address: 127.0.0.1:0\n    virtual_hosts:\n      - name: all\n        domains: ['*']\n        routes:\n          - match: { prefix: / }\n            route: { cluster: nowhere }\n",
    )
    .unwrap();
    let out = weir().arg("--validate").arg("-c").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("listeners[0].virtual_hosts[0].routes[0].route.cluster"), "{err}");
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn a_missing_module_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.yaml");
    std::fs::write(
        &path,
        "listeners:\n  - name: main\n    address: 127.0.0.1:0\n    http_filters: [p]\n    virtual_hosts:\n      - name: all\n        domains: ['*']\n        routes:\n          - match: { prefix: / }\n            direct_response: { status: 200 }\nplugins:\n  - name: p\n    wasm: no-such.wasm\n",
    )
    .unwrap();
    let out = weir().arg("--validate").arg("-c").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such.wasm"), "{err}");
}

/// `weir --version` names the version, the commit and the build profile.
#[test]
fn version_names_the_commit_and_the_profile() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir")).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rest = text
        .trim()
        .strip_prefix(concat!("weir ", env!("CARGO_PKG_VERSION"), " (commit "))
        .unwrap_or_else(|| panic!("{text}"));
    let (commit, profile) = rest.split_once(", ").unwrap_or_else(|| panic!("{text}"));
    let hash = commit.trim_end_matches("+changes");
    assert!(hash == "unknown" || (hash.len() == 12 && hash.chars().all(|c| c.is_ascii_hexdigit())), "{text}");
    assert!(profile.ends_with(" build)"), "{text}");
}

/// `--log-format json` writes one JSON object per line, with the level, the target and the
/// message and fields of the event.
#[test]
fn json_logs_are_one_object_per_line() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weir.yaml");
    std::fs::write(
        &path,
        "listeners:\n  - name: main\n    address: 127.0.0.1:0\n    virtual_hosts:\n      - name: all\n        domains: ['*']\n        routes:\n          - match: { prefix: / }\n            direct_response: { status: 200 }\n",
    )
    .unwrap();
    let mut child = weir()
        .args(["--log-format", "json", "--concurrency", "1", "-c"])
        .arg(&path)
        .env_remove("WEIR_LOG")
        .stderr(std::process::Stdio::piped())
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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let serving = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx.recv_timeout(left).expect("weir never logged that it is serving");
        let event: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line: {line:?}: {e}"));
        if event["fields"]["message"] == "weir is serving" {
            break event;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(serving["level"], "INFO", "{serving}");
    assert!(serving["target"].as_str().unwrap().starts_with("weir_host"), "{serving}");
    assert!(serving["timestamp"].is_string(), "{serving}");
    assert_eq!(serving["fields"]["workers"], 1, "{serving}");
}

/// Under systemd (`Type=notify`): `READY=1` once the listeners accept, `RELOADING=1` then
/// `READY=1` around a SIGHUP reload, `STOPPING=1` on SIGTERM, on `$NOTIFY_SOCKET`.
#[test]
fn systemd_is_told_ready_reloading_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let path = dir.path().join("weir.yaml");
    std::fs::write(
        &path,
        format!("listeners:\n  - name: main\n    address: 127.0.0.1:{port}\n    virtual_hosts:\n      - name: all\n        domains: ['*']\n        routes:\n          - match: {{ prefix: / }}\n            direct_response: {{ status: 200 }}\n"),
    )
    .unwrap();
    let mut child = weir()
        .args(["--concurrency", "1", "-c"])
        .arg(&path)
        .env("NOTIFY_SOCKET", &socket_path)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let next = || {
        let mut buf = [0u8; 4096];
        let n = socket.recv(&mut buf).expect("no notification from weir");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let ready = next();
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    // Ready means serving: the listener accepts at once.
    std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();

    let signal = |name: &str| {
        assert!(
            Command::new("kill")
                .arg(format!("-{name}"))
                .arg(child.id().to_string())
                .status()
                .unwrap()
                .success()
        );
    };
    signal("HUP");
    let reloading = next();
    assert!(reloading.lines().any(|l| l == "RELOADING=1"), "{reloading:?}");
    assert!(reloading.lines().any(|l| l.starts_with("MONOTONIC_USEC=")), "{reloading:?}");
    let reloaded = next();
    assert!(reloaded.lines().any(|l| l == "READY=1"), "{reloaded:?}");
    assert!(reloaded.contains("STATUS=serving (reloaded)"), "{reloaded:?}");

    signal("TERM");
    let stopping = next();
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping:?}");
    assert!(child.wait().unwrap().success());
}

/// logrotate: the access log moved away, SIGUSR1 makes weir write a new file at the configured
/// path (the old one keeps what was written before); `/stats/prometheus` has the dropped-lines
/// counter per path.
#[test]
fn sigusr1_reopens_the_access_logs() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (port, admin) = (free(), free());
    let path = dir.path().join("weir.yaml");
    std::fs::write(
        &path,
        format!(
            "admin: {{ address: 127.0.0.1:{admin} }}\nlisteners:\n  - name: main\n    address: 127.0.0.1:{port}\n    access_log: {}\n    virtual_hosts:\n      - name: all\n        domains: ['*']\n        routes:\n          - match: {{ prefix: / }}\n            direct_response: {{ status: 200 }}\n",
            log.display()
        ),
    )
    .unwrap();
    /// Stopped however the test ends.
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = Stop(
        weir()
            .args(["--concurrency", "1", "-c"])
            .arg(&path)
            .env("NOTIFY_SOCKET", &socket_path)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).expect("no READY=1");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"));
    let get = |port: u16, path: &str| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    // Lines are written by a thread of their own: wait until one is there.
    let until_lines = |file: &std::path::Path, n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if text.lines().count() >= n {
                return text;
            }
            assert!(std::time::Instant::now() < deadline, "{} has {:?}", file.display(), text);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    get(port, "/before");
    until_lines(&log, 1);
    let rotated = dir.path().join("access.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    assert!(Command::new("kill").args(["-USR1", &child.0.id().to_string()]).status().unwrap().success());
    // The writer reopens as soon as it sees the signal (it is woken for it): the new file
    // appears with no traffic; what is requested after that goes to it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !log.exists() {
        assert!(std::time::Instant::now() < deadline, "no new access log after SIGUSR1");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    get(port, "/after");
    let new = until_lines(&log, 1);
    assert!(new.contains("\"/after\"") && !new.contains("\"/before\""), "{new}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("\"/before\""), "{old}");
    let stats = get(admin, "/stats/prometheus");
    assert!(
        stats.contains(&format!("weir_access_log_lines_dropped_total{{path=\"{}\"}} 0", log.display())),
        "{stats}"
    );
}
