//! TLS upstreams for a case's clusters with `tls`: for each, a TLS server in front of the echo
//! server (the TLS ends there, the bytes go on to the echo server as they are) presenting a
//! certificate generated for the run by an upstream CA, and the cluster's TLS settings —
//! that CA, the SNI, the SANs to accept — both hosts get.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::anyhow;
use serde::Deserialize;
use weir_testkit::twin::ClusterTls;
use weir_tls::test_pki::Pki;

use super::case::Case;

/// A cluster's `tls` in `case.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTlsSpec {
    /// DNS SANs of the certificate the upstream presents.
    pub certificate: Vec<String>,
    /// SANs the cluster accepts (exact DNS names), at least one.
    pub verify_subject_alt_name: Vec<String>,
    /// SNI the cluster sends.
    #[serde(default)]
    pub sni: Option<String>,
}

/// A TLS server relaying to a plaintext one; stops on drop.
struct Front {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn front(config: Arc<rustls::ServerConfig>, backend: SocketAddr) -> anyhow::Result<Front> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    Ok(Front { addr, task })
}

/// The TLS upstreams of a run.
pub struct TlsUpstreams {
    _dir: Option<tempfile::TempDir>,
    fronts: Vec<(String, Front, ClusterTls)>,
}

impl TlsUpstreams {
    /// One in front of `echo` for each cluster of `case` with `tls`.
    pub async fn start(case: &Case, echo: SocketAddr) -> anyhow::Result<TlsUpstreams> {
        if case.clusters.iter().all(|c| c.tls.is_none()) {
            return Ok(TlsUpstreams { _dir: None, fronts: Vec::new() });
        }
        let dir = tempfile::tempdir()?;
        let pki = Pki::new(dir.path(), "upstream").map_err(|e| anyhow!("upstream CA: {e}"))?;
        let mut fronts = Vec::new();
        for cluster in &case.clusters {
            let Some(spec) = &cluster.tls else { continue };
            let dns: Vec<&str> = spec.certificate.iter().map(String::as_str).collect();
            let files =
                pki.server(&cluster.name, &dns).map_err(|e| anyhow!("cluster {}: {e}", cluster.name))?;
            let (chain_file, key_file) = (&files.certificate_chain, &files.private_key);
            let chain = weir_tls::pem::certificates(chain_file, &std::fs::read(chain_file)?)?;
            let key = weir_tls::pem::private_key(key_file, &std::fs::read(key_file)?)?;
            let config = rustls::ServerConfig::builder_with_provider(weir_tls::provider(&[], "")?)
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_single_cert(chain, key)?;
            let tls = ClusterTls {
                trusted_ca: pki.ca().to_path_buf(),
                sni: spec.sni.clone(),
                verify_subject_alt_name: spec.verify_subject_alt_name.clone(),
            };
            fronts.push((cluster.name.clone(), front(Arc::new(config), echo).await?, tls));
        }
        Ok(TlsUpstreams { _dir: Some(dir), fronts })
    }

    /// Where cluster `name` points and its TLS, when it has `tls`.
    pub fn endpoints(&self) -> Vec<(String, SocketAddr, ClusterTls)> {
        self.fronts.iter().map(|(n, f, t)| (n.clone(), f.addr, t.clone())).collect()
    }
}
