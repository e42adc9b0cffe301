//! Expectations on a TLS request's handshake (accepted or refused, the protocol ALPN agreed
//! on, the version, the certificate served), and the comparison of what Envoy's and weir's
//! handshakes showed.

use serde::Deserialize;

use super::tls_client::TlsSeen;
use super::tls_pki::CaseTls;

/// What a TLS request's handshake must show.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsExpect {
    /// `accepted` (default) or `refused`.
    #[serde(default)]
    pub handshake: Handshake,
    /// With `refused`: the TLS alert the server sends (`CertificateRequired`, `UnknownCA`, ...
    /// as rustls names them).
    #[serde(default)]
    pub alert: Option<String>,
    /// The protocol ALPN agreed on (`h2`, `http/1.1`), or `none`.
    #[serde(default)]
    pub alpn: Option<String>,
    /// `TLSv1.2` or `TLSv1.3`.
    #[serde(default)]
    pub version: Option<String>,
    /// The case certificate served (by name).
    #[serde(default)]
    pub certificate: Option<String>,
    /// The served certificate's DNS SANs, in order.
    #[serde(default)]
    pub dns_sans: Option<Vec<String>>,
    /// The served certificate's subject (RFC 2253, e.g. `CN=exact`).
    #[serde(default)]
    pub subject: Option<String>,
}

/// Whether the server accepts the connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handshake {
    /// The handshake succeeds and the request is answered.
    #[default]
    Accepted,
    /// The handshake fails, or the connection is closed with an alert before any response.
    Refused,
}

/// Checks one handshake; returns what does not hold.
pub fn check(expect: &TlsExpect, seen: &TlsSeen, pki: &CaseTls) -> Vec<String> {
    let mut problems = Vec::new();
    match (expect.handshake, &seen.refused) {
        (Handshake::Accepted, Some(reason)) => problems.push(format!("refused ({reason}), want accepted")),
        (Handshake::Refused, None) => problems.push("accepted, want refused".into()),
        _ => {}
    }
    if seen.refused.is_some() {
        if let Some(want) = &expect.alert
            && seen.alert.as_ref() != Some(want)
        {
            problems.push(format!("alert {:?} (want {want})", seen.alert));
        }
        return problems;
    }
    if let Some(want) = &expect.alpn {
        let got = seen.alpn.as_deref().unwrap_or("none");
        if got != want {
            problems.push(format!("ALPN {got} (want {want})"));
        }
    }
    if let Some(want) = &expect.version
        && seen.version.as_ref() != Some(want)
    {
        problems.push(format!("TLS version {:?} (want {want})", seen.version));
    }
    let served = seen.certificate.as_deref().unwrap_or_default();
    if let Some(want) = &expect.certificate {
        let name = pki.served_name(served).unwrap_or("<not a case certificate>");
        if pki.served(want).map(|c| c.as_ref()) != Some(served) {
            problems.push(format!("certificate {name} served (want {want})"));
        }
    }
    let summary = weir_tls::summary::summarize(served);
    if let Some(want) = &expect.dns_sans {
        let got = summary.as_ref().map(|s| s.dns_sans.clone()).unwrap_or_default();
        if &got != want {
            problems.push(format!("served certificate's DNS SANs {got:?} (want {want:?})"));
        }
    }
    if let Some(want) = &expect.subject {
        let got = summary.as_ref().map(|s| s.subject.as_str()).unwrap_or("<none>");
        if got != want {
            problems.push(format!("served certificate's subject {got:?} (want {want:?})"));
        }
    }
    problems
}

/// Differences between Envoy's and weir's handshakes for the same request. Refusals are
/// compared by their alerts (the two TLS stacks word the rest differently).
pub fn compare(envoy: &TlsSeen, weir: &TlsSeen, pki: &CaseTls) -> Vec<String> {
    let mut diffs = Vec::new();
    match (&envoy.refused, &weir.refused) {
        (None, None) => {}
        (Some(_), Some(_)) => {
            if envoy.alert != weir.alert {
                diffs.push(format!("alert: envoy {:?} weir {:?}", envoy.alert, weir.alert));
            }
            return diffs;
        }
        (e, w) => {
            diffs.push(format!("handshake: envoy {} weir {}", outcome(e.as_deref()), outcome(w.as_deref())));
            return diffs;
        }
    }
    if envoy.alpn != weir.alpn {
        diffs.push(format!("ALPN: envoy {:?} weir {:?}", envoy.alpn, weir.alpn));
    }
    if envoy.version != weir.version {
        diffs.push(format!("TLS version: envoy {:?} weir {:?}", envoy.version, weir.version));
    }
    if envoy.certificate != weir.certificate {
        let name = |c: &Option<Vec<u8>>| {
            c.as_deref().and_then(|d| pki.served_name(d)).unwrap_or("<not a case certificate>").to_string()
        };
        diffs.push(format!(
            "certificate: envoy served {} weir {}",
            name(&envoy.certificate),
            name(&weir.certificate)
        ));
    }
    diffs
}

fn outcome(refused: Option<&str>) -> String {
    refused.map_or_else(|| "accepted".to_string(), |r| format!("refused ({r})"))
}
