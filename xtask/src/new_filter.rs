//! `cargo xtask new-filter NAME`: a filter crate from `xtask/templates/filter` — the crate
//! type, profile and SIMD flags a proxy-wasm module needs, a filter, a `weir.yaml` and an
//! `envoy.yaml` loading it, and a test that builds it and runs it in weir. In this repository
//! (`filters/NAME`, added to the workspace) or standalone (`--out DIR`), depending on weir-sdk
//! by path to this checkout or by git.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use weir_testkit::paths;

/// `cargo xtask new-filter` options.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The filter's name: lower-case letters, digits and `-`, starting with a letter.
    pub name: String,
    /// Make a standalone crate in DIR (its own workspace) instead of `filters/NAME`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// With --out: take weir-sdk from this git repository instead of this checkout's `sdk/`.
    #[arg(long, requires = "out", value_name = "URL")]
    pub sdk_git: Option<String>,
    /// With --sdk-git: the revision (commit, tag or branch).
    #[arg(long, requires = "sdk_git", value_name = "REV")]
    pub sdk_rev: Option<String>,
}

/// The template's files: where each goes, and its text.
const FILES: [(&str, &str); 7] = [
    ("Cargo.toml", include_str!("../templates/filter/Cargo.toml.tmpl")),
    (".cargo/config.toml", include_str!("../templates/filter/.cargo/config.toml.tmpl")),
    ("src/lib.rs", include_str!("../templates/filter/src/lib.rs.tmpl")),
    ("tests/filter.rs", include_str!("../templates/filter/tests/filter.rs.tmpl")),
    ("weir.yaml", include_str!("../templates/filter/weir.yaml.tmpl")),
    ("envoy.yaml", include_str!("../templates/filter/envoy.yaml.tmpl")),
    ("README.md", include_str!("../templates/filter/README.md.tmpl")),
];

/// What only a standalone crate has: the wasm profile and a workspace of its own.
const STANDALONE: &str = "
# `cargo build --profile wasm-release --target wasm32-wasip1`: small, fast modules.
[profile.wasm-release]
inherits = \"release\"
opt-level = 3
lto = true
codegen-units = 1
panic = \"abort\"
strip = \"debuginfo\"
debug = false

# A workspace of its own (not a member of an enclosing one).
[workspace]
";

/// Writes the crate; returns its directory.
pub fn run(options: &Options) -> anyhow::Result<PathBuf> {
    let name = &options.name;
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!(
            "{name:?}: a filter name is lower-case letters, digits and `-`, starting with a letter (at most 64)"
        );
    }
    let standalone = options.out.is_some();
    let dir = options.out.clone().unwrap_or_else(|| paths::workspace().join("filters").join(name));
    if dir.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
        bail!("{} exists and is not empty", dir.display());
    }
    let crate_name = name.replace('-', "_");
    let vars = variables(options, standalone, &crate_name)?;
    for (file, template) in FILES {
        if file.starts_with(".cargo") && !standalone {
            continue; // the repository's own `.cargo/config.toml` applies
        }
        let mut text = template.replace("{{name}}", name).replace("{{crate_name}}", &crate_name);
        for (key, value) in &vars {
            text = text.replace(&format!("{{{{{key}}}}}"), value);
        }
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if !standalone {
        join_workspace(name)?;
    }
    Ok(dir)
}

fn variables(
    options: &Options,
    standalone: bool,
    crate_name: &str,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    let sdk = match (&options.sdk_git, &options.sdk_rev, standalone) {
        (Some(url), Some(rev), _) => format!("weir-sdk = {{ git = \"{url}\", rev = \"{rev}\" }}"),
        (Some(url), None, _) => format!("weir-sdk = {{ git = \"{url}\" }}"),
        (None, _, true) => format!("weir-sdk = {{ path = \"{}\" }}", sdk_path()?.display()),
        (None, _, false) => "weir-sdk.workspace = true".to_string(),
    };
    let built = format!("target/wasm32-wasip1/wasm-release/{crate_name}.wasm");
    let name = &options.name;
    Ok(if standalone {
        vec![
            ("sdk", sdk),
            ("standalone", STANDALONE.to_string()),
            ("weir_wasm", built.clone()),
            ("envoy_wasm", built),
            ("envoy_cwd", "this directory".into()),
            ("build", "cargo build --profile wasm-release --target wasm32-wasip1".into()),
            ("test", "cargo test".into()),
        ]
    } else {
        vec![
            ("sdk", sdk),
            ("standalone", "\n[lints]\nworkspace = true\n".into()),
            ("weir_wasm", format!("../../target/filters/{name}.wasm")),
            ("envoy_wasm", format!("target/filters/{name}.wasm")),
            ("envoy_cwd", "the repository root".into()),
            ("build", "cargo xtask build-filters".into()),
            ("test", format!("cargo test -p {name}")),
        ]
    })
}

fn sdk_path() -> anyhow::Result<PathBuf> {
    let sdk = paths::workspace().join("sdk");
    std::fs::canonicalize(&sdk).with_context(|| format!("{} (weir-sdk)", sdk.display()))
}

/// Adds `filters/NAME` to the workspace's members, after the last `filters/` member.
fn join_workspace(name: &str) -> anyhow::Result<()> {
    let manifest = paths::workspace().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)?;
    let member = format!("    \"filters/{name}\",\n");
    let Some(at) = text.rfind("    \"filters/").and_then(|i| text[i..].find('\n').map(|n| i + n + 1)) else {
        bail!("no `filters/` member in {}", manifest.display());
    };
    std::fs::write(&manifest, format!("{}{member}{}", &text[..at], &text[at..]))?;
    Ok(())
}

/// CI's check of the template: a standalone crate in a temporary directory (weir-sdk by path),
/// its own `cargo test` run against `weir`.
pub fn check(weir: &Path) -> anyhow::Result<String> {
    let tmp = tempfile::tempdir()?;
    let dir = run(&Options {
        name: "demo-filter".into(),
        out: Some(tmp.path().join("demo-filter")),
        sdk_git: None,
        sdk_rev: None,
    })?;
    // Kept between runs (a clean checkout builds it once); the crate sees it as its `target`.
    let target = paths::target_dir().join("new-filter-check");
    std::fs::create_dir_all(&target)?;
    std::os::unix::fs::symlink(&target, dir.join("target"))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    crate::util::run(Command::new(cargo).current_dir(&dir).args(["test", "--quiet"]).env("WEIR_BIN", weir))?;
    // The configs it ships load the module it built, in both proxies.
    crate::util::run(Command::new(weir).current_dir(&dir).args(["--validate", "-c", "weir.yaml"]))?;
    crate::util::run(Command::new(crate::envoy::install()?).current_dir(&dir).args([
        "--mode",
        "validate",
        "--disable-hot-restart",
        "-l",
        "error",
        "-c",
        "envoy.yaml",
    ]))?;
    Ok("new-filter demo-filter --out DIR: its cargo test passed in weir; weir --validate and envoy --mode validate took its configs".into())
}
