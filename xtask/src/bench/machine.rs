//! What machine and which versions a run measured.

use std::process::Command;

use serde_json::{Value, json};

fn first_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string)
}

/// Number of CPUs this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// `/proc/loadavg`'s first three fields.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name").map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown".into())
}

fn memory() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("MemTotal:")).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

fn os() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_default()
}

/// The workspace's locked version of a crate.
fn locked(name: &str) -> Option<String> {
    let lock = std::fs::read_to_string(weir_testkit::paths::workspace().join("Cargo.lock")).ok()?;
    let needle = format!("name = \"{name}\"\nversion = \"");
    let at = lock.find(&needle)? + needle.len();
    lock[at..].split('"').next().map(str::to_string)
}

fn git_revision() -> String {
    let root = weir_testkit::paths::workspace();
    let rev = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let dirty = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    if dirty { format!("{rev}+uncommitted changes") } else { rev }
}

/// `envoy --version` prints `<path>  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL`.
fn envoy_version(envoy: &std::path::Path) -> String {
    let line = first_line(&envoy.display().to_string(), &["--version"]).unwrap_or_default();
    let build = line.split("version:").nth(1).unwrap_or(&line).trim();
    let mut parts = build.split('/');
    match (parts.next(), parts.next()) {
        (Some(sha), Some(version)) => format!("Envoy {version} ({})", &sha[..sha.len().min(12)]),
        _ => build.to_string(),
    }
}

/// The machine and versions, as JSON.
pub fn describe(envoy: &std::path::Path, wrk: &str) -> Value {
    json!({
        "cores": cores(),
        "cpu_model": cpu_model(),
        "kernel": first_line("uname", &["-r"]).unwrap_or_default(),
        "os": os(),
        "memory": memory(),
        "versions": {
            "envoy": envoy_version(envoy),
            "weir": format!("weir-host {} ({})", env!("CARGO_PKG_VERSION"), git_revision()),
            "wasmtime": locked("wasmtime").unwrap_or_default(),
            "hyper": locked("hyper").unwrap_or_default(),
            "rustc": first_line("rustc", &["--version"]).unwrap_or_default(),
            "wrk": wrk,
        },
    })
}

/// One line for the markdown report.
pub fn summary_line(m: &Value) -> String {
    let s = |k: &str| m[k].as_str().unwrap_or("").to_string();
    format!("{} cores, {}, {}, kernel {}, {}", m["cores"], s("cpu_model"), s("memory"), s("kernel"), s("os"))
}
