//! `cargo xtask dist`: the release tarball. `weir-<version>-<arch>-linux.tar.gz` in
//! `target/dist` (and its `.sha256`), holding:
//!
//! - `bin/`: weir, weir-cp, weir-rls (release build, debug info stripped);
//! - `filters/`: every filter and example of `filters/` and `examples/`, for `wasm32-wasip1`;
//! - `etc/weir.yaml`: a first config using a filter from `filters/` (relative path);
//! - `systemd/`: `weir.service` and `weir-cp.service` (`Type=notify`);
//! - `docs/`: the reference and guides, each filter's README as `docs/filters/<name>.md`;
//! - `LICENSE`, `README.md` (the tarball's layout and first steps).
//!
//! `--debug` packages the debug binaries `cargo xtask test` built instead of building release
//! ones (CI's smoke test: the same packaging, minutes less); `--smoke` then unpacks the
//! tarball into a temporary directory and runs it ([`smoke`]).

mod smoke;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use weir_testkit::bins::{self, Bin, Profile};
use weir_testkit::paths;

use crate::{filters, util};

/// The binaries the tarball ships.
const SHIPPED: [Bin; 3] = [Bin::Weir, Bin::Cp, Bin::Rls];

/// `cargo xtask dist` options.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Package the debug binaries already in target/debug instead of a release build.
    #[arg(long)]
    pub debug: bool,
    /// Then unpack the tarball in a temporary directory and run weir and a filter from it.
    #[arg(long)]
    pub smoke: bool,
    /// Where the tarball goes.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Builds the tarball (and smoke-tests it with `--smoke`); returns what was made.
pub fn run(options: &Options) -> anyhow::Result<String> {
    let profile = if options.debug { Profile::Debug } else { Profile::Release };
    if !options.debug {
        util::run(bins::cargo().args([
            "build",
            "--release",
            "--locked",
            "-p",
            "weir-host",
            "-p",
            "weir-cp",
            "-p",
            "weir-rls",
            "--bins",
        ]))?;
    }
    let shipped: Vec<filters::FilterCrate> = filters::crates()?.into_iter().filter(|c| c.shipped).collect();
    let wasm = filters::build_rust(&shipped)?;
    let version = version(&bins::existing(Bin::Weir, profile))?;
    let name = format!("weir-{version}-{}-linux", std::env::consts::ARCH);
    let out = options.out.clone().unwrap_or_else(|| paths::target_dir().join("dist"));
    let root = out.join(&name);
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("removing {}", root.display()))?;
    }
    stage(&root, profile, &wasm, &shipped)?;
    let tarball = out.join(format!("{name}.tar.gz"));
    pack(&out, &name, &tarball)?;
    let digest = sha256(&tarball)?;
    let mut detail = format!("{} (sha256 {digest})", tarball.display());
    if options.smoke {
        detail.push_str(&format!("; smoke: {}", smoke::run(&tarball, &name, &version)?));
    }
    Ok(detail)
}

/// The version `weir --version` prints (`weir 0.1.0 (commit …)`).
fn version(weir: &Path) -> anyhow::Result<String> {
    let out = Command::new(weir)
        .arg("--version")
        .output()
        .with_context(|| format!("running {}", weir.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.split_whitespace().nth(1) {
        Some(v) if out.status.success() => Ok(v.to_string()),
        _ => bail!("{} --version printed {text:?}", weir.display()),
    }
}

/// Lays out the tarball's tree under `root`.
fn stage(
    root: &Path,
    profile: Profile,
    wasm: &[PathBuf],
    shipped: &[filters::FilterCrate],
) -> anyhow::Result<()> {
    let workspace = paths::workspace();
    for dir in ["bin", "filters", "etc", "systemd", "docs/filters"] {
        std::fs::create_dir_all(root.join(dir))?;
    }
    for bin in SHIPPED {
        let to = root.join("bin").join(bin.name());
        copy(&bins::existing(bin, profile), &to)?;
        util::run(Command::new("strip").arg("--strip-debug").arg(&to))?;
    }
    for path in wasm {
        copy(path, &root.join("filters").join(file_name(path)?))?;
    }
    copy(&workspace.join("dist/etc/weir.yaml"), &root.join("etc/weir.yaml"))?;
    for unit in ["weir.service", "weir-cp.service"] {
        copy(&workspace.join("dist/systemd").join(unit), &root.join("systemd").join(unit))?;
    }
    for entry in std::fs::read_dir(workspace.join("docs"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "md") {
            copy(&path, &root.join("docs").join(file_name(&path)?))?;
        }
    }
    for filter in shipped {
        for parent in ["filters", "examples"] {
            let readme = workspace.join(parent).join(&filter.name).join("README.md");
            if readme.exists() {
                copy(&readme, &root.join("docs/filters").join(format!("{}.md", filter.name)))?;
            }
        }
    }
    copy(&workspace.join("LICENSE"), &root.join("LICENSE"))?;
    copy(&workspace.join("dist/README.md"), &root.join("README.md"))
}

/// `dir/name` as `tarball`: sorted, owned by root, dated at the last commit, so the same tree
/// gives the same bytes.
fn pack(dir: &Path, name: &str, tarball: &Path) -> anyhow::Result<()> {
    let when = Command::new("git")
        .current_dir(paths::workspace())
        .args(["log", "-1", "--format=%ct"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "0".into());
    util::run(
        Command::new("tar")
            .arg("-C")
            .arg(dir)
            .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"])
            .arg(format!("--mtime=@{when}"))
            .arg("-czf")
            .arg(tarball)
            .arg(name),
    )
}

/// Writes `<tarball>.sha256` (`sha256sum` format) and returns the digest.
fn sha256(tarball: &Path) -> anyhow::Result<String> {
    let out = Command::new("sha256sum")
        .current_dir(tarball.parent().unwrap_or(Path::new(".")))
        .arg(file_name(tarball)?)
        .output()?;
    if !out.status.success() {
        bail!("sha256sum {} failed", tarball.display());
    }
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    std::fs::write(tarball.with_extension("gz.sha256"), &line)?;
    line.split_whitespace().next().map(str::to_string).context("sha256sum printed nothing")
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::copy(from, to).with_context(|| format!("copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

fn file_name(path: &Path) -> anyhow::Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("{} has no file name", path.display()))
}
