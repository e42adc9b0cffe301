//! Who may change the control plane's state through its admin API.

use std::path::PathBuf;

use weir_admin_guard::Token;

/// How the admin API tells who may change state (`docs/security.md`, "Admin APIs").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminSecurity {
    /// The bearer token changes over TCP must present (`--token-file`, `WEIR_CP_ADMIN_TOKEN`).
    /// Without it (and without a socket) the admin API is read-only.
    pub token: Option<Token>,
    /// A unix socket (mode 0600) on which the admin API also listens; requests through it may
    /// change state without a token.
    pub socket: Option<PathBuf>,
    /// `Host` values accepted besides `127.0.0.1`, `[::1]` and `localhost` with the admin port, and
    /// the bound IP (`name` for any port, `name:port` for one).
    pub allowed_hosts: Vec<String>,
    /// TLS on the admin port (`--admin-tls-cert`, `--admin-tls-key`, `--admin-tls-client-ca`):
    /// HTTP/1.1 over TLS, client certificates required when a CA is given. `None`: plaintext.
    pub tls: Option<weir_tls::DownstreamTls>,
}
