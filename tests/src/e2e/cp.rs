//! `weir-cp` for the end-to-end tests: `weir-testkit`'s child process (the real binary, on
//! given or ephemeral ports with a state file, stopped by PID, its CLI) with the polls the
//! tests wait on; plus Envoy's view of runtime values.

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use weir_testkit::bins::{self, Bin, Profile};

use crate::client;

/// A running `weir-cp serve` (killed on drop), as the tests poll it.
pub struct WeirCp(weir_testkit::cp::WeirCp);

impl Deref for WeirCp {
    type Target = weir_testkit::cp::WeirCp;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for WeirCp {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl WeirCp {
    /// Starts `weir-cp serve` (`$WEIR_CP_BIN`, else built once) with `state_file` on the given
    /// addresses (port 0: ephemeral), an admin token file and its log beside the state file.
    pub fn start(state_file: &Path, xds: SocketAddr, admin: SocketAddr) -> anyhow::Result<WeirCp> {
        let binary = bins::path(Bin::Cp, Profile::Debug)?;
        Ok(WeirCp(weir_testkit::cp::WeirCp::start(&binary, state_file, xds, admin, &[])?))
    }

    /// `GET /status` as JSON.
    pub async fn status(&self) -> anyhow::Result<Value> {
        let reply = client::send(self.admin, client::admin_get(self.admin, "/status")).await?;
        Ok(serde_json::from_slice(&reply.body)?)
    }

    /// `weir-cp apply -f` of `text` (a runtime layer, or a resource file of listeners, routes,
    /// clusters and endpoints), written to `dir/fleet.yaml`; returns what the command printed.
    pub fn apply(&self, dir: &Path, text: &str) -> anyhow::Result<String> {
        let file = dir.join("fleet.yaml");
        std::fs::write(&file, text)?;
        self.ok(&["apply", "-f", file.to_str().context("a UTF-8 path")?])
    }

    /// Waits until node `node` NACKed `version` of `kind` (`cds`, `lds`, ...); returns the
    /// NACK's reason.
    pub async fn wait_nack(&self, node: &str, kind: &str, version: &str) -> anyhow::Result<String> {
        let what = format!("{node} NACKing {kind} version {version}");
        let nack = crate::e2e::poll(&what, Duration::from_secs(20), Duration::from_millis(5), || async {
            let status = self.status().await?;
            let nack = crate::e2e::node(&status, node).map(|n| n["types"][kind]["nack"].clone());
            Ok(nack.filter(|n| n["version"] == version))
        })
        .await?;
        Ok(nack["reason"].as_str().unwrap_or_default().to_string())
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
