//! `weir-cp` for tests: the real binary, started on given (or ephemeral) ports with a state
//! file, stopped by PID; plus its CLI and Envoy's view of runtime values.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::client;

/// Builds `weir-cp` once per test process (`cargo build -p weir-cp --bin weir-cp`), or uses
/// `WEIR_CP_BIN`.
pub fn binary() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        if let Some(path) = std::env::var_os("WEIR_CP_BIN") {
            return Ok(PathBuf::from(path));
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .current_dir(crate::paths::workspace())
            .args(["build", "--quiet", "-p", "weir-cp", "--bin", "weir-cp"])
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !output.status.success() {
            return Err(format!("building weir-cp failed:\n{}", String::from_utf8_lossy(&output.stderr)));
        }
        Ok(crate::paths::target_dir().join("debug").join("weir-cp"))
    });
    built.clone().map_err(anyhow::Error::msg)
}

/// A running `weir-cp serve`; killed on drop.
pub struct WeirCp {
    child: Child,
    /// The xDS address.
    pub xds: SocketAddr,
    /// The admin address.
    pub admin: SocketAddr,
    log: PathBuf,
    token_file: PathBuf,
}

/// Writes an admin token file (mode 0600) beside `state_file`, for `serve` and the CLI.
fn write_token(state_file: &Path) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = state_file.with_extension("token");
    let _ = std::fs::remove_file(&path);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
    let token = format!("weir-tests-{:032x}", seed ^ u128::from(std::process::id()));
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
    writeln!(file, "{token}")?;
    Ok(path)
}

/// A `weir-cp` command without the caller's admin settings.
fn weir_cp() -> anyhow::Result<Command> {
    let mut command = Command::new(binary()?);
    for var in ["WEIR_CP_ADMIN", "WEIR_CP_ADMIN_TOKEN", "WEIR_CP_ADMIN_TOKEN_FILE"] {
        command.env_remove(var);
    }
    Ok(command)
}

impl WeirCp {
    /// Starts `weir-cp serve` with `state_file` on the given addresses (port 0: ephemeral) and
    /// an admin token file beside the state file, and reads the address line it prints.
    pub fn start(state_file: &Path, xds: SocketAddr, admin: SocketAddr) -> anyhow::Result<WeirCp> {
        let log = state_file.with_extension("log");
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&log)?;
        let token_file = write_token(state_file)?;
        let mut child = weir_cp()?
            .args(["serve", "--xds-address", &xds.to_string(), "--admin-address", &admin.to_string()])
            .arg("--state-file")
            .arg(state_file)
            .arg("--token-file")
            .arg(&token_file)
            .env("RUST_LOG", "weir_cp=debug,weir_xds=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .context("cannot start weir-cp")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let Ok(addrs) = serde_json::from_str::<Value>(&line) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "weir-cp printed no address line; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        let parse = |k: &str| -> anyhow::Result<SocketAddr> {
            addrs[k].as_str().context("address missing")?.parse().context("bad address")
        };
        Ok(WeirCp { xds: parse("xds")?, admin: parse("admin")?, child, log, token_file })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Runs a `weir-cp` client command against this instance (with its admin token).
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<Output> {
        Ok(weir_cp()?
            .arg("--admin")
            .arg(format!("http://{}", self.admin))
            .arg("--token-file")
            .arg(&self.token_file)
            .args(args)
            .output()?)
    }

    /// Runs a client command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.cli(args)?;
        if !out.status.success() {
            bail!("weir-cp {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `GET /status` as JSON.
    pub async fn status(&self) -> anyhow::Result<Value> {
        let reply = client::send(self.admin, client::admin_get(self.admin, "/status")).await?;
        Ok(serde_json::from_slice(&reply.body)?)
    }

    /// Polls `/status` until `check` holds on node `node`'s `rtds` entry; returns it.
    pub async fn wait_rtds(
        &self,
        node: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = self.status().await.unwrap_or(Value::Null);
            let nodes = status["nodes"].as_array().cloned().unwrap_or_default();
            if let Some(node) = nodes.iter().find(|n| n["id"] == node)
                && check(node)
            {
                return Ok(node.clone());
            }
            if Instant::now() > deadline {
                bail!("weir-cp status never showed {what} for {node} within 30s:\n{status:#}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The weir-cp log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for WeirCp {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Envoy's runtime value for `key` (`GET /runtime`, `final_value`), if set.
pub async fn envoy_runtime(admin: SocketAddr, key: &str) -> anyhow::Result<Option<String>> {
    let reply = client::send(admin, client::get("/runtime", &[])).await?;
    let json: Value = serde_json::from_slice(&reply.body)?;
    Ok(json["entries"][key]["final_value"].as_str().map(str::to_string))
}

/// Polls Envoy's `/runtime` until `key` has `want`; returns how long it took.
pub async fn wait_envoy_runtime(admin: SocketAddr, key: &str, want: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(30);
    loop {
        let got = envoy_runtime(admin, key).await?;
        if got.as_deref() == Some(want) {
            return Ok(started.elapsed());
        }
        if Instant::now() > deadline {
            bail!("Envoy's runtime {key} is {got:?}, not {want:?}, after 30s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
