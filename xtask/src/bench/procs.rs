//! Child processes of a benchmark: started (optionally pinned with `taskset`), stopped by PID,
//! and their CPU time read from `/proc/<pid>/stat`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Children, killed by PID (never by name) when stopped or dropped.
#[derive(Default)]
pub struct Procs(Vec<(String, Child)>, Vec<(String, String)>);

impl Procs {
    /// Starts `program args` pinned to `cpus` (a `taskset -c` list) when given; stderr goes to
    /// `log`. Returns the PID (`taskset` execs the program, so it is the program's PID).
    pub fn spawn(
        &mut self,
        name: &str,
        cpus: Option<&str>,
        program: &Path,
        args: &[String],
        log: &Path,
    ) -> anyhow::Result<u32> {
        let mut cmd = pinned(cpus, program);
        cmd.args(args).envs(self.1.iter().map(|(k, v)| (k, v))).stdin(Stdio::null()).stdout(Stdio::null());
        cmd.stderr(std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?);
        let child = cmd.spawn().with_context(|| format!("cannot start {name} ({})", program.display()))?;
        let pid = child.id();
        self.0.push((name.to_string(), child));
        Ok(pid)
    }

    /// Sets an environment variable for the processes started from now on.
    pub fn env(&mut self, name: &str, value: &str) {
        self.1.push((name.to_string(), value.to_string()));
    }

    /// Starts the echo upstream and reads the address it prints first.
    pub fn spawn_upstream(
        &mut self,
        cpus: Option<&str>,
        program: &Path,
    ) -> anyhow::Result<(u32, SocketAddr)> {
        let mut child = pinned(cpus, program)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let stdout = child.stdout.take().context("upstream stdout")?;
        let pid = child.id();
        self.0.push(("upstream".into(), child));
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .with_context(|| format!("unexpected upstream output {line:?}"))?;
        Ok((pid, addr))
    }

    /// Stops the child with this PID (SIGKILL) and reaps it.
    pub fn stop(&mut self, pid: u32) {
        if let Some(at) = self.0.iter().position(|(_, c)| c.id() == pid) {
            let (_, mut child) = self.0.remove(at);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the child with this PID is still running.
    pub fn alive(&mut self, pid: u32) -> bool {
        self.0.iter_mut().find(|(_, c)| c.id() == pid).is_some_and(|(_, c)| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, child) in self.0.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `taskset -c cpus program`, or `program` alone.
pub fn pinned(cpus: Option<&str>, program: &Path) -> Command {
    match cpus {
        Some(list) => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(list).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux in practice).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// CPU seconds (user + system, all threads) the process has used so far.
pub fn cpu_seconds(pid: u32, ticks: f64) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("process {pid} gone"))?;
    // Fields after the command name (which may hold spaces) start at field 3 (`state`);
    // utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("malformed /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11).and_then(|v| v.parse().ok()).context("utime")?;
    let stime: f64 = fields.get(12).and_then(|v| v.parse().ok()).context("stime")?;
    Ok((utime + stime) / ticks)
}

/// Resident set size of a process in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Polls `GET /ready` on an admin address until it answers `LIVE`, failing early when the
/// process died.
pub fn wait_ready(
    procs: &mut Procs,
    pid: u32,
    admin: SocketAddr,
    timeout: Duration,
    log: &Path,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(r) = crate::util::http(admin, "GET", "/ready", &[("host", &admin.to_string())], "")
            && r.status == 200
            && r.body.contains("LIVE")
        {
            return Ok(());
        }
        if !procs.alive(pid) {
            bail!("process {pid} exited before it was ready; its log:\n{}", tail(log));
        }
        if Instant::now() > deadline {
            bail!("{admin}/ready not LIVE after {timeout:?}; log:\n{}", tail(log));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The last lines of a log file.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
