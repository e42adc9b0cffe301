//! `weir-cp serve` as a child process: on given (or ephemeral) addresses with a state file, an
//! admin token file and a log beside it, its addresses read from the line it prints first; and
//! its CLI against it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::child::{Child, Spawn};

/// The caller's admin settings, which a child `weir-cp` must not inherit.
const ADMIN_ENV: [&str; 3] = ["WEIR_CP_ADMIN", "WEIR_CP_ADMIN_TOKEN", "WEIR_CP_ADMIN_TOKEN_FILE"];

/// A running `weir-cp serve`; killed on drop.
#[derive(Debug)]
pub struct WeirCp {
    child: Child,
    binary: PathBuf,
    token_file: PathBuf,
    /// The xDS address.
    pub xds: SocketAddr,
    /// The admin address.
    pub admin: SocketAddr,
}

/// Writes a fresh admin token (mode 0600) to `path`.
fn write_token(path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
    let token = format!("weir-testkit-{:032x}", seed ^ u128::from(std::process::id()));
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    writeln!(file, "{token}")?;
    Ok(())
}

impl WeirCp {
    /// Starts `binary serve` with `state_file` on `xds` and `admin` (port 0: ephemeral) and
    /// `extra` arguments (e.g. `--layer rtds`); the token file (`.token`) and the log (`.log`,
    /// appended, debug level) sit beside the state file.
    pub fn start(
        binary: &Path,
        state_file: &Path,
        xds: SocketAddr,
        admin: SocketAddr,
        extra: &[&str],
    ) -> anyhow::Result<WeirCp> {
        WeirCp::start_with(binary, state_file, xds, admin, extra, "weir_cp=debug,weir_xds=debug", None)
    }

    /// [`WeirCp::start`] with the log filter `log` (`RUST_LOG`) and pinned to `cpus` (a
    /// `taskset -c` list) when given.
    pub fn start_with(
        binary: &Path,
        state_file: &Path,
        xds: SocketAddr,
        admin: SocketAddr,
        extra: &[&str],
        log: &str,
        cpus: Option<&str>,
    ) -> anyhow::Result<WeirCp> {
        let token_file = state_file.with_extension("token");
        write_token(&token_file)?;
        let mut spawn = Spawn::pinned("weir-cp", binary, cpus)
            .args(["serve", "--xds-address", &xds.to_string(), "--admin-address", &admin.to_string()])
            .arg("--state-file")
            .arg(state_file)
            .arg("--token-file")
            .arg(&token_file)
            .args(extra)
            .env("RUST_LOG", log)
            .log(state_file.with_extension("log"))
            .append_log();
        for var in ADMIN_ENV {
            spawn = spawn.env_remove(var);
        }
        let (child, line) = spawn.start_reading_line(Duration::from_secs(30))?;
        let addrs: Value = serde_json::from_str(&line)
            .map_err(|_| child.failure(&format!("printed {line:?}, not its addresses")))?;
        let parse = |k: &str| -> anyhow::Result<SocketAddr> {
            addrs[k].as_str().with_context(|| format!("no `{k}` address"))?.parse().context("bad address")
        };
        Ok(WeirCp {
            xds: parse("xds")?,
            admin: parse("admin")?,
            child,
            binary: binary.to_path_buf(),
            token_file,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// The log.
    pub fn log(&self) -> String {
        self.child.log()
    }

    /// The admin token file.
    pub fn token_file(&self) -> &Path {
        &self.token_file
    }

    /// Runs a `weir-cp` client command against this instance (with its admin token).
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<Output> {
        let mut command = Command::new(&self.binary);
        for var in ADMIN_ENV {
            command.env_remove(var);
        }
        command.arg("--admin").arg(format!("http://{}", self.admin));
        command.arg("--token-file").arg(&self.token_file).args(args);
        command.output().context("cannot run weir-cp")
    }

    /// Runs a client command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.cli(args)?;
        if !out.status.success() {
            bail!("weir-cp {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
