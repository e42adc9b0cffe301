//! Running a case: its upstreams, Envoy and weir on the case's configs, every request sent
//! to each, the expectations and the stats checked, the two hosts' answers compared.

use std::time::Duration;

use anyhow::Context;

use super::case::{Case, ClusterTarget, StatValue};
use super::config::{Targets, envoy_config, weir_config};
use super::exchange::{self, Answers};
use super::grpc::GrpcServer;
use super::tls_pki::CaseTls;
use super::tls_upstream::TlsUpstreams;
use super::xds_mode;
use crate::client;
use crate::e2e::cp::WeirCp;
use crate::echo::EchoServer;
use crate::envoy::Envoy;
use crate::weir::Weir;

/// How the hosts get a case's config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Envoy from its bootstrap, weir from `weir.yaml`.
    Static,
    /// Both from one bootstrap taking listeners and clusters from weir-cp over ADS (delta or
    /// state of the world).
    Xds {
        /// Delta xDS.
        delta: bool,
    },
}

/// How long a listener from LDS may take to appear.
const XDS_WAIT: Duration = Duration::from_secs(20);

/// Runs a case against both hosts; returns every failure found (empty: pass).
pub async fn run(case: &Case, mode: Mode) -> anyhow::Result<Vec<String>> {
    let echo = EchoServer::start()?;
    let grpc = match case.clusters.iter().any(|c| c.target == ClusterTarget::Grpc) {
        true => Some(GrpcServer::start()?),
        false => None,
    };
    let mut tagged: Vec<(String, EchoServer)> = Vec::new();
    for c in case.clusters.iter().filter(|c| c.target == ClusterTarget::Tagged) {
        let tags: Vec<String> = match c.endpoints {
            None => vec![c.name.clone()],
            Some(n) => (0..n).map(|i| format!("{}-{i}", c.name)).collect(),
        };
        for tag in tags {
            tagged.push((c.name.clone(), EchoServer::start_tagged(Some(tag))?));
        }
    }
    // A port bound but never listening, held for the whole case: connections to it are
    // refused, and no other process can take it meanwhile (a port bound and released could be).
    let dead = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    dead.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    let pki = case.tls.as_ref().map(CaseTls::generate).transpose().context("the case's certificates")?;
    let tls_upstreams = TlsUpstreams::start(case, echo.addr()).await.context("the case's TLS upstreams")?;
    let targets = Targets {
        echo: echo.addr(),
        dead: dead.local_addr()?.as_socket().context("the reserved port's address")?,
        grpc: grpc.as_ref().map(|g| g.addr()),
        tagged: tagged.iter().map(|(n, e)| (n.clone(), e.addr())).collect(),
        listener_tls: pki.as_ref().map(|p| p.listener().clone()),
        tls_upstreams: tls_upstreams.endpoints(),
    };
    let state = tempfile::tempdir()?;
    let mut _cp = None;
    let (envoy, weir) = match mode {
        Mode::Static => {
            let envoy = Envoy::start(&envoy_config(case, &targets)?).await?;
            (envoy, Weir::start_async(weir_config(case, &targets)?, 1).await?)
        }
        Mode::Xds { delta } => {
            let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let cp = WeirCp::start(&state.path().join("weir-cp.json"), any, any)?;
            let (resources, bootstrap) = xds_mode::split(&envoy_config(case, &targets)?, cp.xds, delta)?;
            cp.apply(state.path(), &resources)?;
            _cp = Some(cp);
            let envoy = Envoy::start(&bootstrap).await?;
            (envoy, Weir::start_async(bootstrap, 1).await.context("weir from the xDS bootstrap")?)
        }
    };
    let envoy_addr =
        crate::e2e::poll("Envoy's listener main", XDS_WAIT, Duration::from_millis(5), || async {
            Ok(envoy.listener("main").await.ok())
        })
        .await?;
    let weir_addr = weir.listener("main")?;

    let mut failures = Vec::new();
    let pki = pki.as_ref();
    let envoy_answers = send_all(case, envoy_addr, pki, "envoy", &mut failures)
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}\n--- envoy log tail ---\n{}", envoy.log_tail()))?;
    let weir_answers = send_all(case, weir_addr, pki, "weir", &mut failures).await?;
    if !case.no_compare {
        for (request, (e, w)) in case.requests.iter().zip(envoy_answers.iter().zip(&weir_answers)) {
            let diffs = exchange::compare(e, w, pki);
            failures.extend(diffs.into_iter().map(|d| format!("[{}] envoy vs weir: {d}", request.name)));
        }
    }
    for (name, value) in &case.stats {
        let envoy_stats = envoy.stats().await?;
        check_stat(&envoy_stats, name, value, "envoy", &mut failures);
        let weir_stats =
            client::send(weir.admin()?, client::admin_get(weir.admin()?, "/stats")).await?.text();
        check_stat(&weir_stats, name, value, "weir", &mut failures);
    }
    if !failures.is_empty() {
        failures.push(format!("--- envoy log tail ---\n{}", envoy.log_tail()));
    }
    Ok(failures)
}

fn check_stat(stats: &str, name: &str, want: &StatValue, host: &str, failures: &mut Vec<String>) {
    let line = stats.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")));
    let found = line.map(|v| match want {
        StatValue::Number(_) => {
            v.trim().parse::<u64>().map_or_else(|_| StatValue::Text(v.into()), StatValue::Number)
        }
        StatValue::Text(_) => StatValue::Text(v.into()),
    });
    if found.as_ref() != Some(want) {
        let found = found.map_or_else(|| "no such line".to_string(), |f| f.to_string());
        failures.push(format!("[{host}] stat {name}: want {want}, found {found}"));
    }
}

async fn send_all(
    case: &Case,
    addr: std::net::SocketAddr,
    pki: Option<&CaseTls>,
    host: &str,
    failures: &mut Vec<String>,
) -> anyhow::Result<Answers> {
    let mut answers = Vec::new();
    for request in &case.requests {
        let mut attempt = 0;
        loop {
            let answer = exchange::send(request, addr, pki)
                .await
                .with_context(|| format!("[{host}] {}", request.name))?;
            let problems = exchange::check(request, &answer, pki);
            if problems.is_empty() || attempt >= request.retry {
                failures.extend(problems.into_iter().map(|p| format!("[{host}] {}: {p}", request.name)));
                answers.push(answer);
                break;
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(answers)
}
