//! The project's own binaries: each is `$WEIR_*_BIN` when that is set, else built with cargo,
//! once per process, and taken from the target directory.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, PoisonError};

use anyhow::{Context, bail};

use crate::paths;

/// A binary of the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bin {
    /// The proxy, `weir` (package `weir-host`); `$WEIR_BIN`.
    Weir,
    /// The control plane and its CLI, `weir-cp`; `$WEIR_CP_BIN`.
    Cp,
    /// The echo upstream as a process, `weir-echo` (package `weir-tests`); `$WEIR_ECHO_BIN`.
    Echo,
    /// The rate limit service, `weir-rls`; `$WEIR_RLS_BIN`.
    Rls,
    /// The fleet simulator, `weir-fleet` (`cargo xtask fleet` only); `$WEIR_FLEET_BIN`.
    Fleet,
}

impl Bin {
    /// Every binary the suites use (all but the fleet simulator).
    pub const ALL: [Bin; 4] = [Bin::Weir, Bin::Cp, Bin::Echo, Bin::Rls];

    /// The binary's name.
    pub fn name(self) -> &'static str {
        match self {
            Bin::Weir => "weir",
            Bin::Cp => "weir-cp",
            Bin::Echo => "weir-echo",
            Bin::Rls => "weir-rls",
            Bin::Fleet => "weir-fleet",
        }
    }

    /// The package that builds it.
    pub fn package(self) -> &'static str {
        match self {
            Bin::Weir => "weir-host",
            Bin::Cp => "weir-cp",
            Bin::Echo => "weir-tests",
            Bin::Rls => "weir-rls",
            Bin::Fleet => "weir-fleet",
        }
    }

    /// The environment variable that names a binary to use instead of building one.
    pub fn env_var(self) -> &'static str {
        match self {
            Bin::Weir => "WEIR_BIN",
            Bin::Cp => "WEIR_CP_BIN",
            Bin::Echo => "WEIR_ECHO_BIN",
            Bin::Rls => "WEIR_RLS_BIN",
            Bin::Fleet => "WEIR_FLEET_BIN",
        }
    }

    fn overridden(self) -> Option<PathBuf> {
        std::env::var_os(self.env_var()).map(PathBuf::from)
    }
}

/// The cargo profile a binary is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// `dev` (`target/debug`): the suites and the demo.
    Debug,
    /// `release` (`target/release`): the benchmark.
    Release,
}

impl Profile {
    fn dir(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }
}

/// The binaries built by this process so far.
static BUILT: Mutex<Option<HashSet<(Bin, Profile)>>> = Mutex::new(None);

/// The cargo that runs us (`$CARGO`), in the workspace root. Under CI (`$CI` set) without
/// incremental compilation: a clean build gains nothing from it and its caches cost gigabytes
/// of disk.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(paths::workspace());
    if std::env::var_os("CI").is_some() {
        cmd.env("CARGO_INCREMENTAL", "0");
    }
    cmd
}

/// Builds those of `bins` that have no `$WEIR_*_BIN` and were not built yet by this process,
/// in one cargo call.
pub fn build(profile: Profile, bins: &[Bin]) -> anyhow::Result<()> {
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    let built = built.get_or_insert_with(HashSet::new);
    let wanted: Vec<Bin> = bins
        .iter()
        .copied()
        .filter(|b| b.overridden().is_none() && !built.contains(&(*b, profile)))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let mut cmd = cargo();
    cmd.args(["build", "--quiet"]);
    if profile == Profile::Release {
        cmd.arg("--release");
    }
    for bin in &wanted {
        cmd.args(["-p", bin.package(), "--bin", bin.name()]);
    }
    let output = cmd.output().context("cannot run cargo")?;
    if !output.status.success() {
        let names: Vec<&str> = wanted.iter().map(|b| b.name()).collect();
        bail!("building {} failed:\n{}", names.join(", "), String::from_utf8_lossy(&output.stderr));
    }
    built.extend(wanted.into_iter().map(|b| (b, profile)));
    Ok(())
}

/// The binary: `$WEIR_*_BIN`, else built (once per process) in `profile`.
pub fn path(bin: Bin, profile: Profile) -> anyhow::Result<PathBuf> {
    build(profile, &[bin])?;
    Ok(existing(bin, profile))
}

/// The binary without building it: `$WEIR_*_BIN`, else where cargo puts it in `profile`.
pub fn existing(bin: Bin, profile: Profile) -> PathBuf {
    bin.overridden().unwrap_or_else(|| paths::target_dir().join(profile.dir()).join(bin.name()))
}
