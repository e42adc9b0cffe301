//! `cargo xtask test`: every check CI runs, in order, one summary line per step, stopping at
//! the first failure.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use weir_testkit::bins::{self, Bin, Profile};
use weir_testkit::paths;

use crate::{dist, envoy, filters, new_filter, util};

struct Step {
    name: &'static str,
    run: fn() -> anyhow::Result<String>,
}

/// Runs every step.
pub fn run() -> anyhow::Result<()> {
    let steps = [
        Step { name: "fmt", run: fmt },
        Step { name: "clippy (native)", run: clippy_native },
        Step { name: "clippy (wasm32-wasip1)", run: clippy_wasm },
        Step { name: "doc", run: doc },
        Step { name: "build filters", run: build_filters },
        Step { name: "install Envoy", run: install_envoy },
        Step { name: "install Redis, registry", run: install_services },
        Step { name: "build binaries", run: build_bins },
        Step { name: "release tarball (smoke)", run: dist_smoke },
        Step { name: "unit + integration tests", run: tests },
        Step { name: "new-filter template", run: new_filter_check },
        Step { name: "validate configs", run: validate_configs },
        Step { name: "conformance (Envoy + weir)", run: conformance },
    ];
    let started = Instant::now();
    for step in steps {
        let t = Instant::now();
        println!("==> {}", step.name);
        match (step.run)() {
            Ok(detail) => println!("ok   {:<28} {:>6.1}s  {detail}", step.name, t.elapsed().as_secs_f64()),
            Err(e) => {
                println!("FAIL {:<28} {:>6.1}s", step.name, t.elapsed().as_secs_f64());
                return Err(e.context(format!("step `{}` failed", step.name)));
            }
        }
    }
    println!("all checks passed in {:.0}s", started.elapsed().as_secs_f64());
    Ok(())
}

fn fmt() -> anyhow::Result<String> {
    util::run(bins::cargo().args(["fmt", "--all", "--", "--check"]))?;
    Ok(String::new())
}

fn clippy_native() -> anyhow::Result<String> {
    util::run(bins::cargo().args([
        "clippy",
        "--quiet",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    Ok(String::new())
}

fn clippy_wasm() -> anyhow::Result<String> {
    filters::ensure_target()?;
    let mut cmd = bins::cargo();
    cmd.args(["clippy", "--quiet", "--target", filters::TARGET, "-p", "weir-sdk", "-p", "weir-abi"]);
    for c in filters::crates()? {
        cmd.args(["-p", &c.package]);
    }
    cmd.args(["--", "-D", "warnings"]);
    util::run(&mut cmd)?;
    Ok(String::new())
}

fn doc() -> anyhow::Result<String> {
    util::run(
        bins::cargo().args(["doc", "--quiet", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    Ok(String::new())
}

fn build_filters() -> anyhow::Result<String> {
    let built = filters::build()?;
    Ok(format!("{} filters in target/filters", built.len()))
}

fn install_envoy() -> anyhow::Result<String> {
    let path = envoy::install()?;
    Ok(format!("Envoy {} at {}", envoy::VERSION, path.display()))
}

/// Redis, for weir-rls's suites (Debian's `redis-server`), and an OCI registry for the OCI
/// module suite (Debian's `docker-registry`).
fn install_services() -> anyhow::Result<String> {
    Ok(format!("{}, {}", util::ensure_redis()?, util::ensure_registry()?))
}

/// Builds weir, weir-cp, weir-echo and weir-rls, and every test binary, once, in one cargo
/// call with one feature set. The suites then take the binaries from `$WEIR_*_BIN`
/// ([`with_bins`]) instead of each building the one it needs.
///
/// Every later step (nextest, the conformance suite) builds with `--workspace` in test mode too,
/// so nothing is compiled twice. Cargo resolves features per invocation: a build of a few
/// packages (`-p weir-host -p weir-cp ...`) or in build mode (dev-dependencies' features off)
/// picks other features for shared crates than `cargo test --workspace`, and on a clean
/// checkout that rebuilt wasmtime, cranelift, envoy-types, tokio and hyper once per step.
///
/// `cargo test` builds a package's binaries only when the package has integration tests (they
/// may run them): the build's own report (`--message-format json`) must name each binary, so
/// a package that loses its tests fails here instead of leaving a stale binary in use.
fn build_bins() -> anyhow::Result<String> {
    let output = bins::cargo()
        .args(["test", "--workspace", "--no-run", "--message-format", "json-render-diagnostics"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo test --no-run")?;
    if !output.status.success() {
        bail!("`cargo test --workspace --no-run` failed ({})", output.status);
    }
    let built: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["profile"]["test"] == false)
        .filter_map(|m| m["executable"].as_str().map(str::to_string))
        .collect();
    for bin in Bin::ALL {
        let path = paths::target_dir().join("debug").join(bin.name());
        if !built.iter().any(|b| std::path::Path::new(b) == path) {
            bail!(
                "`cargo test --workspace --no-run` did not build {} (does package {} still have integration tests?)",
                path.display(),
                bin.package()
            );
        }
    }
    let names: Vec<&str> = Bin::ALL.iter().map(|b| b.name()).collect();
    Ok(format!("{} and the test binaries in target/debug", names.join(", ")))
}

/// The release tarball, packaged from the debug binaries [`build_bins`] built, unpacked and
/// run (`cargo xtask dist --debug --smoke`).
fn dist_smoke() -> anyhow::Result<String> {
    dist::run(&dist::Options { debug: true, smoke: true, out: None })
}

/// A standalone crate from `cargo xtask new-filter`, its own test run against the debug weir.
fn new_filter_check() -> anyhow::Result<String> {
    new_filter::check(&bins::existing(Bin::Weir, Profile::Debug))
}

/// `cmd` with `$WEIR_*_BIN` naming the binaries [`build_bins`] built.
fn with_bins(cmd: &mut Command) -> &mut Command {
    for bin in Bin::ALL {
        cmd.env(bin.env_var(), bins::existing(bin, Profile::Debug));
    }
    cmd
}

fn nextest_available() -> bool {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tests() -> anyhow::Result<String> {
    if !nextest_available() {
        bail!("cargo-nextest is required: `cargo install cargo-nextest --locked`");
    }
    util::run(with_bins(&mut bins::cargo()).args([
        "nextest",
        "run",
        "--workspace",
        "--no-fail-fast",
        "-E",
        "not binary(conformance)",
    ]))?;
    Ok(String::new())
}

/// Every Envoy config and every weir config in the repository.
fn configs() -> anyhow::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut envoy = Vec::new();
    let mut weir = Vec::new();
    for dir in ["examples", "envoy-configs", "filters"] {
        collect(&paths::workspace().join(dir), &mut envoy, &mut weir)?;
    }
    envoy.sort();
    weir.sort();
    Ok((envoy, weir))
}

fn collect(dir: &std::path::Path, envoy: &mut Vec<PathBuf>, weir: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target" || n == "node_modules") {
                continue;
            }
            collect(&path, envoy, weir)?;
            continue;
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        if text.contains("static_resources:") || text.contains("dynamic_resources:") {
            envoy.push(path);
        } else if text.contains("listeners:") && text.contains("virtual_hosts:") {
            weir.push(path);
        }
    }
    Ok(())
}

fn validate_configs() -> anyhow::Result<String> {
    let envoy_bin = envoy::install()?;
    let (envoy_configs, weir_configs) = configs()?;
    for config in &envoy_configs {
        let output = Command::new(&envoy_bin)
            .current_dir(paths::workspace())
            .args(["--mode", "validate", "--disable-hot-restart", "-l", "error", "-c"])
            .arg(config)
            .output()
            .with_context(|| format!("running envoy on {}", config.display()))?;
        if !output.status.success() {
            bail!(
                "envoy --mode validate rejected {}:\n{}{}",
                config.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    // The binary `build_bins` built (`bins::path` would build it again with other features).
    let weir_bin = bins::existing(Bin::Weir, Profile::Debug);
    // weir takes every configuration in the repository: its own and Envoy's.
    for config in weir_configs.iter().chain(&envoy_configs) {
        let output = Command::new(&weir_bin)
            .current_dir(paths::workspace())
            .args(["--validate", "-c"])
            .arg(config)
            .output()?;
        if !output.status.success() {
            bail!(
                "weir --validate rejected {}:\n{}",
                config.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    Ok(format!(
        "{} Envoy configs (envoy --mode validate and weir --validate), {} weir configs (weir --validate)",
        envoy_configs.len(),
        weir_configs.len()
    ))
}

fn conformance() -> anyhow::Result<String> {
    let output = with_bins(&mut bins::cargo())
        // `--workspace`: the feature set `build_bins` built with, so nothing recompiles.
        .args(["test", "--workspace", "--test", "conformance", "--", "--test-threads", "2"])
        .output()
        .context("running the conformance suite")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        bail!("conformance cases failed");
    }
    let passed = stdout.lines().find(|l| l.starts_with("test result:")).unwrap_or("").to_string();
    let ok: Vec<&str> = stdout.lines().filter(|l| l.starts_with("test ") && l.ends_with(" ok")).collect();
    let over = |mode: &str| ok.iter().filter(|l| l.contains(mode)).count();
    let (sotw, delta) = (over(" xds-sotw/"), over(" xds-delta/"));
    Ok(format!(
        "{} cases configured statically, {sotw} over xDS (SotW), {delta} over xDS (delta); each against Envoy {} and weir, all agreeing ({passed})",
        ok.len() - sotw - delta,
        envoy::VERSION
    ))
}
