//! The upstream Gateway API GATEWAY-HTTP conformance tests, ported without a cluster: each
//! case of `tests/gateway-api/cases/` (named after the upstream test it follows) is applied to
//! a real weir-cp with `weir-cp gateway apply`, which serves Gateway
//! `gateway-conformance-infra/same-namespace` to a real Envoy and to weir (node cluster
//! `gateway-conformance-infra/same-namespace`) over xDS; once each has ACKed, the case's
//! requests must get the expected backend, status and headers from both, and weir-cp must
//! report the case's status conditions. Prints the table of results.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use weir_tests::e2e::cp::WeirCp;
use weir_tests::e2e::poll;
use weir_tests::envoy::Envoy;
use weir_tests::gateway_api::backends::{self, Backends};
use weir_tests::gateway_api::case;
use weir_tests::gateway_api::run::{self, Admin, SERVED};
use weir_tests::weir::Weir;

#[tokio::test(flavor = "multi_thread")]
async fn ported_gateway_http_cases_pass_in_envoy_and_weir() -> anyhow::Result<()> {
    weir_tests::envoy_required()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("gateway-api");
    let cases = case::load(&root.join("cases"))?;
    anyhow::ensure!(!cases.is_empty(), "no cases in {}", root.display());
    let dir = tempfile::tempdir()?;
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let cp = WeirCp::start(&dir.path().join("state.json"), any, any)?;
    let backends = Backends::start()?;
    let mut results: BTreeMap<&str, Vec<Vec<String>>> = BTreeMap::new();
    for name in ["Envoy", "weir"] {
        let port = run::free_port()?;
        let node = if name == "Envoy" { "envoy-gw" } else { "weir-gw" };
        // The first case's manifests before the proxy starts: it finds its listener at once.
        let manifests = |c: &case::Case| -> anyhow::Result<String> {
            let base = backends.manifests(&root, port, c.own_gateway)?;
            let own = backends::with_filters(&c.manifests.replace("${PORT}", &port.to_string()))?;
            Ok(format!("{base}\n---\n{own}"))
        };
        run::apply(&cp, dir.path(), &manifests(&cases[0].1)?)?;
        // Running until the end of this proxy's pass.
        let (_running, admin): ((Option<Envoy>, Option<Weir>), Admin) = match name {
            "Envoy" => {
                let envoy = Envoy::start(&run::envoy_bootstrap("envoy-gw", SERVED, cp.xds)).await?;
                let admin = Admin::Envoy(envoy.admin());
                ((Some(envoy), None), admin)
            }
            _ => {
                let weir = Weir::start_async(run::weir_config("weir-gw", SERVED, cp.xds), 1).await?;
                let admin = Admin::Weir(weir.admin()?);
                ((None, Some(weir)), admin)
            }
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        for (i, (file, c)) in cases.iter().enumerate() {
            let mut failures = Vec::new();
            let applied = match i {
                0 => Ok(String::new()),
                _ => manifests(c).and_then(|m| run::apply(&cp, dir.path(), &m)),
            };
            let served = match applied {
                Ok(_) => match run::wait_served(&cp, node, run::GROUP).await {
                    Ok(clusters) => run::wait_endpoints(admin, &clusters).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            let listening =
                poll("the Gateway's listener", Duration::from_secs(20), Duration::from_millis(5), || async {
                    Ok(tokio::net::TcpStream::connect(addr).await.ok().map(|_| ()))
                });
            match served {
                Ok(()) => match listening.await {
                    Ok(()) => {
                        failures.extend(run::check_requests(addr, c).await);
                        failures.extend(run::check_status(&cp, c).await?);
                    }
                    Err(e) => failures.push(format!("{e:#}")),
                },
                Err(e) => failures.push(format!("{e:#}")),
            }
            results.entry(file.as_str()).or_default().push(failures);
        }
    }
    println!("\n| case | upstream test | Envoy | weir |\n|---|---|---|---|");
    let mut failed = Vec::new();
    for (file, c) in &cases {
        let outcome = &results[file.as_str()];
        let mark =
            |f: &Vec<String>| if f.is_empty() { "pass".to_string() } else { format!("FAIL ({})", f.len()) };
        println!("| {file} | {} | {} | {} |", c.upstream, mark(&outcome[0]), mark(&outcome[1]));
        for (proxy, failures) in ["Envoy", "weir"].iter().zip(outcome) {
            for f in failures {
                failed.push(format!("{file} on {proxy}: {f}"));
            }
        }
    }
    anyhow::ensure!(failed.is_empty(), "{} failures:\n{}", failed.len(), failed.join("\n"));
    Ok(())
}
