//! One request of a case sent to one host — in plaintext (HTTP/1.1 or h2c), or over TLS for a
//! case with `tls` — what came back ([`Answer`]), its expectations checked, and the comparison
//! of Envoy's and weir's answers.

use std::net::SocketAddr;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;

use super::case::RequestSpec;
use super::tls_client::{self, TlsSeen};
use super::tls_expect::Handshake;
use super::tls_pki::CaseTls;
use super::{expect, tls_expect};
use crate::client::{self, Reply};

/// What one host answered to one request.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The response (none when the TLS handshake was refused).
    pub reply: Option<Reply>,
    /// The TLS handshake, in a case with `tls`.
    pub tls: Option<TlsSeen>,
}

/// What one host answered to every request of a case.
pub type Answers = Vec<Answer>;

/// Sends `spec` to `addr`: over TLS when the case has certificates (`pki`), else plaintext.
pub async fn send(spec: &RequestSpec, addr: SocketAddr, pki: Option<&CaseTls>) -> anyhow::Result<Answer> {
    let Some(pki) = pki else {
        let reply = client::send_with(addr, build(spec, spec.http2, "http")?, spec.http2).await?;
        return Ok(Answer { reply: Some(reply), tls: None });
    };
    let request_tls = spec.tls.clone().unwrap_or_default();
    let config = pki.client_config(&request_tls)?;
    let refusal = spec.expect.tls.as_ref().is_some_and(|t| t.handshake == Handshake::Refused);
    let answer =
        tls_client::exchange(addr, config, &request_tls, refusal, |http2| build(spec, http2, "https"))
            .await?;
    Ok(Answer { reply: answer.reply, tls: Some(answer.tls) })
}

/// Checks one answer against the request's expectations; returns what does not hold.
pub fn check(spec: &RequestSpec, answer: &Answer, pki: Option<&CaseTls>) -> Vec<String> {
    let mut problems = Vec::new();
    if let (Some(pki), Some(seen)) = (pki, &answer.tls) {
        let want = spec.expect.tls.clone().unwrap_or_default();
        problems.extend(tls_expect::check(&want, seen, pki));
    }
    if let Some(reply) = &answer.reply {
        problems.extend(expect::check(&spec.expect, reply));
    }
    problems
}

/// Differences between Envoy's and weir's answers to the same request.
pub fn compare(envoy: &Answer, weir: &Answer, pki: Option<&CaseTls>) -> Vec<String> {
    let mut diffs = Vec::new();
    if let (Some(pki), Some(e), Some(w)) = (pki, &envoy.tls, &weir.tls) {
        diffs.extend(tls_expect::compare(e, w, pki));
    }
    match (&envoy.reply, &weir.reply) {
        (Some(e), Some(w)) => diffs.extend(expect::compare(e, w)),
        (None, None) => {}
        // Already a handshake difference.
        _ if !diffs.is_empty() => {}
        (e, w) => diffs.push(format!("response: envoy {} weir {}", e.is_some(), w.is_some())),
    }
    diffs
}

/// The request as the client sends it: HTTP/2 carries the authority in the request target
/// (`:authority`, with the connection's scheme), HTTP/1.1 in `Host`.
fn build(spec: &RequestSpec, http2: bool, scheme: &str) -> anyhow::Result<http::Request<Full<Bytes>>> {
    let authority = spec.authority.as_deref().unwrap_or("example.com");
    let mut builder = http::Request::builder().method(spec.method.as_str());
    builder = match http2 {
        true => builder.uri(format!("{scheme}://{authority}{}", spec.path)),
        false => builder.uri(spec.path.as_str()).header("host", authority),
    };
    for (k, v) in &spec.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = spec.body.clone().unwrap_or_default().repeat(spec.body_repeat.unwrap_or(1));
    builder.body(Full::new(Bytes::from(body))).context("bad request spec")
}
