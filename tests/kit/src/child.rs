//! One child process type for the suites and `cargo xtask`: started from a binary, its stderr
//! captured to a log file whose tail goes into every error, ready when its admin `/ready`
//! answers `LIVE`, and stopped by PID — SIGKILL on drop, SIGTERM on request — never by name.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::http;

/// How often readiness is polled.
const POLL: Duration = Duration::from_millis(50);
/// Log lines an error shows.
const TAIL: usize = 40;

/// `program` as a command, pinned to `cpus` (a `taskset -c` list) when given.
pub fn pinned(program: impl AsRef<OsStr>, cpus: Option<&str>) -> Command {
    match cpus {
        Some(list) => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(list).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// A child process to start.
#[derive(Debug)]
pub struct Spawn {
    name: String,
    command: Command,
    log: Option<PathBuf>,
    append: bool,
    announce: bool,
}

impl Spawn {
    /// `program`, known as `name` in messages.
    pub fn new(name: &str, program: impl AsRef<OsStr>) -> Spawn {
        Spawn::pinned(name, program, None)
    }

    /// `program` pinned to `cpus` (a `taskset -c` list) when given; `taskset` execs the
    /// program, so the PID is the program's.
    pub fn pinned(name: &str, program: impl AsRef<OsStr>, cpus: Option<&str>) -> Spawn {
        Spawn {
            name: name.to_string(),
            command: pinned(program, cpus),
            log: None,
            append: false,
            announce: false,
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Spawn {
        self.command.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Spawn {
        self.command.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Spawn {
        self.command.env(key, value);
        self
    }

    /// Removes an environment variable the child would inherit.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Spawn {
        self.command.env_remove(key);
        self
    }

    /// Writes stderr to `path` (truncated) instead of a file in a temporary directory.
    pub fn log(mut self, path: impl Into<PathBuf>) -> Spawn {
        self.log = Some(path.into());
        self
    }

    /// Appends to the log file rather than truncating it (a process restarted on the same
    /// state keeps one log).
    pub fn append_log(mut self) -> Spawn {
        self.append = true;
        self
    }

    /// Prints `started <name> (pid N)` and, when stopped, `stopped <name> (pid N)`.
    pub fn announce(mut self) -> Spawn {
        self.announce = true;
        self
    }

    /// Starts it with stdout discarded.
    pub fn start(self) -> anyhow::Result<Child> {
        self.start_with(Stdio::null())
    }

    /// Starts it and returns the first line it prints (trimmed), waiting `limit` at most.
    pub fn start_reading_line(self, limit: Duration) -> anyhow::Result<(Child, String)> {
        let mut child = self.start_with(Stdio::piped())?;
        let stdout = child.child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(limit) {
            Ok(line) if !line.trim().is_empty() => Ok((child, line.trim().to_string())),
            _ => Err(child.failure(&format!("printed no line within {limit:?}"))),
        }
    }

    fn start_with(mut self, stdout: Stdio) -> anyhow::Result<Child> {
        let dir = match self.log {
            Some(_) => None,
            None => Some(tempfile::Builder::new().prefix(&format!("{}-", self.name)).tempdir()?),
        };
        let log = match (&self.log, &dir) {
            (Some(path), _) => path.clone(),
            (None, Some(dir)) => dir.path().join(format!("{}.log", self.name)),
            (None, None) => bail!("no log file"),
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(self.append)
            .truncate(!self.append)
            .open(&log)
            .with_context(|| format!("create {}", log.display()))?;
        let child = self
            .command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::from(file))
            .spawn()
            .with_context(|| format!("cannot start {} ({:?})", self.name, self.command.get_program()))?;
        if self.announce {
            println!("started {} (pid {})", self.name, child.id());
        }
        Ok(Child { name: self.name, child, log, announce: self.announce, _dir: dir })
    }
}

/// A running child process; killed (SIGKILL, by PID) and reaped when dropped.
#[derive(Debug)]
pub struct Child {
    name: String,
    child: std::process::Child,
    log: PathBuf,
    announce: bool,
    _dir: Option<tempfile::TempDir>,
}

impl Child {
    /// Its name in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL by PID, then reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM by PID (and does not wait).
    pub fn terminate(&self) {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
    }

    /// Where its stderr goes.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The whole log (lossy UTF-8).
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Size of the log in bytes.
    pub fn log_bytes(&self) -> u64 {
        std::fs::metadata(&self.log).map_or(0, |m| m.len())
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = self.log();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Waits until the admin server at `admin` says `LIVE`, failing early (with the log's
    /// tail) when the process exits, and after `limit`.
    pub fn wait_ready(&mut self, admin: SocketAddr, limit: Duration) -> anyhow::Result<()> {
        self.wait_ready_at(|| Some(admin), limit).map(|_| ())
    }

    /// [`Child::wait_ready`] for a process that writes its admin address to `file` once bound
    /// (Envoy's `--admin-address-path`); returns that address.
    pub fn wait_ready_file(&mut self, file: &Path, limit: Duration) -> anyhow::Result<SocketAddr> {
        self.wait_ready_at(|| std::fs::read_to_string(file).ok()?.trim().parse().ok(), limit)
    }

    fn wait_ready_at(
        &mut self,
        admin: impl Fn() -> Option<SocketAddr>,
        limit: Duration,
    ) -> anyhow::Result<SocketAddr> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(self.failure(&format!("exited during start ({status})")));
            }
            if let Some(addr) = admin()
                && http::is_live(addr)
            {
                return Ok(addr);
            }
            if Instant::now() > deadline {
                return Err(self.failure(&format!("not ready after {limit:?}")));
            }
            std::thread::sleep(POLL);
        }
    }

    /// An error saying `what` of this process, with its log's tail.
    pub fn failure(&self, what: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "{} (pid {}) {what}; log {}:\n{}",
            self.name,
            self.pid(),
            self.log.display(),
            self.log_tail(TAIL)
        )
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
        if self.announce {
            println!("stopped {} (pid {})", self.name, self.pid());
        }
    }
}
