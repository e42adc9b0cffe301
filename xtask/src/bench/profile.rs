//! `cargo xtask bench --profile`: weir under one scenario's load (`--profile-scenario`,
//! default `chain-3`), sampled with `perf record` (software `cpu-clock` event, so it works in
//! VMs without hardware counters; DWARF call graphs, since release builds have no frame
//! pointers), and the top costs by self and inclusive ("children") share. weir runs with
//! `WEIR_WASM_PROFILER=perfmap`, so the guests' JIT-compiled functions are named in the
//! report (`[JIT]` object) instead of being anonymous addresses.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::proxy::{self, Kind, start_proxy};
use super::{Ctx, Placement, check, load, rls, scenario};

/// What the profile step produced.
pub struct Profile {
    /// For the JSON results.
    pub json: Value,
    /// For the markdown report.
    pub markdown: String,
}

/// One line of `perf report`.
#[derive(Debug, Clone)]
struct Entry {
    children: f64,
    self_pct: f64,
    dso: String,
    symbol: String,
}

/// Runs the profile.
pub fn run(ctx: &Ctx, placement: &Placement, name: &str, seconds: u64) -> anyhow::Result<Profile> {
    if Command::new("perf").arg("--version").output().is_err() {
        bail!("perf is missing; install it with: apt-get update && apt-get install -y linux-perf");
    }
    let s = scenario::all()
        .into_iter()
        .find(|s| s.name == name)
        .with_context(|| format!("unknown scenario {name} (see cargo xtask bench --list)"))?;
    let dir = ctx.work.join("profile");
    std::fs::create_dir_all(&dir)?;
    println!("\n==> profiling weir ({name}, 1 worker) with perf for {seconds} s");
    let (_upstream, upstream) = proxy::start_upstream(ctx, placement)?;
    let env = [("WEIR_WASM_PROFILER", "perfmap")];
    let rls = if s.rls { Some(rls::start(ctx, placement, &dir)?) } else { None };
    let backends = super::config::Backends { echo: upstream, rls: rls.as_ref().map(|r| r.addr) };
    let weir = start_proxy(Kind::Weir, ctx, placement, &s, backends, &dir, &env)?;
    check(ctx, &s, weir.addr)?;
    let script = load::script(&dir, &s)?;
    let mut l = load::Load {
        target: weir.addr,
        script: &script,
        connections: s.connections.unwrap_or(ctx.connections),
        threads: placement.wrk_threads.min(s.connections.unwrap_or(ctx.connections)),
        duration: Duration::from_secs(2),
        cpus: placement.load.as_deref(),
        tls: s.transport.tls(),
    };
    load::run(&l)?;
    // Load for longer than perf samples; perf starts one second in.
    l.duration = Duration::from_secs(seconds + 3);
    let background = std::thread::scope(|scope| -> anyhow::Result<load::Outcome> {
        let wrk = scope.spawn(|| load::run(&l));
        std::thread::sleep(Duration::from_secs(1));
        let data = dir.join("perf.data");
        let status = Command::new("perf")
            .args(["record", "-e", "cpu-clock", "-F", "999", "--call-graph", "dwarf,16384", "-o"])
            .arg(&data)
            .arg("-p")
            .arg(weir.pid().to_string())
            .args(["--", "sleep", &seconds.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("perf record")?;
        if !status.success() {
            bail!(
                "perf record failed ({status}); is perf_event_paranoid too high? (sysctl kernel.perf_event_paranoid)"
            );
        }
        wrk.join().map_err(|_| anyhow::anyhow!("wrk thread panicked"))?
    })?;
    drop(weir);
    println!("    weir served {:.0} req/s while sampled", background.rps);
    let data = dir.join("perf.data");
    let self_top = report(&data, false, "dso,sym")?;
    let children_top: Vec<Entry> =
        report(&data, true, "dso,sym")?.into_iter().filter(|e| !unresolved(&e.symbol)).collect();
    let objects = report(&data, false, "dso")?;
    std::fs::write(dir.join("self.txt"), render(&self_top, false))?;
    std::fs::write(dir.join("children.txt"), render(&children_top, true))?;
    let buckets = categories(&self_top);
    let mut md = format!(
        "`perf record -e cpu-clock -F 999 --call-graph dwarf` on weir ({name}, 1 worker, CPU 0) for {seconds} s \
         at {:.0} req/s. Full listings: `target/bench/profile/{{self,children}}.txt`.\n\n",
        background.rps
    );
    md.push_str("Self time by object:\n\n| object | self % |\n|---|--:|\n");
    for e in objects.iter().take(8) {
        writeln!(md, "| {} | {:.1} |", if e.dso.is_empty() { &e.symbol } else { &e.dso }, e.self_pct)
            .unwrap();
    }
    md.push_str("\nSelf time by area (symbol names):\n\n| area | self % |\n|---|--:|\n");
    for (name, pct) in &buckets {
        writeln!(md, "| {name} | {pct:.1} |").unwrap();
    }
    md.push_str("\nTop functions by inclusive time (children):\n\n| inclusive % | self % | function |\n|--:|--:|---|\n");
    for e in children_top.iter().take(30) {
        writeln!(md, "| {:.1} | {:.1} | `{}` |", e.children, e.self_pct, short(&e.symbol)).unwrap();
    }
    md.push_str("\nweir's plugin path (inclusive):\n\n| inclusive % | self % | function |\n|--:|--:|---|\n");
    for e in children_top.iter().filter(|e| plugin_path(&e.symbol)).take(20) {
        writeln!(md, "| {:.1} | {:.1} | `{}` |", e.children, e.self_pct, short(&e.symbol)).unwrap();
    }
    md.push_str("\nGuest (filter) functions by self time:\n\n| self % | function |\n|--:|---|\n");
    for e in self_top.iter().filter(|e| e.dso.starts_with("[JIT]")).take(15) {
        writeln!(md, "| {:.1} | `{}` |", e.self_pct, short(&e.symbol)).unwrap();
    }
    md.push_str("\nTop functions by self time:\n\n| self % | function | object |\n|--:|---|---|\n");
    for e in self_top.iter().take(30) {
        writeln!(md, "| {:.1} | `{}` | {} |", e.self_pct, short(&e.symbol), e.dso).unwrap();
    }
    let entry =
        |e: &Entry| json!({"children": e.children, "self": e.self_pct, "dso": e.dso, "symbol": e.symbol});
    let json = json!({
        "scenario": name,
        "seconds": seconds,
        "rps_while_sampled": background.rps,
        "self_by_object": objects.iter().map(|e| json!({"object": e.dso, "self_pct": e.self_pct})).collect::<Vec<_>>(),
        "self_by_area": buckets.iter().map(|(k, v)| json!({"area": k, "self_pct": v})).collect::<Vec<_>>(),
        "top_children": children_top.iter().take(40).map(entry).collect::<Vec<_>>(),
        "top_self": self_top.iter().take(40).map(entry).collect::<Vec<_>>(),
    });
    Ok(Profile { json, markdown: md })
}

/// A raw address (an unwinding dead end or JIT code), not a function name.
fn unresolved(symbol: &str) -> bool {
    symbol.trim_start_matches("[kernel] ").starts_with("0x")
}

/// Functions of the plugin path: the chain, VMs, hostcalls, wasmtime.
fn plugin_path(symbol: &str) -> bool {
    [
        "weir_proxy_wasm::wasm",
        "weir_proxy_wasm::abi",
        "weir_proxy_wasm::plugin",
        "weir_host::http::chain",
        "wasmtime",
    ]
    .iter()
    .any(|p| symbol.contains(p))
}

/// `perf report` sorted by `sort` keys, with or without inclusive time. Without inclusive
/// time every entry is listed, so areas add up to 100%.
fn report(data: &std::path::Path, children: bool, sort: &str) -> anyhow::Result<Vec<Entry>> {
    let limit = if children { "0.2" } else { "0" };
    let out = Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-inline",
            "-g",
            "none",
            "--sort",
            sort,
            "--percent-limit",
            limit,
            "-i",
        ])
        .arg(data)
        .arg(if children { "--children" } else { "--no-children" })
        .output()
        .context("perf report")?;
    if !out.status.success() {
        bail!("perf report failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut entries: Vec<Entry> = text.lines().filter_map(|l| parse_line(l, children)).collect();
    if children {
        entries.sort_by(|a, b| b.children.total_cmp(&a.children));
    } else {
        entries.sort_by(|a, b| b.self_pct.total_cmp(&a.self_pct));
    }
    Ok(entries)
}

/// `  12.34%   1.00%  weir  [.] symbol` (children) or `  1.00%  weir  [.] symbol`.
fn parse_line(line: &str, children: bool) -> Option<Entry> {
    let line = line.trim();
    if line.starts_with('#') || line.is_empty() {
        return None;
    }
    let mut rest = line;
    let mut pct = || -> Option<f64> {
        let (first, tail) = rest.split_once(char::is_whitespace)?;
        let v = first.strip_suffix('%')?.parse().ok()?;
        rest = tail.trim_start();
        Some(v)
    };
    let a = pct()?;
    let b = if children { pct()? } else { a };
    let marker =
        ["[.] ", "[k] ", "[g] ", "[u] ", "[H] "].iter().filter_map(|m| rest.find(m).map(|at| (at, *m))).min();
    let (dso, symbol) = match marker {
        Some((at, m)) => {
            let dso = rest[..at].trim().to_string();
            let sym = rest[at + m.len()..].trim().to_string();
            (dso, if m == "[k] " { format!("[kernel] {sym}") } else { sym })
        }
        None => (String::new(), rest.to_string()),
    };
    Some(Entry { children: a, self_pct: b, dso, symbol })
}

/// Self time grouped by area.
fn categories(entries: &[Entry]) -> Vec<(String, f64)> {
    let mut buckets: Vec<(String, f64)> = Vec::new();
    for e in entries {
        let s = &e.symbol;
        let area = if s.starts_with("[kernel]") {
            "kernel (syscalls, TCP loopback, scheduling)"
        } else if e.dso.contains("unknown")
            || e.dso.contains("anon")
            || e.dso.contains("jit")
            || e.dso.starts_with("[JIT]")
            || s.starts_with("0x")
        {
            "guest wasm (JIT-compiled filter code)"
        } else if s.contains("wasmtime") || s.contains("cranelift") {
            "wasmtime runtime (calls in/out of the guest, stores, instances)"
        } else if s.contains("malloc")
            || s.contains("free")
            || s.contains("realloc")
            || s.contains("_int_")
            || s.contains("memcpy")
            || s.contains("memmove")
            || s.contains("memset")
            || s.contains("alloc::")
        {
            "allocator and memcpy"
        } else if s.contains("hyper") || s.contains("h2::") || s.contains("httparse") || s.contains("http::")
        {
            "hyper / http parsing"
        } else if s.contains("tokio") || s.contains("mio::") {
            "tokio"
        } else if s.contains("weir_host") || s.contains("weir_abi") {
            "weir host code"
        } else {
            "other"
        };
        match buckets.iter_mut().find(|(name, _)| name == area) {
            Some(b) => b.1 += e.self_pct,
            None => buckets.push((area.to_string(), e.self_pct)),
        }
    }
    buckets.sort_by(|a, b| b.1.total_cmp(&a.1));
    buckets
}

fn short(symbol: &str) -> String {
    let s: String = symbol.chars().take(140).collect();
    s.replace('|', "\\|")
}

fn render(entries: &[Entry], children: bool) -> String {
    let mut out = String::new();
    for e in entries {
        if children {
            writeln!(out, "{:6.2}% {:6.2}%  {:<20} {}", e.children, e.self_pct, e.dso, e.symbol).unwrap();
        } else {
            writeln!(out, "{:6.2}%  {:<20} {}", e.self_pct, e.dso, e.symbol).unwrap();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_report_lines() {
        let e = parse_line(
            "    12.34%     1.50%  weir              [.] hyper::proto::h1::io::Buffered<T,B>::parse",
            true,
        )
        .unwrap();
        assert_eq!((e.children, e.self_pct, e.dso.as_str()), (12.34, 1.5, "weir"));
        assert_eq!(e.symbol, "hyper::proto::h1::io::Buffered<T,B>::parse");
        let k = parse_line("     3.00%  [kernel.kallsyms]  [k] tcp_sendmsg", false).unwrap();
        assert_eq!((k.self_pct, k.symbol.as_str()), (3.0, "[kernel] tcp_sendmsg"));
        assert!(parse_line("# Overhead  Symbol", false).is_none());
    }
}
