//! Where things are: the workspace, built filters, the Envoy binary.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The cargo target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target"))
}

/// Directory holding the built `.wasm` filters (`cargo xtask build-filters`).
pub fn filters_dir() -> PathBuf {
    std::env::var_os("WEIR_FILTERS_DIR").map(PathBuf::from).unwrap_or_else(|| target_dir().join("filters"))
}

/// Path of a built filter by name (e.g. `header-rewrite`), which must exist.
pub fn filter(name: &str) -> anyhow::Result<PathBuf> {
    let path = filters_dir().join(format!("{name}.wasm"));
    if !path.exists() {
        bail!(
            "filter {} is not built: run `cargo xtask build-filters` (or `cargo xtask test`)",
            path.display()
        );
    }
    Ok(path)
}

/// The Envoy binary installed by `cargo xtask envoy` (or `WEIR_ENVOY_BIN`).
pub fn envoy_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("WEIR_ENVOY_BIN") {
        return Ok(PathBuf::from(path));
    }
    let pointer = target_dir().join("envoy").join("envoy-path");
    let text = std::fs::read_to_string(&pointer).with_context(|| {
        format!(
            "Envoy is not installed ({} missing): run `cargo xtask envoy` (or `cargo xtask test`)",
            pointer.display()
        )
    })?;
    let path = PathBuf::from(text.trim());
    if !path.exists() {
        bail!("Envoy binary {} is missing: run `cargo xtask envoy`", path.display());
    }
    Ok(path)
}
