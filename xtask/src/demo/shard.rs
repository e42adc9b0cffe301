//! Part 2 of the demo: runtime values pushed from the control plane. weir-cp, Envoy (with the
//! rtds-bridge service) and weir run the shuffle-shard filter from the checked-in
//! `envoy-configs/shuffle-shard.yaml` and `examples/shuffle-shard/weir.yaml`; one
//! `weir-cp set` gives customer-A a bigger shard and both proxies change their answer.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::procs::Procs;
use crate::util;

/// Runs part 2.
pub fn run(envoy_bin: &Path, dir: &Path) -> anyhow::Result<()> {
    println!("\n==> part 2: runtime values from weir-cp reach the same filter in Envoy and in weir");
    let bin = util::target().join("debug");
    let filters = util::target().join("filters");
    let state = dir.join("weir-cp.json");
    let _ = std::fs::remove_file(&state);
    // Changes through weir-cp's admin API need a token: serve and the CLI read the same file.
    let token = admin_token(dir)?;
    let mut procs = Procs::new();
    let echo = procs.start_echo(&bin.join("weir-echo"))?;
    let line = procs.spawn_reading(
        "weir-cp",
        Command::new(bin.join("weir-cp"))
            .args(["serve", "--xds-address", "127.0.0.1:0", "--admin-address", "127.0.0.1:0", "--state-file"])
            .arg(&state)
            .args(["--layer", "rtds"])
            .arg("--token-file")
            .arg(&token)
            .env_remove("WEIR_CP_ADMIN_TOKEN")
            .stderr(Stdio::null()),
    )?;
    let ports: serde_json::Value =
        serde_json::from_str(&line).with_context(|| format!("weir-cp said {line:?}"))?;
    let (xds, admin) = (field(&ports, "xds")?, field(&ports, "admin")?);
    let cp = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new(bin.join("weir-cp"))
            .args(["--admin", &format!("http://{admin}")])
            .arg("--token-file")
            .arg(&token)
            .env_remove("WEIR_CP_ADMIN_TOKEN")
            .args(args)
            .output()?;
        if !out.status.success() {
            bail!("weir-cp {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let wasm = filters.join("shuffle-shard.wasm").display().to_string();
    let config = r#"{"total_hosts": 8, "shard_size": 2}"#;
    println!("$ weir-cp ecds set shuffle-shard --vm-id shard --config '{config}'");
    cp(&["ecds", "set", "shuffle-shard", "--wasm", &wasm, "--vm-id", "shard", "--config", config])?;

    let ports = [util::free_port()?, util::free_port()?, util::free_port()?, util::free_port()?];
    let envoy_yaml = template(
        &util::root().join("envoy-configs/shuffle-shard.yaml"),
        &[
            ("filename: target/filters/", format!("filename: {}/", filters.display())),
            ("port_value: 18000", format!("port_value: {}", xds.port())),
            ("port_value: 8080", format!("port_value: {}", echo.port())),
            ("port_value: 10000", format!("port_value: {}", ports[0])),
            ("port_value: 9901", format!("port_value: {}", ports[1])),
        ],
    )?;
    let weir_yaml = template(
        &util::root().join("examples/shuffle-shard/weir.yaml"),
        &[
            ("../../target/filters/shuffle-shard.wasm", wasm.clone()),
            ("127.0.0.1:18000", xds.to_string()),
            ("127.0.0.1:8080", echo.to_string()),
            ("127.0.0.1:10001", format!("127.0.0.1:{}", ports[2])),
            ("127.0.0.1:9902", format!("127.0.0.1:{}", ports[3])),
        ],
    )?;
    std::fs::write(dir.join("shard-envoy.yaml"), envoy_yaml)?;
    std::fs::write(dir.join("shard-weir.yaml"), weir_yaml)?;
    procs.spawn(
        "envoy",
        Command::new(envoy_bin)
            .args(["--disable-hot-restart", "--concurrency", "2", "-l", "error", "-c"])
            .arg(dir.join("shard-envoy.yaml"))
            .stdout(Stdio::null()),
    )?;
    procs.spawn(
        "weir",
        Command::new(bin.join("weir"))
            .args(["--concurrency", "2", "--log-level", "warn", "-c"])
            .arg(dir.join("shard-weir.yaml"))
            .stdout(Stdio::null()),
    )?;
    let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
    util::wait_http(local(ports[1]), "/ready", "LIVE", Duration::from_secs(60)).context("envoy")?;
    util::wait_http(local(ports[3]), "/ready", "LIVE", Duration::from_secs(60)).context("weir")?;
    let proxies = [("envoy", local(ports[0])), ("weir", local(ports[2]))];

    println!("\n-- customer-A before (shard size from the filter's ECDS config: 2)");
    show(&proxies)?;
    let key = "shuffle_sharding.customer.customer-A.shard_size=5";
    println!("\n$ weir-cp set {key}");
    let pushed = Instant::now();
    println!("   {}", cp(&["set", key])?);
    for (name, addr) in proxies {
        let took = wait_for(addr, 5, pushed)?;
        println!("   {name} answers with 5 hosts {took:?} after the push");
    }
    println!("\n-- customer-A after");
    show(&proxies)?;
    println!("\n$ weir-cp status");
    for line in cp(&["status"])?.lines() {
        println!("   {line}");
    }
    println!("\n==> one push, both proxies changed; stopping everything");
    Ok(())
}

fn field(ports: &serde_json::Value, name: &str) -> anyhow::Result<SocketAddr> {
    ports[name]
        .as_str()
        .and_then(|a| a.parse().ok())
        .with_context(|| format!("weir-cp printed no `{name}` address"))
}

/// A checked-in config with its placeholders replaced (each must be there).
fn template(path: &Path, replacements: &[(&str, String)]) -> anyhow::Result<String> {
    let mut text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    for (from, to) in replacements {
        if !text.contains(from) {
            bail!("{} no longer contains `{from}`: update xtask/src/demo/shard.rs", path.display());
        }
        text = text.replace(from, to);
    }
    Ok(text)
}

fn answer(addr: SocketAddr) -> anyhow::Result<util::Response> {
    util::http(addr, "GET", "/orders", &[("x-customer-id", "customer-A")], "")
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

/// A fresh admin token in `dir/weir-cp.token` (mode 0600).
fn admin_token(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join("weir-cp.token");
    let _ = std::fs::remove_file(&path);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
    writeln!(file, "weir-demo-{:032x}", seed ^ u128::from(std::process::id()))?;
    Ok(path)
}
