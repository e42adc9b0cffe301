//! A real Redis (`redis-server`, Debian's package) for the suites: its own directory, a unix
//! socket there (no port to race for), no persistence, stopped by PID. It can be killed and
//! started again on the same socket, to test what clients do while it is gone.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::child::{Child, Spawn};

/// The command that installs Redis on Debian (`cargo xtask test` runs it when root).
pub const INSTALL: &str = "apt-get update && apt-get install -y redis-server";

/// How long Redis may take to answer `PING` after starting.
const READY: Duration = Duration::from_secs(20);

/// A running Redis; killed when dropped.
#[derive(Debug)]
pub struct Redis {
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Redis {
    /// Starts Redis and waits until it answers `PING`.
    pub fn start() -> anyhow::Result<Redis> {
        let dir = tempfile::Builder::new().prefix("redis-").tempdir()?;
        let mut redis = Redis { child: None, dir };
        redis.restart()?;
        Ok(redis)
    }

    /// The unix socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// The URL clients use (`unix:///…/redis.sock`).
    pub fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::pid)
    }

    /// Kills it (SIGKILL by PID): clients see their connections drop and new ones refused.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill();
        }
        let _ = std::fs::remove_file(self.socket());
    }

    /// Starts it (again) on the same socket, empty, and waits for `PING`.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        if std::process::Command::new("redis-server").arg("--version").output().is_err() {
            bail!("redis-server is missing; install it with: {INSTALL}");
        }
        let log = self.dir.path().join("redis.log");
        let socket = self.socket();
        let mut child = Spawn::new("redis-server", "redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--unixsocket")
            .arg(&socket)
            .args(["--unixsocketperm", "700", "--dir"])
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .log(self.dir.path().join("redis.stderr"))
            .start()?;
        let deadline = Instant::now() + READY;
        while !ping(&socket) {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            if !child.alive() {
                bail!("redis-server exited during start:\n{log}");
            }
            if Instant::now() > deadline {
                bail!("redis-server did not answer PING within {READY:?}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
        Ok(())
    }

    /// Runs one command (inline protocol) and returns Redis's raw answer.
    pub fn command(&self, command: &str) -> anyhow::Result<String> {
        let mut stream = UnixStream::connect(self.socket())?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(format!("{command}\r\n").as_bytes())?;
        let mut answer = vec![0; 64 << 10];
        let n = stream.read(&mut answer)?;
        Ok(String::from_utf8_lossy(&answer[..n]).into_owned())
    }
}

/// Whether Redis at `socket` answers `PING`.
fn ping(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}
