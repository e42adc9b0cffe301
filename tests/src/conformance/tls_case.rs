//! A case's TLS, as `case.yaml` writes it: the listener's certificates (generated for each
//! run by [`super::tls_pki`], never committed), the ALPN protocols it offers, whether it asks
//! for client certificates, the client certificates requests may present; and, per request,
//! the SNI to send, the ALPN protocols to offer and the client certificate to present.

use anyhow::bail;
use serde::Deserialize;

/// The case-level `tls`: listener `main` terminates TLS, and every request goes over TLS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// The listener's certificates, signed by the run's server CA. The first is the default
    /// (clients without SNI, or whose SNI no certificate names).
    pub certificates: Vec<ServerCertSpec>,
    /// Protocols the listener offers by ALPN (default `h2`, `http/1.1`).
    #[serde(default)]
    pub alpn_protocols: Option<Vec<String>>,
    /// Ask clients for a certificate from the run's client CA.
    #[serde(default)]
    pub client_certificates: Option<ClientAuthSpec>,
    /// Client certificates the requests may present (by name).
    #[serde(default)]
    pub clients: Vec<ClientCertSpec>,
}

/// A server certificate: subject `CN=<name>`, these DNS SANs (`*.` wildcards allowed).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerCertSpec {
    /// Name (also its CN), for requests' expectations.
    pub name: String,
    /// DNS SANs.
    pub dns: Vec<String>,
}

/// The listener's client-certificate policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientAuthSpec {
    /// Refuse the handshake of a client without a certificate (default `true`).
    #[serde(default = "yes")]
    pub require: bool,
}

fn yes() -> bool {
    true
}

/// A client certificate: subject `CN=<cn>,O=weir-tests`, these SANs (`://` makes a URI SAN,
/// else DNS).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCertSpec {
    /// Name, for requests.
    pub name: String,
    /// Common name (default: the name).
    #[serde(default)]
    pub cn: Option<String>,
    /// SANs.
    #[serde(default)]
    pub sans: Vec<String>,
    /// Signed by the client CA the listener trusts (default `true`); `false`: by a CA of its own
    /// that nobody trusts.
    #[serde(default = "yes")]
    pub trusted: bool,
}

/// How one request connects.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTls {
    /// SNI to send (none when unset).
    #[serde(default)]
    pub sni: Option<String>,
    /// Protocols to offer by ALPN, in preference order (none when empty: HTTP/1.1).
    #[serde(default)]
    pub alpn: Vec<String>,
    /// Client certificate to present (a name from the case's `clients`).
    #[serde(default)]
    pub client_certificate: Option<String>,
}

/// Fails when the case's TLS settings contradict each other.
pub fn validate(case: &super::Case) -> anyhow::Result<()> {
    for c in case.clusters.iter().filter(|c| c.tls.is_some()) {
        if c.target != super::ClusterTarget::Echo || c.http2 {
            bail!("cluster `{}`: `tls` needs target `echo` over HTTP/1.1", c.name);
        }
        if c.tls.as_ref().is_some_and(|t| t.verify_subject_alt_name.is_empty()) {
            bail!("cluster `{}`: tls.verify_subject_alt_name: at least one", c.name);
        }
    }
    let Some(tls) = &case.tls else {
        if let Some(r) = case.requests.iter().find(|r| r.tls.is_some()) {
            bail!("request `{}` has `tls` but the case has no `tls` listener", r.name);
        }
        return Ok(());
    };
    if tls.certificates.is_empty() {
        bail!("tls.certificates: at least one");
    }
    for r in &case.requests {
        if r.http2 {
            bail!("request `{}`: over TLS the protocol comes from ALPN (tls.alpn), not `http2`", r.name);
        }
        let named = r.tls.as_ref().and_then(|t| t.client_certificate.as_deref());
        if let Some(name) = named
            && !tls.clients.iter().any(|c| c.name == name)
        {
            bail!("request `{}`: no client certificate `{name}` in tls.clients", r.name);
        }
        let certificate = r.expect.tls.as_ref().and_then(|t| t.certificate.as_deref());
        if let Some(name) = certificate
            && !tls.certificates.iter().any(|c| c.name == name)
        {
            bail!("request `{}`: no certificate `{name}` in tls.certificates", r.name);
        }
    }
    Ok(())
}
