//! `weir-cp serve`: runs the control plane until ctrl-c or SIGTERM.

use std::io::Write;

use sd_notify::NotifyState;
use tracing::info;

use super::args::ServeArgs;
use super::error::CliError;
use weir_admin_guard::Token;

use crate::{AdminSecurity, ControlPlane, ServerConfig};

/// Starts (`token`: what changes over TCP must present), prints `{"xds":"ADDR","admin":"ADDR"}` as one line on stdout (so scripts learn the real
/// ports when 0 was asked), then serves until stopped.
pub async fn run(args: ServeArgs, token: Option<Token>) -> Result<(), CliError> {
    if args.state_file.is_none() {
        tracing::warn!("no --state-file: state lives in memory only and is lost on restart");
    }
    let (xds_tls, admin_tls) = (args.xds_tls(), args.admin_tls());
    let config = ServerConfig {
        xds_address: args.xds_address,
        admin_address: Some(args.admin_address),
        state_file: args.state_file,
        layers: args.layers,
        admin: AdminSecurity {
            token,
            socket: args.admin_socket,
            allowed_hosts: args.admin_allowed_hosts,
            tls: admin_tls,
        },
        max_nodes: args.max_nodes,
        node_retention: args.node_retention,
        xds_tls,
        gateway_dir: args.gateway_dir.map(|dir| crate::GatewayWatch { dir, interval: args.gateway_poll }),
    };
    let cp = ControlPlane::start(config).await?;
    let admin = cp.admin_addr().map(|a| a.to_string()).unwrap_or_default();
    let line = format!(r#"{{"xds":"{}","admin":"{admin}"}}"#, cp.xds_addr());
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    drop(stdout);
    // Handlers first: a SIGTERM right after READY=1 must stop weir-cp cleanly, not kill it.
    let stop = StopSignals::install()?;
    notify(&[NotifyState::Ready, NotifyState::Status(&format!("serving xDS on {}", cp.xds_addr()))]);
    let signal = stop.wait().await;
    info!(signal, "stopping");
    notify(&[NotifyState::Stopping]);
    cp.shutdown().await;
    Ok(())
}

/// Tells systemd (`Type=notify`, `$NOTIFY_SOCKET`) where the service is; nothing when not run
/// by systemd.
fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot notify systemd: {e}");
    }
}

/// SIGINT (ctrl-c) and SIGTERM, caught from when they are installed.
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> Result<StopSignals, CliError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    /// Waits for one; returns which.
    async fn wait(mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "ctrl-c"
        }
    }
}
