//! What the simulator asks weir-cp and its process: runtime pushes and resource files through
//! the admin API
//! (with the admin token), its `/metrics` gauges, `/status`, and its memory and CPU time from
//! `/proc`.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};
use weir_testkit::http::request;
use weir_testkit::procfs;

/// weir-cp's admin API and process.
#[derive(Debug, Clone)]
pub struct Cp {
    /// The admin address.
    pub admin: SocketAddr,
    token: String,
    /// The process, for `/proc` (none: not measured).
    pub pid: Option<u32>,
}

impl Cp {
    /// The admin API at `admin`, with the token in `token_file`.
    pub fn new(admin: SocketAddr, token_file: &Path, pid: Option<u32>) -> anyhow::Result<Cp> {
        let token =
            std::fs::read_to_string(token_file).with_context(|| format!("read {}", token_file.display()))?;
        Ok(Cp { admin, token: token.trim().to_string(), pid })
    }

    fn call(&self, method: &str, path: &str, body: &str) -> anyhow::Result<String> {
        let host = self.admin.to_string();
        let auth = format!("Bearer {}", self.token);
        let headers =
            [("host", host.as_str()), ("authorization", auth.as_str()), ("content-type", "application/json")];
        let response = request(self.admin, method, path, &headers, body)?;
        if response.status != 200 {
            bail!("{method} {path}: {} {}", response.status, response.body);
        }
        Ok(response.body)
    }

    /// Sets `layer`'s `fleet.push` to `marker`.
    pub fn push(&self, layer: &str, marker: u64) -> anyhow::Result<()> {
        self.call("PUT", &format!("/runtime/{layer}/fleet.push"), &marker.to_string()).map(|_| ())
    }

    /// Applies a resource file (`POST /apply`, JSON).
    pub fn apply(&self, resources: &serde_json::Value) -> anyhow::Result<()> {
        self.call("POST", "/apply", &resources.to_string()).map(|_| ())
    }

    /// Every page of `GET /status`, as `weir-cp status` reads them; returns the bytes read.
    pub fn status(&self) -> anyhow::Result<usize> {
        let (mut bytes, mut path) = (0, "/status".to_string());
        loop {
            let body = self.call("GET", &path, "")?;
            bytes += body.len();
            let page: serde_json::Value = serde_json::from_str(&body)?;
            match page["next"].as_str() {
                Some(next) => path = format!("/status?after={next}"),
                None => return Ok(bytes),
            }
        }
    }

    /// A gauge or counter from `/metrics`.
    pub fn metric(&self, name: &str) -> anyhow::Result<f64> {
        let text = self.call("GET", "/metrics", "")?;
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name).filter(|v| v.starts_with(' ')).and_then(|v| v.trim().parse().ok())
            })
            .with_context(|| format!("no `{name}` in /metrics"))
    }

    /// Resident memory in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        procfs::rss_kib(self.pid?)
    }

    /// CPU seconds used so far.
    pub fn cpu_seconds(&self) -> Option<f64> {
        procfs::cpu_seconds(self.pid?, procfs::clock_ticks()).ok()
    }
}
