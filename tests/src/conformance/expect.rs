//! Expectations on one response, and the differential comparison of Envoy's and weir's
//! answers.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::tls_expect::TlsExpect;
use crate::client::Reply;
use crate::echo::Echo;

/// What a response must look like.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Status code.
    #[serde(default)]
    pub status: Option<u16>,
    /// Headers that must be present with these values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers that must be absent.
    #[serde(default)]
    pub absent_headers: Vec<String>,
    /// Exact body.
    #[serde(default)]
    pub body: Option<String>,
    /// Substring of the body.
    #[serde(default)]
    pub body_contains: Option<String>,
    /// What the upstream must have received (the response must come from the echo server).
    #[serde(default)]
    pub upstream: Option<UpstreamExpect>,
    /// The request must not have reached the upstream.
    #[serde(default)]
    pub not_forwarded: bool,
    /// Response trailers that must be present with these values.
    #[serde(default)]
    pub trailers: BTreeMap<String, String>,
    /// The handshake, for a case with `tls` (default: accepted). A refused request has no
    /// response: only this is checked.
    #[serde(default)]
    pub tls: Option<TlsExpect>,
}

/// What the echo upstream must have seen.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamExpect {
    /// Method.
    #[serde(default)]
    pub method: Option<String>,
    /// Path with query.
    #[serde(default)]
    pub path: Option<String>,
    /// Headers present with these values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers absent.
    #[serde(default)]
    pub absent_headers: Vec<String>,
    /// Exact body.
    #[serde(default)]
    pub body: Option<String>,
    /// Trailers present with these values.
    #[serde(default)]
    pub trailers: BTreeMap<String, String>,
}

fn echo_of(reply: &Reply) -> Option<Echo> {
    if reply.header("x-echo") != Some("1") {
        return None;
    }
    serde_json::from_slice(&reply.body).ok()
}

/// Checks one reply; returns what does not hold.
pub fn check(expect: &Expect, reply: &Reply) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(status) = expect.status
        && reply.status != status
    {
        problems.push(format!("status {} (want {status}); body {:?}", reply.status, reply.text()));
    }
    for (name, want) in &expect.headers {
        match reply.header(name) {
            Some(got) if got == want => {}
            got => problems.push(format!("header {name}: {got:?} (want {want:?})")),
        }
    }
    for name in &expect.absent_headers {
        if let Some(got) = reply.header(name) {
            problems.push(format!("header {name} should be absent, is {got:?}"));
        }
    }
    if let Some(body) = &expect.body
        && reply.text() != *body
    {
        problems.push(format!("body {:?} (want {body:?})", reply.text()));
    }
    if let Some(part) = &expect.body_contains
        && !reply.text().contains(part.as_str())
    {
        problems.push(format!("body {:?} lacks {part:?}", reply.text()));
    }
    for (name, want) in &expect.trailers {
        match reply.trailers.iter().find(|(k, _)| k == name).map(|(_, v)| v) {
            Some(got) if got == want => {}
            got => problems.push(format!("trailer {name}: {got:?} (want {want:?})")),
        }
    }
    let echo = echo_of(reply);
    if expect.not_forwarded && echo.is_some() {
        problems.push("request reached the upstream".into());
    }
    if let Some(up) = &expect.upstream {
        match &echo {
            None => problems.push("response did not come from the upstream".into()),
            Some(echo) => check_upstream(up, echo, &mut problems),
        }
    }
    problems
}

fn check_upstream(up: &UpstreamExpect, echo: &Echo, problems: &mut Vec<String>) {
    if let Some(method) = &up.method
        && &echo.method != method
    {
        problems.push(format!("upstream method {} (want {method})", echo.method));
    }
    if let Some(path) = &up.path
        && &echo.path != path
    {
        problems.push(format!("upstream path {} (want {path})", echo.path));
    }
    for (name, want) in &up.headers {
        match echo.header(name) {
            Some(got) if got == want => {}
            got => problems.push(format!("upstream header {name}: {got:?} (want {want:?})")),
        }
    }
    for name in &up.absent_headers {
        if let Some(got) = echo.header(name) {
            problems.push(format!("upstream header {name} should be absent, is {got:?}"));
        }
    }
    for (name, want) in &up.trailers {
        match echo.trailers.iter().find(|(k, _)| k == name).map(|(_, v)| v) {
            Some(got) if got == want => {}
            got => problems.push(format!("upstream trailer {name}: {got:?} (want {want:?})")),
        }
    }
    if let Some(body) = &up.body
        && &echo.body != body
    {
        problems.push(format!("upstream body {:?} (want {body:?})", echo.body));
    }
}

/// Response headers whose values legitimately differ between hosts.
const IGNORED: [&str; 5] = ["date", "server", "transfer-encoding", "content-length", "connection"];

/// Request headers (seen upstream) whose values legitimately differ between hosts.
const IGNORED_UPSTREAM: [&str; 4] =
    ["x-request-id", "content-length", "transfer-encoding", "x-forwarded-for"];

fn normalized(headers: &[(String, String)], ignored: &[&str]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| !ignored.contains(&k.as_str()) && !k.starts_with("x-envoy-"))
        .cloned()
        .collect();
    out.sort();
    out
}

/// Differences between Envoy's and weir's answers to the same request.
pub fn compare(envoy: &Reply, weir: &Reply) -> Vec<String> {
    let mut diffs = Vec::new();
    if envoy.status != weir.status {
        diffs.push(format!("status: envoy {} weir {}", envoy.status, weir.status));
    }
    if envoy.trailers != weir.trailers {
        diffs.push(format!("response trailers: envoy {:?} weir {:?}", envoy.trailers, weir.trailers));
    }
    let (e, w) = (normalized(&envoy.headers, &IGNORED), normalized(&weir.headers, &IGNORED));
    if e != w {
        diffs.push(format!("response headers:\n  envoy {e:?}\n  weir  {w:?}"));
    }
    match (echo_of(envoy), echo_of(weir)) {
        (Some(e), Some(w)) => {
            if (e.method.as_str(), e.path.as_str(), e.body.as_str())
                != (w.method.as_str(), w.path.as_str(), w.body.as_str())
            {
                diffs.push(format!(
                    "upstream request: envoy {} {} {:?}, weir {} {} {:?}",
                    e.method, e.path, e.body, w.method, w.path, w.body
                ));
            }
            let (eh, wh) =
                (normalized(&e.headers, &IGNORED_UPSTREAM), normalized(&w.headers, &IGNORED_UPSTREAM));
            if eh != wh {
                diffs.push(format!("upstream headers:\n  envoy {eh:?}\n  weir  {wh:?}"));
            }
            if e.trailers != w.trailers {
                diffs.push(format!("upstream trailers: envoy {:?} weir {:?}", e.trailers, w.trailers));
            }
            if e.header("x-request-id").is_some() != w.header("x-request-id").is_some() {
                diffs.push("upstream x-request-id present in one host only".into());
            }
        }
        (None, None) => {
            if envoy.body != weir.body {
                diffs.push(format!("body: envoy {:?} weir {:?}", envoy.text(), weir.text()));
            }
        }
        _ => diffs.push("one host forwarded the request, the other did not".into()),
    }
    diffs
}
