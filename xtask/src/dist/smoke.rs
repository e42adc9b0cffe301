//! The release tarball's smoke test: unpacked into a temporary directory, its binaries print
//! their version, its config validates, its weir serves a request through a filter from its
//! `filters/` (readiness and stop told over `$NOTIFY_SOCKET`, as under systemd), and its
//! systemd units pass `systemd-analyze verify`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::util;

/// What every tarball holds.
const FILES: [&str; 9] = [
    "bin/weir",
    "bin/weir-cp",
    "bin/weir-rls",
    "filters/header-rewrite.wasm",
    "etc/weir.yaml",
    "systemd/weir.service",
    "systemd/weir-cp.service",
    "LICENSE",
    "README.md",
];

/// How long weir may take to be ready, and to stop.
const PATIENCE: Duration = Duration::from_secs(60);

/// Runs the smoke test on `tarball` (top directory `name`, weir `version`).
pub fn run(tarball: &Path, name: &str, version: &str) -> anyhow::Result<String> {
    let tmp = tempfile::tempdir()?;
    util::run(Command::new("tar").arg("-xzf").arg(tarball).arg("-C").arg(tmp.path()))?;
    let root = tmp.path().join(name);
    for file in FILES {
        if !root.join(file).is_file() {
            bail!("the tarball lacks {file}");
        }
    }
    for bin in ["weir", "weir-cp", "weir-rls"] {
        let out = Command::new(root.join("bin").join(bin)).arg("--version").output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !text.starts_with(&format!("{bin} {version} (")) {
            bail!("bin/{bin} --version printed {text:?}");
        }
    }
    for bin in ["weir", "weir-cp", "weir-rls"] {
        glibc(&root.join("bin").join(bin))?;
    }
    // The config as shipped, from a directory that is not the tarball's.
    util::run(
        Command::new(root.join("bin/weir"))
            .current_dir("/")
            .arg("--validate")
            .arg("-c")
            .arg(root.join("etc/weir.yaml")),
    )?;
    let served = serve(&root, tmp.path())?;
    units(&root)?;
    Ok(format!("unpacked, versions, config valid, {served}, systemd units verified"))
}

/// Runs the shipped config (its ports moved to free ones) with an upstream, sends a request
/// through the shipped filter, and stops weir with SIGTERM.
fn serve(root: &Path, tmp: &Path) -> anyhow::Result<String> {
    let upstream = TcpListener::bind("127.0.0.1:0")?;
    let upstream_addr = upstream.local_addr()?;
    std::thread::spawn(move || answer(upstream));
    let (listener, admin) = (free_port()?, free_port()?);
    let shipped = std::fs::read_to_string(root.join("etc/weir.yaml"))?;
    let config = shipped
        .replace("127.0.0.1:10000", &format!("127.0.0.1:{listener}"))
        .replace("127.0.0.1:9901", &format!("127.0.0.1:{admin}"))
        .replace("127.0.0.1:8080", &upstream_addr.to_string());
    // Beside the shipped one, so the filter's relative path is the same.
    let config_path = root.join("etc/smoke.yaml");
    std::fs::write(&config_path, config)?;
    let notify_path = tmp.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path)?;
    notify.set_read_timeout(Some(PATIENCE))?;
    let log = tmp.join("weir.log");
    let mut weir = Command::new(root.join("bin/weir"))
        .current_dir("/")
        .args(["--concurrency", "1", "-c"])
        .arg(&config_path)
        .env("NOTIFY_SOCKET", &notify_path)
        // A file, not a pipe: nobody reads a pipe while weir runs, and a full one would block it.
        .stderr(Stdio::from(std::fs::File::create(&log)?))
        .spawn()
        .context("starting the tarball's weir")?;
    let outcome = exchange(&notify, listener, &mut weir);
    let stopped = stop(&notify, &mut weir);
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    let detail = outcome.and_then(|detail| stopped.map(|()| detail));
    detail.with_context(|| format!("weir's log:\n{stderr}"))
}

/// Waits for `READY=1`, then sends one request and checks the filter's work both ways.
fn exchange(notify: &UnixDatagram, port: u16, weir: &mut Child) -> anyhow::Result<String> {
    let started = Instant::now();
    let ready = next(notify).context("weir never said READY=1")?;
    if !ready.lines().any(|l| l == "READY=1") {
        bail!("weir's first notification is {ready:?}");
    }
    if let Some(status) = weir.try_wait()? {
        bail!("weir exited ({status})");
    }
    let ready_in = started.elapsed();
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(PATIENCE))?;
    stream.write_all(b"GET /smoke HTTP/1.1\r\nhost: smoke\r\nconnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let lower = response.to_ascii_lowercase();
    if !lower.starts_with("http/1.1 200") || !lower.contains("\r\nx-powered-by: weir\r\n") {
        bail!("the response lacks the filter's header: {response:?}");
    }
    if !response.ends_with("upstream saw x-example: header-rewrite") {
        bail!("the upstream did not see the filter's request header: {response:?}");
    }
    Ok(format!("ready in {} ms, a request through filters/header-rewrite.wasm", ready_in.as_millis()))
}

/// SIGTERM, then `STOPPING=1` and a clean exit.
fn stop(notify: &UnixDatagram, weir: &mut Child) -> anyhow::Result<()> {
    util::run(Command::new("kill").args(["-TERM", &weir.id().to_string()]))?;
    let deadline = Instant::now() + PATIENCE;
    let mut told = false;
    loop {
        if let Some(status) = weir.try_wait()? {
            if !status.success() {
                bail!("weir exited with {status} on SIGTERM");
            }
            break;
        }
        if Instant::now() > deadline {
            let _ = weir.kill();
            let _ = weir.wait();
            bail!("weir did not stop within {PATIENCE:?} of SIGTERM");
        }
        notify.set_read_timeout(Some(Duration::from_millis(100)))?;
        if let Ok(message) = next(notify) {
            told |= message.lines().any(|l| l == "STOPPING=1");
        }
    }
    notify.set_nonblocking(true)?;
    while let Ok(message) = next(notify) {
        told |= message.lines().any(|l| l == "STOPPING=1");
    }
    if !told {
        bail!("weir stopped without STOPPING=1");
    }
    Ok(())
}

fn next(notify: &UnixDatagram) -> anyhow::Result<String> {
    let mut buf = [0u8; 4096];
    let n = notify.recv(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// The upstream: answers each request with whether it carried the filter's header.
fn answer(upstream: TcpListener) {
    for stream in upstream.incoming() {
        let Ok(mut stream) = stream else { return };
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
            match stream.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => break,
            }
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let body = if head.contains("\r\nx-example: header-rewrite\r\n") {
            "upstream saw x-example: header-rewrite"
        } else {
            "upstream saw no x-example"
        };
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}

/// The newest glibc the tarball's README promises to run on.
const GLIBC: (u32, u32) = (2, 34);

/// Fails when `bin` needs a glibc symbol version newer than [`GLIBC`].
fn glibc(bin: &Path) -> anyhow::Result<()> {
    let out = Command::new("objdump").arg("-T").arg(bin).output().context("objdump (binutils) is needed")?;
    if !out.status.success() {
        bail!("objdump -T {} failed: {}", bin.display(), String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // `(GLIBC_2.34)` or `GLIBC_2.34`, depending on the binutils version.
    let versions: Vec<&str> =
        text.split_whitespace().filter_map(|w| w.trim_matches(['(', ')']).strip_prefix("GLIBC_")).collect();
    if versions.is_empty() {
        bail!("objdump -T {} names no GLIBC_ symbol version: is it dynamically linked?", bin.display());
    }
    for word in versions {
        let mut parts = word.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        if version > GLIBC {
            bail!(
                "{} needs glibc {word}, newer than the {}.{} the README promises",
                bin.display(),
                GLIBC.0,
                GLIBC.1
            );
        }
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `systemd-analyze verify` on the units, their paths moved into the unpacked tree; any
/// complaint fails (it exits 0 on unknown keys and bad values, only printing them).
fn units(root: &Path) -> anyhow::Result<()> {
    util::ensure_apt("systemd-analyze", "systemd", systemd_analyze_version)?;
    let dir = root.join("systemd-check");
    std::fs::create_dir_all(&dir)?;
    let mut paths = Vec::new();
    for unit in ["weir.service", "weir-cp.service"] {
        let text = std::fs::read_to_string(root.join("systemd").join(unit))?
            .replace("/opt/weir/", &format!("{}/", root.display()))
            .replace("/etc/weir/weir.yaml", &root.join("etc/weir.yaml").to_string_lossy());
        let path = dir.join(unit);
        std::fs::write(&path, text)?;
        paths.push(path);
    }
    let out = Command::new("systemd-analyze").arg("verify").args(&paths).output()?;
    let complaints =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() || !complaints.trim().is_empty() {
        bail!("systemd-analyze verify complains about the units:\n{complaints}");
    }
    Ok(())
}

fn systemd_analyze_version() -> Option<String> {
    let out =
        Command::new("systemd-analyze").arg("--version").output().ok().filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_string)
}
