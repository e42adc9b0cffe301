//! Builds every filter (`filters/*`) and example (`examples/*`) for `wasm32-wasip1` with the
//! `wasm-release` profile, into `target/filters/<dir name>.wasm`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use weir_testkit::{bins, paths};

use crate::util;

/// The wasm target.
pub const TARGET: &str = "wasm32-wasip1";

/// A Rust filter crate: its directory name and package name.
pub struct FilterCrate {
    /// Directory name, also the built filter's name.
    pub name: String,
    /// Cargo package name.
    pub package: String,
    /// A product filter or example (`filters/`, `examples/`), shipped in the release tarball;
    /// not a test filter.
    pub shipped: bool,
}

/// Every Rust filter crate in `filters/` and `examples/`.
pub fn crates() -> anyhow::Result<Vec<FilterCrate>> {
    let mut out = Vec::new();
    for parent in ["filters", "examples", "tests/filters"] {
        let dir = paths::workspace().join(parent);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            let manifest = path.join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&manifest) else {
                continue;
            };
            if !text.contains("cdylib") {
                continue;
            }
            let package = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("name = \"").and_then(|r| r.strip_suffix('"')))
                .with_context(|| format!("no package name in {}", manifest.display()))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push(FilterCrate { name, package: package.to_string(), shipped: parent != "tests/filters" });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Adds the wasm target with rustup when it is missing.
pub fn ensure_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to add the wasm32-wasip1 target")?;
    if !String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == TARGET) {
        util::run(Command::new("rustup").args(["target", "add", TARGET]))?;
    }
    Ok(())
}

/// Every AssemblyScript filter (a directory with `package.json` and `assembly/index.ts`).
pub fn assemblyscript() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for parent in ["filters", "examples", "tests/filters"] {
        let Ok(entries) = std::fs::read_dir(paths::workspace().join(parent)) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.join("package.json").exists() && path.join("assembly/index.ts").exists() {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Builds an AssemblyScript filter with its pinned toolchain (`npm ci`, then `asc`).
fn build_assemblyscript(dir: &std::path::Path, out: &std::path::Path) -> anyhow::Result<()> {
    let installed = dir.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&installed), std::fs::metadata(dir.join("package-lock.json"))) {
        (Ok(i), Ok(l)) => i.modified().ok() >= l.modified().ok(),
        _ => false,
    };
    if !fresh {
        util::run(Command::new("npm").current_dir(dir).args(["ci", "--no-audit", "--no-fund", "--silent"]))
            .context("npm ci (Node.js and npm are needed for AssemblyScript test filters)")?;
    }
    util::run(
        Command::new("npx")
            .current_dir(dir)
            .args([
                "--no-install",
                "asc",
                "assembly/index.ts",
                "--use",
                "abort=abort_proc_exit",
                "--optimize",
                "-b",
            ])
            .arg(out),
    )
}

/// Builds all filters; returns the `.wasm` paths.
pub fn build() -> anyhow::Result<Vec<PathBuf>> {
    let mut built = build_rust(&crates()?)?;
    for dir in assemblyscript() {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let to = paths::built_filters_dir().join(format!("{name}.wasm"));
        build_assemblyscript(&dir, &to).with_context(|| format!("building {}", dir.display()))?;
        built.push(to);
    }
    Ok(built)
}

/// Builds the Rust filter `crates` into `target/filters`; returns the `.wasm` paths.
pub fn build_rust(crates: &[FilterCrate]) -> anyhow::Result<Vec<PathBuf>> {
    ensure_target()?;
    if crates.is_empty() {
        bail!("no filter crates found");
    }
    let mut cmd = bins::cargo();
    cmd.args(["build", "--quiet", "--target", TARGET, "--profile", "wasm-release"]);
    for c in crates {
        cmd.args(["-p", &c.package]);
    }
    util::run(&mut cmd)?;
    let out_dir = paths::built_filters_dir();
    std::fs::create_dir_all(&out_dir)?;
    let built_dir = paths::target_dir().join(TARGET).join("wasm-release");
    let mut built = Vec::new();
    for c in crates {
        let from = built_dir.join(format!("{}.wasm", c.package.replace('-', "_")));
        let to = out_dir.join(format!("{}.wasm", c.name));
        std::fs::copy(&from, &to).with_context(|| format!("copy {} to {}", from.display(), to.display()))?;
        built.push(to);
    }
    Ok(built)
}
