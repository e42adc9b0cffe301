//! The command line (clap derive). Every flag is documented here and in `docs/control-plane.md`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::FailurePolicy;

/// weir-cp: the Weir control plane (RTDS runtime values, ECDS filter configs and SDS secrets
/// over xDS) and
/// its command-line client.
#[derive(Debug, Parser)]
#[command(
    name = "weir-cp",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("WEIR_BUILD_INFO"), ")"),
    about,
    propagate_version = true
)]
pub struct Cli {
    /// Admin API of the weir-cp that client commands talk to: `http://HOST:PORT`, or
    /// `unix:PATH` for the admin socket of `serve --admin-socket`.
    #[arg(long, global = true, env = "WEIR_CP_ADMIN", default_value = "http://127.0.0.1:18001")]
    pub admin: String,
    /// File holding the admin token (mode 0600 or 0640). `serve` requires it on changes made
    /// over TCP; client commands send it. The token itself may come from the environment
    /// variable WEIR_CP_ADMIN_TOKEN instead (never from a flag: arguments are visible to
    /// every local user).
    #[arg(long, global = true, env = "WEIR_CP_ADMIN_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// For an `https://` admin URL: trust these CAs (PEM) instead of the system's roots.
    #[arg(long, global = true, env = "WEIR_CP_ADMIN_CA", value_name = "PEM")]
    pub admin_ca: Option<PathBuf>,
    /// For an `https://` admin URL: present this client certificate chain (PEM; mTLS); needs
    /// `--admin-client-key`.
    #[arg(
        long,
        global = true,
        env = "WEIR_CP_ADMIN_CLIENT_CERT",
        value_name = "PEM",
        requires = "admin_client_key"
    )]
    pub admin_client_cert: Option<PathBuf>,
    /// The private key of `--admin-client-cert` (PEM).
    #[arg(
        long,
        global = true,
        env = "WEIR_CP_ADMIN_CLIENT_KEY",
        value_name = "PEM",
        requires = "admin_client_cert"
    )]
    pub admin_client_key: Option<PathBuf>,
    /// Log line format on stderr: `text`, or `json` (one object per line: `timestamp`,
    /// `level`, `target`, `fields`), for log collectors.
    #[arg(long, global = true, value_enum, default_value = "text", env = "WEIR_CP_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the control plane: xDS (ADS: RTDS, ECDS, SDS, CDS, EDS) and the admin API.
    Serve(Box<ServeArgs>),
    /// Set runtime values: `weir-cp set a.b=5 c.d=true` (one change, one new version).
    Set {
        /// `KEY=VALUE` pairs. VALUE is parsed as JSON when it parses (numbers, booleans,
        /// "quoted strings", {"numerator": 5, "denominator": "HUNDRED"}), else taken as a string.
        #[arg(required = true, value_name = "KEY=VALUE")]
        pairs: Vec<String>,
        /// The runtime layer.
        #[arg(long, default_value = "rtds")]
        layer: String,
    },
    /// Remove a runtime value.
    Unset {
        /// The dotted key.
        key: String,
        /// The runtime layer.
        #[arg(long, default_value = "rtds")]
        layer: String,
    },
    /// Print a runtime value, or every value of a layer (JSON).
    Get {
        /// The dotted key (omitted: the whole layer, flattened).
        key: Option<String>,
        /// The runtime layer.
        #[arg(long, default_value = "rtds")]
        layer: String,
    },
    /// Replace a whole runtime layer from a YAML or JSON file; or, for a resource file (lists
    /// of Envoy `clusters` and/or `endpoints`), replace those resources (CDS/EDS).
    Apply {
        /// The file (a YAML/JSON object, nested or with dotted keys; or `{clusters: [...],
        /// endpoints: [...]}` in Envoy's shape).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        /// The runtime layer.
        #[arg(long, default_value = "rtds")]
        layer: String,
        /// Merge into the layer instead of replacing it.
        #[arg(long)]
        merge: bool,
        /// Serve the layer without validation (lists, nulls...). For testing that proxies NACK
        /// invalid layers only.
        #[arg(long)]
        unchecked: bool,
    },
    /// Show which node ACKed or NACKed which version.
    Status {
        /// Print the JSON of `GET /status` (every page merged, unless `--limit`).
        #[arg(long)]
        json: bool,
        /// Only this node id.
        #[arg(long)]
        node: Option<String>,
        /// Only the nodes of this node group.
        #[arg(long)]
        group: Option<String>,
        /// Only connected nodes that have not ACKed the latest response of some type.
        #[arg(long)]
        stale: bool,
        /// At most this many nodes (one page; default: every page).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// ECDS filter configurations.
    #[command(subcommand)]
    Ecds(EcdsCommand),
    /// SDS secrets: TLS certificates and CA bundles for proxies' listeners.
    #[command(subcommand)]
    Secret(super::secret::SecretCommand),
    /// Node groups (created by `apply -f` with a file's `group`).
    #[command(subcommand)]
    Group(super::resources::GroupCommand),
    /// Gateway API: apply manifests, show their status.
    #[command(subcommand)]
    Gateway(super::gateway::GatewayCommand),
}

/// `weir-cp serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where xDS (gRPC: ADS, RTDS, ECDS, SDS) listens. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:18000")]
    pub xds_address: SocketAddr,
    /// Where the admin HTTP API listens. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:18001")]
    pub admin_address: SocketAddr,
    /// State file (JSON), loaded at start and rewritten atomically after every change. Without
    /// it the state lives in memory only and is lost on restart.
    #[arg(long)]
    pub state_file: Option<PathBuf>,
    /// Runtime layers that always exist (created empty), so proxies subscribing to them get an
    /// answer before any value is set. Repeatable.
    #[arg(long = "layer", default_value = "rtds")]
    pub layers: Vec<String>,
    /// Also serve the admin API on this unix socket (created mode 0600; connections from other
    /// users than weir-cp's and root are refused). Requests through it may change state
    /// without a token.
    #[arg(long, value_name = "PATH")]
    pub admin_socket: Option<PathBuf>,
    /// Another `Host` value the admin API answers (besides `127.0.0.1`, `[::1]` and `localhost` with
    /// the admin port, and the bound IP): `NAME` for any port, `NAME:PORT` for one. Repeatable.
    #[arg(long = "admin-allowed-host", value_name = "HOST")]
    pub admin_allowed_hosts: Vec<String>,
    /// Most nodes `status` remembers. Past it, the node disconnected longest ago is forgotten;
    /// when all are connected, new nodes are served but not tracked (counted, logged).
    #[arg(long, default_value_t = crate::status::DEFAULT_MAX_NODES)]
    pub max_nodes: usize,
    /// How long `status` remembers a disconnected node (e.g. `10m`, `30s`): ephemeral node ids
    /// do not pile up.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub node_retention: std::time::Duration,
    /// A directory of Gateway API manifests (`.yaml`, `.yml`, `.json`): applied at start and
    /// whenever one of its files changes, as `weir-cp gateway apply -f DIR` (docs/gateway-api.md).
    #[arg(long, value_name = "DIR")]
    pub gateway_dir: Option<PathBuf>,
    /// How often `--gateway-dir` is looked at for changes.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration, requires = "gateway_dir")]
    pub gateway_poll: std::time::Duration,
    /// Serve xDS over TLS with this certificate chain (PEM); needs `--xds-tls-key`. The files
    /// are re-read when they change (checked every second).
    #[arg(long, value_name = "PEM", requires = "xds_tls_key")]
    pub xds_tls_cert: Option<PathBuf>,
    /// The private key of `--xds-tls-cert` (PEM).
    #[arg(long, value_name = "PEM", requires = "xds_tls_cert")]
    pub xds_tls_key: Option<PathBuf>,
    /// Require client certificates chaining to these CAs (PEM) on the xDS port (mTLS).
    #[arg(long, value_name = "PEM", requires = "xds_tls_cert")]
    pub xds_tls_client_ca: Option<PathBuf>,
    /// Take node ids from client certificates: a node may only use an id that is a URI or DNS
    /// subject alternative name of its certificate (others are refused with PERMISSION_DENIED).
    #[arg(long, requires = "xds_tls_client_ca")]
    pub xds_tls_node_identity: bool,
    /// Serve the admin API over TLS (HTTPS) with this certificate chain (PEM); needs
    /// `--admin-tls-key`. The files are re-read when they change (checked every second).
    #[arg(long, value_name = "PEM", requires = "admin_tls_key")]
    pub admin_tls_cert: Option<PathBuf>,
    /// The private key of `--admin-tls-cert` (PEM).
    #[arg(long, value_name = "PEM", requires = "admin_tls_cert")]
    pub admin_tls_key: Option<PathBuf>,
    /// Require client certificates chaining to these CAs (PEM) on the admin port (mTLS).
    #[arg(long, value_name = "PEM", requires = "admin_tls_cert")]
    pub admin_tls_client_ca: Option<PathBuf>,
}

/// TLS with one certificate, client certificates required when `client_ca` is given.
fn downstream_tls(
    cert: &Option<PathBuf>,
    key: &Option<PathBuf>,
    client_ca: &Option<PathBuf>,
) -> Option<weir_tls::DownstreamTls> {
    let files = weir_tls::CertificateFiles { certificate_chain: cert.clone()?, private_key: key.clone()? };
    let mut tls = weir_tls::DownstreamTls::new(vec![files]);
    tls.client_certificates = client_ca.clone().map(weir_tls::ClientCertificates::new);
    Some(tls)
}

impl ServeArgs {
    /// The admin port's TLS, when `--admin-tls-cert` is given.
    pub fn admin_tls(&self) -> Option<weir_tls::DownstreamTls> {
        downstream_tls(&self.admin_tls_cert, &self.admin_tls_key, &self.admin_tls_client_ca)
    }

    /// The xDS port's TLS, when `--xds-tls-cert` is given.
    pub fn xds_tls(&self) -> Option<crate::XdsTls> {
        let mut tls = downstream_tls(&self.xds_tls_cert, &self.xds_tls_key, &self.xds_tls_client_ca)?;
        // gRPC is HTTP/2 only.
        tls.alpn_protocols = vec!["h2".to_string()];
        let node_identity = match self.xds_tls_node_identity {
            true => crate::NodeIdentity::FromCertificate,
            false => crate::NodeIdentity::Claimed,
        };
        Some(crate::XdsTls { tls, node_identity })
    }
}

impl Cli {
    /// The TLS an `https://` admin URL is reached with: `--admin-ca` (else the system's roots),
    /// the client certificate if given.
    pub fn admin_tls(&self) -> weir_tls::UpstreamTls {
        let client_certificate = match (&self.admin_client_cert, &self.admin_client_key) {
            (Some(cert), Some(key)) => {
                Some(weir_tls::CertificateFiles { certificate_chain: cert.clone(), private_key: key.clone() })
            }
            _ => None,
        };
        weir_tls::UpstreamTls {
            trusted_ca: self.admin_ca.clone(),
            client_certificate,
            alpn_protocols: Some(vec!["http/1.1".into()]),
            ..weir_tls::UpstreamTls::default()
        }
    }
}

/// `weir-cp ecds ...`.
#[derive(Debug, Subcommand)]
pub enum EcdsCommand {
    /// Create or replace an ECDS resource (a Wasm HTTP filter configuration).
    Set {
        /// The resource name (the `config_discovery` name in the proxy's filter chain).
        name: String,
        /// Path of the `.wasm` module as the proxy sees it (or `--remote`).
        #[arg(long, required_unless_present = "remote", conflicts_with = "remote")]
        wasm: Option<String>,
        /// Or the URL the proxy fetches the module from (`vm_config.code.remote`); needs
        /// `--sha256` and `--module-cluster`.
        #[arg(long, requires_all = ["sha256", "module_cluster"])]
        remote: Option<String>,
        /// The module's SHA-256 (64 hex digits), with `--remote`.
        #[arg(long, requires = "remote")]
        sha256: Option<String>,
        /// The cluster Envoy fetches `--remote` through (`http_uri.cluster`; weir connects to
        /// the URL's host itself).
        #[arg(long, requires = "remote")]
        module_cluster: Option<String>,
        /// One fetch attempt's limit, with `--remote`.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        fetch_timeout: std::time::Duration,
        /// Attempts after a failed one, with `--remote`.
        #[arg(long, default_value_t = 1)]
        fetch_retries: u32,
        /// `vm_config.vm_id`.
        #[arg(long)]
        vm_id: String,
        /// The plugin's `root_id`.
        #[arg(long, default_value = "")]
        root_id: String,
        /// The plugin configuration: JSON text, or `@FILE` to read it from a file.
        #[arg(long)]
        config: Option<String>,
        /// What the proxy does when the plugin fails.
        #[arg(long, value_parser = clap::builder::ValueParser::new(str::parse::<FailurePolicy>))]
        failure_policy: Option<FailurePolicy>,
    },
    /// Print one ECDS resource, or all (JSON). Configurations are shown redacted (size and
    /// SHA-256) unless --show-secrets.
    Get {
        /// The resource name (omitted: all).
        name: Option<String>,
        /// Show configurations in clear (needs the admin token or the admin socket).
        #[arg(long)]
        show_secrets: bool,
    },
    /// Remove an ECDS resource.
    Delete {
        /// The resource name.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["weir-cp", "set", "a=1", "b=2", "--layer", "l"]).unwrap();
        assert!(
            matches!(cli.command, Command::Set { ref pairs, ref layer } if pairs.len() == 2 && layer == "l")
        );
        let cli = Cli::try_parse_from(["weir-cp", "serve", "--layer", "a", "--layer", "b"]).unwrap();
        let Command::Serve(args) = cli.command else { panic!() };
        assert_eq!(args.layers, ["a", "b"]);
        assert_eq!(args.max_nodes, crate::status::DEFAULT_MAX_NODES);
        let cli =
            Cli::try_parse_from(["weir-cp", "--token-file", "/t", "ecds", "get", "--show-secrets"]).unwrap();
        assert_eq!(cli.token_file.as_deref(), Some(std::path::Path::new("/t")));
        assert_eq!("fail-open".parse(), Ok(FailurePolicy::FailOpen));
    }

    #[test]
    fn xds_tls_flags_go_together() {
        let parse = |extra: &[&str]| Cli::try_parse_from([&["weir-cp", "serve"], extra].concat());
        assert!(parse(&["--xds-tls-cert", "c.pem"]).is_err(), "a certificate needs its key");
        assert!(parse(&["--xds-tls-cert", "c", "--xds-tls-key", "k", "--xds-tls-node-identity"]).is_err());
        let cli = parse(&[
            "--xds-tls-cert",
            "c",
            "--xds-tls-key",
            "k",
            "--xds-tls-client-ca",
            "ca",
            "--xds-tls-node-identity",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else { panic!() };
        let tls = args.xds_tls().unwrap();
        assert_eq!(tls.node_identity, crate::NodeIdentity::FromCertificate);
        assert_eq!(tls.tls.alpn_protocols, ["h2"]);
        assert!(tls.tls.client_certificates.unwrap().require);
    }
}
