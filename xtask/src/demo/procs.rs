//! Child processes of the demo, stopped by PID.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::Context;

/// Children killed (by PID) when dropped, last started first.
pub struct Procs(Vec<(String, Child)>);

impl Procs {
    pub fn new() -> Procs {
        Procs(Vec::new())
    }

    /// Starts `cmd` as `name`.
    pub fn spawn(&mut self, name: &str, cmd: &mut Command) -> anyhow::Result<()> {
        let child = cmd.spawn().with_context(|| format!("cannot start {name}"))?;
        println!("started {name} (pid {})", child.id());
        self.0.push((name.to_string(), child));
        Ok(())
    }

    /// Starts `cmd` as `name` and returns the first line it prints.
    pub fn spawn_reading(&mut self, name: &str, cmd: &mut Command) -> anyhow::Result<String> {
        let mut child = cmd.stdout(Stdio::piped()).spawn().with_context(|| format!("cannot start {name}"))?;
        let stdout = child.stdout.take().context("stdout")?;
        println!("started {name} (pid {})", child.id());
        self.0.push((name.to_string(), child));
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        Ok(line.trim().to_string())
    }

    /// Starts the demo upstream (`weir-echo`) and returns its address.
    pub fn start_echo(&mut self, binary: &Path) -> anyhow::Result<SocketAddr> {
        let line = self.spawn_reading("upstream", &mut Command::new(binary))?;
        line.strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .with_context(|| format!("unexpected upstream output {line:?}"))
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (name, child) in self.0.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
            println!("stopped {name} (pid {})", child.id());
        }
    }
}
