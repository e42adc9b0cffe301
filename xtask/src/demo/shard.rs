//! Part 2 of the demo: runtime values pushed from the control plane. weir-cp, Envoy (with the
//! rtds-bridge service) and weir run the shuffle-shard filter from the checked-in
//! `envoy-configs/shuffle-shard.yaml` and `examples/shuffle-shard/weir.yaml`; one
//! `weir-cp set` gives customer-A a bigger shard and both proxies change their answer.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use weir_testkit::bins::{self, Bin, Profile};
use weir_testkit::cp::WeirCp;
use weir_testkit::shard_pair::ShardPair;
use weir_testkit::{http, launch, paths};

/// Runs part 2.
pub fn run(envoy_bin: &Path, dir: &Path) -> anyhow::Result<()> {
    println!("\n==> part 2: runtime values from weir-cp reach the same filter in Envoy and in weir");
    let state = dir.join("weir-cp.json");
    let _ = std::fs::remove_file(&state);
    let (_echo, echo) =
        launch::start_echo(launch::echo(&bins::existing(Bin::Echo, Profile::Debug), None).announce())?;
    // Changes through weir-cp's admin API need a token: serve and the CLI read the same file.
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let cp = WeirCp::start(&bins::existing(Bin::Cp, Profile::Debug), &state, any, any, &["--layer", "rtds"])?;
    println!("started weir-cp (pid {})", cp.pid());
    let wasm = paths::filter("shuffle-shard")?.display().to_string();
    let config = r#"{"total_hosts": 8, "shard_size": 2}"#;
    println!("$ weir-cp ecds set shuffle-shard --vm-id shard --config '{config}'");
    cp.ok(&["ecds", "set", "shuffle-shard", "--wasm", &wasm, "--vm-id", "shard", "--config", config])?;

    let pair = ShardPair {
        xds: cp.xds,
        upstream: echo,
        envoy_listener: http::free_port()?,
        envoy_admin: http::free_port()?,
        weir_listener: http::free_port()?,
        weir_admin: http::free_port()?,
    };
    std::fs::write(dir.join("shard-envoy.yaml"), pair.envoy_yaml()?)?;
    std::fs::write(dir.join("shard-weir.yaml"), pair.weir_yaml()?)?;
    let mut envoy = launch::envoy(envoy_bin, &dir.join("shard-envoy.yaml"), 2, None)
        .args(["-l", "error"])
        .announce()
        .start()?;
    let weir_bin = bins::existing(Bin::Weir, Profile::Debug);
    let mut weir = launch::weir(&weir_bin, &dir.join("shard-weir.yaml"), 2, None)
        .args(["--log-level", "warn"])
        .announce()
        .start()?;
    let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
    envoy.wait_ready(local(pair.envoy_admin), Duration::from_secs(60)).context("envoy")?;
    weir.wait_ready(local(pair.weir_admin), Duration::from_secs(60)).context("weir")?;
    let proxies = [("envoy", local(pair.envoy_listener)), ("weir", local(pair.weir_listener))];

    println!("\n-- customer-A before (shard size from the filter's ECDS config: 2)");
    show(&proxies)?;
    let key = "shuffle_sharding.customer.customer-A.shard_size=5";
    println!("\n$ weir-cp set {key}");
    let pushed = Instant::now();
    println!("   {}", cp.ok(&["set", key])?.trim());
    for (name, addr) in proxies {
        let took = wait_for(addr, 5, pushed)?;
        println!("   {name} answers with 5 hosts {took:?} after the push");
    }
    println!("\n-- customer-A after");
    show(&proxies)?;
    println!("\n$ weir-cp status");
    for line in cp.ok(&["status"])?.trim().lines() {
        println!("   {line}");
    }
    println!("\n==> one push, both proxies changed; stopping everything");
    Ok(())
}

fn answer(addr: SocketAddr) -> anyhow::Result<http::Response> {
    http::request(addr, "GET", "/orders", &[("x-customer-id", "customer-A")], "")
}

fn show(proxies: &[(&str, SocketAddr)]) -> anyhow::Result<()> {
    for (name, addr) in proxies {
        let r = answer(*addr)?;
        let hosts = r.header("x-shard-hosts").unwrap_or("-");
        let config = r.header("x-shard-config").unwrap_or("-");
        println!("   {name:<5}: {} x-shard-hosts: {hosts:<12} x-shard-config: {config}", r.status);
    }
    Ok(())
}

/// Polls until `addr` answers customer-A with `size` hosts (10 s at most).
fn wait_for(addr: SocketAddr, size: usize, since: Instant) -> anyhow::Result<Duration> {
    while since.elapsed() < Duration::from_secs(10) {
        let r = answer(addr)?;
        if r.header("x-shard-hosts").is_some_and(|h| h.split(',').count() == size) {
            return Ok(since.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    bail!("{addr} did not change its answer within 10 s")
}
