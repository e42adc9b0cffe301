//! Where things are: the workspace, the cargo target directory, the built `.wasm` filters and
//! the Envoy binary installed by `cargo xtask envoy`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The workspace root.
pub fn workspace() -> PathBuf {
    // This crate is `tests/kit`.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The cargo target directory: `$CARGO_TARGET_DIR`, else `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from)
}

/// Where `cargo xtask build-filters` puts the built filters: `target/filters`.
pub fn built_filters_dir() -> PathBuf {
    target_dir().join("filters")
}

/// Where the suites, the demo and the benchmark take built filters from: `$WEIR_FILTERS_DIR`,
/// else [`built_filters_dir`].
pub fn filters_dir() -> PathBuf {
    std::env::var_os("WEIR_FILTERS_DIR").map_or_else(built_filters_dir, PathBuf::from)
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

/// Where `cargo xtask envoy` installs Envoy: `target/envoy`.
pub fn envoy_dir() -> PathBuf {
    target_dir().join("envoy")
}

/// The file in which `cargo xtask envoy` writes the installed binary's path.
pub fn envoy_pointer() -> PathBuf {
    envoy_dir().join("envoy-path")
}

/// The Envoy binary: `$WEIR_ENVOY_BIN`, else the one `cargo xtask envoy` installed.
pub fn envoy_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("WEIR_ENVOY_BIN") {
        return Ok(PathBuf::from(path));
    }
    let pointer = envoy_pointer();
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
