//! Building a filter crate for `wasm32-wasip1` from a test, so a test needs no prebuilt
//! `.wasm`: `cargo build --lib --target wasm32-wasip1` with the `wasm-release` profile (the
//! one `cargo xtask new-filter` and weir's workspace define; `--release` when the crate has
//! none), the module's path taken from cargo's own report.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a filter crate could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// cargo could not be run.
    #[error("cannot run cargo: {0}")]
    Cargo(#[from] std::io::Error),
    /// The build failed.
    #[error("building {crate_dir} for wasm32-wasip1 failed:\n{stderr}")]
    Failed {
        /// The crate.
        crate_dir: PathBuf,
        /// cargo's messages.
        stderr: String,
    },
    /// The build made no `.wasm` (not a `cdylib` crate?).
    #[error("building {0} made no .wasm: is its crate-type cdylib?")]
    NoModule(PathBuf),
}

/// Builds the filter crate in `crate_dir` for `wasm32-wasip1`; returns the module's path.
pub fn build_filter(crate_dir: impl AsRef<Path>) -> Result<PathBuf, BuildError> {
    let crate_dir = crate_dir.as_ref();
    match cargo_build(crate_dir, &["--profile", "wasm-release"]) {
        Err(BuildError::Failed { stderr, .. })
            if stderr.contains("profile `wasm-release` is not defined") =>
        {
            cargo_build(crate_dir, &["--release"])
        }
        other => other,
    }
}

fn cargo_build(crate_dir: &Path, profile: &[&str]) -> Result<PathBuf, BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .arg("build")
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .args(["--lib", "--target", "wasm32-wasip1", "--message-format", "json"])
        .args(profile)
        .output()?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        return Err(BuildError::Failed { crate_dir: crate_dir.to_path_buf(), stderr });
    }
    // The last `.wasm` artifact reported is the crate's own (dependencies come first).
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .rfind(|f| f.extension().is_some_and(|e| e == "wasm"))
        .ok_or_else(|| BuildError::NoModule(crate_dir.to_path_buf()))
}
