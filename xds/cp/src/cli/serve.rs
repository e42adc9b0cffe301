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
    notify(&[NotifyState::Ready, NotifyState::Status(&format!("serving xDS on {}", cp.xds_addr()))]);
    let signal = stop_signal().await?;
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

/// Waits for ctrl-c or SIGTERM; returns which.
async fn stop_signal() -> Result<&'static str, CliError> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.map(|()| "SIGINT").map_err(CliError::from),
            _ = term.recv() => Ok("SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok("ctrl-c")
    }
}
