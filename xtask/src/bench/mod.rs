//! `cargo xtask bench`: Envoy and weir under the same load, side by side, on this machine.
//!
//! Builds release binaries and the filters, installs Envoy and wrk when missing, starts the
//! echo upstream (`weir-echo`, release) and measures its own top rate, then for each worker
//! count (1 and 2) and each scenario starts both proxies with the same filters, checks one
//! request through each, warms both up, and runs wrk against Envoy and weir alternately
//! (A/B/A/B) for several rounds. CPU time comes from `/proc/<pid>/stat` around each run.
//! Results: `bench/results/<date>.json` and `.md`; the table is printed at the end.
//!
//! Pinning: with more cores than workers, the proxy under test runs on CPUs `0..workers`
//! and wrk + the upstream on the others (`taskset`); otherwise nothing is pinned.

mod config;
mod load;
mod machine;
mod measure;
mod profile;
mod proxy;
mod report;
mod rls;
mod scenario;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use weir_testkit::bins::{self, Bin, Profile};
use weir_testkit::{http, paths, procfs};

use crate::{envoy, filters};
use config::Backends;
use measure::{ProxyRuns, Round, ScenarioResult};
use proxy::{Kind, Proxy, start_proxy};
use scenario::{Route, Scenario};

/// `cargo xtask bench` options.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Short run for checking the harness: 3 s rounds, 2 rounds, 1 s warm-up.
    #[arg(long)]
    quick: bool,
    /// Seconds per measured round [default: 10, --quick 3].
    #[arg(long)]
    duration: Option<u64>,
    /// Measured rounds per proxy and scenario [default: 3, --quick 2].
    #[arg(long)]
    rounds: Option<u32>,
    /// Warm-up seconds per proxy and scenario [default: 3, --quick 1].
    #[arg(long)]
    warmup: Option<u64>,
    /// wrk connections (closed loop: also the most requests in flight).
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Only this scenario (repeatable); `--list` shows them.
    #[arg(long = "scenario")]
    scenarios: Vec<String>,
    /// Worker counts (`--concurrency` of both proxies), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2])]
    workers: Vec<usize>,
    /// Also profile weir with `perf` under one scenario (1 worker).
    #[arg(long)]
    profile: bool,
    /// The scenario profiled.
    #[arg(long, default_value = "chain-3")]
    profile_scenario: String,
    /// Only profile weir; no Envoy/weir measurements.
    #[arg(long)]
    profile_only: bool,
    /// Seconds of perf sampling.
    #[arg(long, default_value_t = 10)]
    profile_seconds: u64,
    /// Print the results without writing bench/results.
    #[arg(long)]
    no_save: bool,
    /// Reuse existing release binaries and filters (no cargo build).
    #[arg(long)]
    no_build: bool,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
}

/// What every step needs.
pub(crate) struct Ctx {
    weir: PathBuf,
    echo: PathBuf,
    /// `weir-rls`, for the global rate limit scenarios.
    rls: PathBuf,
    envoy: PathBuf,
    filters: PathBuf,
    work: PathBuf,
    ticks: f64,
    connections: u32,
    duration: Duration,
    warmup: Duration,
    rounds: u32,
    /// The certificate of the TLS scenarios (generated when one runs).
    tls: Option<tls::BenchTls>,
}

/// Where the proxy and the load run.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    workers: usize,
    proxy: Option<String>,
    load: Option<String>,
    wrk_threads: u32,
}

fn cpu_list(from: usize, to: usize) -> String {
    if from == to { from.to_string() } else { format!("{from}-{to}") }
}

impl Placement {
    fn new(workers: usize, cores: usize) -> Placement {
        if cores > workers {
            Placement {
                workers,
                proxy: Some(cpu_list(0, workers - 1)),
                load: Some(cpu_list(workers, cores - 1)),
                wrk_threads: (cores - workers).clamp(1, 4) as u32,
            }
        } else {
            Placement { workers, proxy: None, load: None, wrk_threads: cores.clamp(1, 4) as u32 }
        }
    }
}

/// Runs the benchmark.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let mut scenarios = scenario::all();
    if opts.list {
        for s in &scenarios {
            println!("{:<18} {}", s.name, s.description);
        }
        return Ok(());
    }
    if !opts.scenarios.is_empty() {
        for name in &opts.scenarios {
            if !scenarios.iter().any(|s| s.name == name) {
                bail!("unknown scenario {name} (see cargo xtask bench --list)");
            }
        }
        scenarios.retain(|s| opts.scenarios.iter().any(|n| n == s.name));
    }
    if opts.workers.contains(&0) {
        bail!("--workers must be at least 1");
    }
    let wrk_version = load::ensure_wrk()?;
    let with_rls = scenarios.iter().any(|s| s.rls);
    if with_rls {
        crate::util::ensure_redis()?;
    }
    if !opts.no_build {
        println!("==> building filters (wasm-release) and release binaries");
        filters::build()?;
        bins::build(Profile::Release, &[Bin::Weir, Bin::Echo, Bin::Rls])?;
    }
    let work = paths::target_dir().join("bench");
    std::fs::create_dir_all(&work)?;
    let mut ctx = Ctx {
        weir: bins::existing(Bin::Weir, Profile::Release),
        echo: bins::existing(Bin::Echo, Profile::Release),
        rls: bins::existing(Bin::Rls, Profile::Release),
        envoy: envoy::install()?,
        filters: paths::filters_dir(),
        work,
        ticks: procfs::clock_ticks(),
        connections: opts.connections,
        duration: Duration::from_secs(opts.duration.unwrap_or(if opts.quick { 3 } else { 10 }).max(1)),
        warmup: Duration::from_secs(opts.warmup.unwrap_or(if opts.quick { 1 } else { 3 })),
        rounds: opts.rounds.unwrap_or(if opts.quick { 2 } else { 3 }).max(1),
        tls: None,
    };
    if scenarios.iter().any(|s| s.transport.tls()) || opts.profile || opts.profile_only {
        ctx.tls = Some(tls::BenchTls::generate(&ctx.work.join("tls"))?);
    }
    let rls = with_rls.then_some(("weir-rls", &ctx.rls));
    for (what, path) in [("weir", &ctx.weir), ("weir-echo", &ctx.echo)].into_iter().chain(rls) {
        if !path.exists() {
            bail!("{what} not built at {} (run without --no-build)", path.display());
        }
    }
    let cores = machine::cores();
    let load_start = machine::load_average();
    println!("==> {cores} cores, load average {load_start}");
    let mut results = Vec::new();
    let mut sets = Vec::new();
    if !opts.profile_only {
        for &workers in &opts.workers {
            let placement = Placement::new(workers, cores);
            let (set, mut res) = run_set(&ctx, &placement, &scenarios)?;
            sets.push(set);
            results.append(&mut res);
        }
    }
    let profile = if opts.profile || opts.profile_only {
        Some(profile::run(&ctx, &Placement::new(1, cores), &opts.profile_scenario, opts.profile_seconds)?)
    } else {
        None
    };
    let date = now("+%Y-%m-%d");
    let doc = json!({
        "date": date,
        "timestamp": now("+%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine::describe(&ctx.envoy, &wrk_version),
        "load_average": { "start": load_start, "end": machine::load_average() },
        "settings": {
            "mode": if opts.quick { "quick" } else { "full" },
            "load_generator": format!("{wrk_version}, closed loop, HTTP/1.1 keep-alive"),
            "connections": ctx.connections,
            "duration_s": ctx.duration.as_secs(),
            "warmup_s": ctx.warmup.as_secs(),
            "rounds": ctx.rounds,
            "order": "per round: Envoy then weir (A/B/A/B)",
            "proxy_flags": {
                "envoy": "--concurrency N --disable-hot-restart -l warn",
                "weir": "--concurrency N --log-level warn",
            },
        },
        "worker_sets": sets,
        "results": results.iter().map(ScenarioResult::to_json).collect::<Vec<_>>(),
        "profile": profile.as_ref().map(|p| p.json.clone()),
    });
    let md = report::markdown(&doc, &results, profile.as_ref().map(|p| p.markdown.as_str()));
    if !opts.no_save {
        let dir = paths::workspace().join("bench/results");
        std::fs::create_dir_all(&dir)?;
        let base = if opts.quick || opts.profile_only { format!("{date}-quick") } else { date.clone() };
        let stem = free_stem(&dir, &base);
        std::fs::write(dir.join(format!("{stem}.json")), serde_json::to_string_pretty(&doc)? + "\n")?;
        std::fs::write(dir.join(format!("{stem}.md")), &md)?;
        println!("==> wrote bench/results/{stem}.json and .md");
    }
    println!("\n{md}");
    Ok(())
}

fn now(format: &str) -> String {
    std::process::Command::new("date")
        .arg("-u")
        .arg(format)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// All scenarios at one worker count.
fn run_set(
    ctx: &Ctx,
    placement: &Placement,
    scenarios: &[Scenario],
) -> anyhow::Result<(Value, Vec<ScenarioResult>)> {
    let w = placement.workers;
    println!(
        "\n==> {w} worker(s): proxy on CPUs {}, wrk + upstream on CPUs {}",
        placement.proxy.as_deref().unwrap_or("any (not pinned)"),
        placement.load.as_deref().unwrap_or("any (not pinned)")
    );
    let (upstream_child, upstream) = proxy::start_upstream(ctx, placement)?;
    let upstream_pid = upstream_child.pid();
    let baseline =
        scenario::all().into_iter().find(|s| s.name == "no-filter").context("no-filter scenario")?;
    let script = load::script(&ctx.work, &baseline)?;
    let mut direct = load::Load {
        target: upstream,
        script: &script,
        connections: ctx.connections,
        threads: placement.wrk_threads,
        duration: ctx.warmup.max(Duration::from_secs(1)),
        cpus: placement.load.as_deref(),
        tls: false,
    };
    load::run(&direct)?;
    direct.duration = ctx.duration;
    let up = load::run(&direct)?;
    println!(
        "    upstream alone (wrk -> weir-echo on the same CPUs): {:.0} req/s, p99 {:.2} ms",
        up.rps, up.p99_ms
    );
    let mut results = Vec::new();
    for s in scenarios {
        let res = run_scenario(ctx, placement, s, upstream, upstream_pid)
            .with_context(|| format!("scenario {} with {w} worker(s)", s.name))?;
        let (e, wr) = (res.envoy.summary(), res.weir.summary());
        println!(
            "    {:<18} envoy {:>8.0} req/s p99 {:>6.2} ms {:.4} CPU s/1k | weir {:>8.0} req/s p99 {:>6.2} ms {:.4} CPU s/1k",
            s.name, e.rps, e.p99_ms, e.cpu_per_1k, wr.rps, wr.p99_ms, wr.cpu_per_1k
        );
        for (name, sum) in [("envoy", &e), ("weir", &wr)] {
            if sum.rps > 0.8 * up.rps && s.route != Route::Direct {
                println!(
                    "    warning: {name} reached {:.0}% of the upstream's own rate",
                    sum.rps / up.rps * 100.0
                );
            }
            if sum.failed > 0 {
                println!("    warning: {name} had {} failed requests of {}", sum.failed, sum.requests);
            }
        }
        results.push(res);
    }
    drop(upstream_child);
    let set = json!({
        "workers": w,
        "proxy_cpus": placement.proxy,
        "load_cpus": placement.load,
        "wrk_threads": placement.wrk_threads,
        "upstream": "weir-echo (release; answers `ok` because every request carries x-echo-body: ok)",
        "upstream_max_rps": up.rps,
        "upstream_direct": up.to_json(),
    });
    Ok((set, results))
}

fn run_scenario(
    ctx: &Ctx,
    placement: &Placement,
    s: &Scenario,
    upstream: SocketAddr,
    upstream_pid: u32,
) -> anyhow::Result<ScenarioResult> {
    let dir = ctx.work.join(format!("{}-w{}", s.name, placement.workers));
    std::fs::create_dir_all(&dir)?;
    let script = load::script(&dir, s)?;
    let rls = if s.rls { Some(rls::start(ctx, placement, &dir)?) } else { None };
    let backends = Backends { echo: upstream, rls: rls.as_ref().map(|r| r.addr) };
    let envoy = start_proxy(Kind::Envoy, ctx, placement, s, backends, &dir, &[])?;
    let weir = start_proxy(Kind::Weir, ctx, placement, s, backends, &dir, &[])?;
    let proxies = [envoy, weir];
    for p in &proxies {
        check(ctx, s, p.addr).with_context(|| format!("{} does not answer as expected", p.name))?;
    }
    let connections = s.connections.unwrap_or(ctx.connections);
    let load_of = |p: &Proxy, duration| load::Load {
        target: p.addr,
        script: &script,
        connections,
        threads: placement.wrk_threads.min(connections),
        duration,
        cpus: placement.load.as_deref(),
        tls: s.transport.tls(),
    };
    for p in &proxies {
        if !ctx.warmup.is_zero() {
            load::run(&load_of(p, ctx.warmup))?;
        }
    }
    let mut rounds: [Vec<Round>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..ctx.rounds {
        for (i, p) in proxies.iter().enumerate() {
            let (cpu0, up0) =
                (procfs::cpu_seconds(p.pid(), ctx.ticks)?, procfs::cpu_seconds(upstream_pid, ctx.ticks)?);
            let outcome = load::run(&load_of(p, ctx.duration))?;
            let (cpu1, up1) =
                (procfs::cpu_seconds(p.pid(), ctx.ticks)?, procfs::cpu_seconds(upstream_pid, ctx.ticks)?);
            rounds[i].push(Round { load: outcome, cpu_s: cpu1 - cpu0, upstream_cpu_s: up1 - up0 });
        }
    }
    let rss: Vec<Option<u64>> = proxies.iter().map(|p| procfs::rss_kib(p.pid())).collect();
    drop(proxies);
    drop(rls);
    let [envoy_rounds, weir_rounds] = rounds;
    Ok(ScenarioResult {
        scenario: s.name.to_string(),
        description: s.description.to_string(),
        workers: placement.workers,
        connections,
        envoy: ProxyRuns { rounds: envoy_rounds, rss_kib: rss[0] },
        weir: ProxyRuns { rounds: weir_rounds, rss_kib: rss[1] },
    })
}

/// One request through the proxy (without `x-echo-body`, so the upstream echoes what it saw)
/// checked against the scenario's expectations.
pub(crate) fn check(ctx: &Ctx, s: &Scenario, addr: SocketAddr) -> anyhow::Result<()> {
    let body = "a".repeat(s.body_bytes);
    let headers: Vec<(&str, &str)> = s.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let request = |headers: &[(&str, &str)]| match (&ctx.tls, s.transport.tls()) {
        (Some(tls), true) => tls.request(addr, s.method, "/bench", headers, &body),
        (None, true) => bail!("a TLS scenario without a certificate"),
        (_, false) => http::request(addr, s.method, "/bench", headers, &body),
    };
    let r = request(&headers)?;
    if r.status != 200 {
        bail!("status {} (body {:?})", r.status, r.body.chars().take(300).collect::<String>());
    }
    let c = &s.check;
    if let Some(name) = c.response_header
        && r.header(name).is_none()
    {
        bail!("response lacks {name}");
    }
    if s.route != Route::Direct {
        let echo: Value = serde_json::from_str(&r.body).context("the upstream's echo")?;
        let seen = |name: &str| {
            echo["headers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|h| h[0] == name)
                .map(|h| h[1].as_str().unwrap_or("").to_string())
        };
        if let Some((name, value)) = c.upstream_header {
            match (seen(name), value) {
                (None, _) => bail!("the upstream did not get {name}"),
                (Some(got), Some(want)) if got != want => bail!("the upstream got {name}: {got}, not {want}"),
                _ => {}
            }
        }
        if let Some(name) = c.upstream_absent
            && seen(name).is_some()
        {
            bail!("the upstream got {name}");
        }
        if c.upstream_body_upper && echo["body"].as_str() != Some(body.to_ascii_uppercase().as_str()) {
            bail!("the upstream did not get the body upper-cased");
        }
    }
    if let Some((without, status)) = c.denied_without {
        let fewer: Vec<(&str, &str)> = headers.iter().copied().filter(|(k, _)| *k != without).collect();
        let r = request(&fewer)?;
        if r.status != status {
            bail!("without {without}: status {}, expected {status}", r.status);
        }
    }
    Ok(())
}

/// `base`, or `base-2`, `base-3`, ... when a run of the same day is already there: a second
/// run never overwrites the first.
fn free_stem(dir: &std::path::Path, base: &str) -> String {
    let taken =
        |stem: &str| dir.join(format!("{stem}.json")).exists() || dir.join(format!("{stem}.md")).exists();
    if !taken(base) {
        return base.to_string();
    }
    (2..).map(|n| format!("{base}-{n}")).find(|stem| !taken(stem)).unwrap_or_else(|| base.to_string())
}
