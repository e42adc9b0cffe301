//! A copyable view of a running proxy, for scenarios that hold the [`super::process::Proxy`]
//! borrowed while they watch it: its admin API and its `/proc` entries.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::bail;

use super::process::Kind;
use super::request;

/// A copyable view of a running proxy: its admin API and its `/proc` entries.
#[derive(Debug, Clone, Copy)]
pub struct Handle {
    /// Which proxy.
    pub kind: Kind,
    /// Its admin address.
    pub admin: SocketAddr,
    /// Its process id.
    pub pid: u32,
}

impl Handle {
    /// `GET` on the admin port (2 s limit); the body as text.
    pub async fn admin_get(&self, path: &str) -> anyhow::Result<String> {
        let host = self.admin.to_string();
        let reply = request::get(self.admin, path, &[("host", &host)], Duration::from_secs(2)).await?;
        if reply.status != 200 {
            bail!("admin {path}: {} {}", reply.status, reply.body);
        }
        Ok(reply.body)
    }

    /// Open file descriptors (`/proc/<pid>/fd` entries).
    pub fn open_fds(&self) -> Option<usize> {
        weir_testkit::procfs::open_fds(self.pid)
    }
}
