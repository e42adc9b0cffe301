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
