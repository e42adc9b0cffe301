//! A TLS case's certificates, generated for one run into a temporary directory (removed with
//! it): a server CA signing the listener's certificates, a client CA the listener trusts, and
//! an untrusted CA for clients that must be refused. What the listener serves ([`ListenerTls`]),
//! and how a request's client connects ([`CaseTls::client_config`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use rustls::pki_types::CertificateDer;
use weir_testkit::twin::{CertificatePair, ListenerTls};
use weir_tls::CertificateFiles;
use weir_tls::test_pki::Pki;

use super::tls_case::{RequestTls, TlsSpec};
use super::tls_verify::ChainOnly;

/// The generated certificates of one run.
pub struct CaseTls {
    /// Keeps the files for the run.
    _dir: tempfile::TempDir,
    server_ca: Arc<rustls::RootCertStore>,
    listener: ListenerTls,
    /// The listener's certificates' leaves, by name.
    served: BTreeMap<String, CertificateDer<'static>>,
    /// Client certificate files, by name.
    clients: BTreeMap<String, CertificateFiles>,
}

impl std::fmt::Debug for CaseTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseTls").field("served", &self.served.keys()).finish_non_exhaustive()
    }
}

fn pki(dir: &Path, name: &str) -> anyhow::Result<Pki> {
    let sub = dir.join(name);
    std::fs::create_dir_all(&sub)?;
    Pki::new(&sub, name).map_err(|e| anyhow!("{name} CA: {e}"))
}

fn leaf(files: &CertificateFiles) -> anyhow::Result<CertificateDer<'static>> {
    let path = &files.certificate_chain;
    let chain = weir_tls::pem::certificates(path, &std::fs::read(path)?)?;
    chain.into_iter().next().with_context(|| format!("{}: no certificate", path.display()))
}

impl CaseTls {
    /// Generates the certificates `spec` names.
    pub fn generate(spec: &TlsSpec) -> anyhow::Result<CaseTls> {
        let dir = tempfile::tempdir()?;
        let server = pki(dir.path(), "server")?;
        let mut certificates = Vec::new();
        let mut served = BTreeMap::new();
        for cert in &spec.certificates {
            let dns: Vec<&str> = cert.dns.iter().map(String::as_str).collect();
            let files =
                server.server(&cert.name, &dns).map_err(|e| anyhow!("certificate {}: {e}", cert.name))?;
            served.insert(cert.name.clone(), leaf(&files)?);
            certificates.push(CertificatePair {
                certificate_chain: files.certificate_chain,
                private_key: files.private_key,
            });
        }
        let trusted = pki(dir.path(), "clients")?;
        let untrusted = pki(dir.path(), "untrusted")?;
        let mut clients = BTreeMap::new();
        for client in &spec.clients {
            let issuer = if client.trusted { &trusted } else { &untrusted };
            let sans: Vec<&str> = client.sans.iter().map(String::as_str).collect();
            let cn = client.cn.as_deref().unwrap_or(&client.name);
            let files =
                issuer.client(&client.name, cn, &sans).map_err(|e| anyhow!("client {}: {e}", client.name))?;
            clients.insert(client.name.clone(), files);
        }
        let mut listener = ListenerTls::new(certificates);
        if let Some(alpn) = &spec.alpn_protocols {
            listener.alpn_protocols.clone_from(alpn);
        }
        if let Some(auth) = &spec.client_certificates {
            listener.client_ca = Some(trusted.ca().to_path_buf());
            listener.require_client_certificate = auth.require;
        }
        let server_ca = weir_tls::pem::roots(server.ca())?;
        Ok(CaseTls { _dir: dir, server_ca, listener, served, clients })
    }

    /// What listener `main` serves, both hosts' view.
    pub fn listener(&self) -> &ListenerTls {
        &self.listener
    }

    /// The leaf of the listener's certificate `name`.
    pub fn served(&self, name: &str) -> Option<&CertificateDer<'static>> {
        self.served.get(name)
    }

    /// The name of the listener's certificate whose leaf is `der`.
    pub fn served_name(&self, der: &[u8]) -> Option<&str> {
        self.served.iter().find(|(_, c)| c.as_ref() == der).map(|(n, _)| n.as_str())
    }

    /// The client for `request`: trusts the server CA (any name: the request's expectations
    /// say which certificate must be served), offers its ALPN protocols, presents its client
    /// certificate.
    pub fn client_config(&self, request: &RequestTls) -> anyhow::Result<Arc<rustls::ClientConfig>> {
        let provider = weir_tls::provider(&[], "")?;
        let verifier = ChainOnly::new(self.server_ca.clone(), provider.clone())?;
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let mut config = match &request.client_certificate {
            Some(name) => {
                let files =
                    self.clients.get(name).with_context(|| format!("no client certificate `{name}`"))?;
                let read = |p: &Path| std::fs::read(p).with_context(|| p.display().to_string());
                let chain =
                    weir_tls::pem::certificates(&files.certificate_chain, &read(&files.certificate_chain)?)?;
                let key = weir_tls::pem::private_key(&files.private_key, &read(&files.private_key)?)?;
                builder.with_client_auth_cert(chain, key)?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = request.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        // No resumption: every request is a full handshake, so each shows its own certificate.
        config.resumption = rustls::client::Resumption::disabled();
        Ok(Arc::new(config))
    }
}
