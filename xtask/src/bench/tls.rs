//! TLS for the benchmark's TLS scenarios: a test CA and a server certificate for `localhost`
//! and `127.0.0.1` generated into the work directory at each run (never committed), served
//! by both proxies from the same files; and the HTTPS request that checks a proxy's answer
//! before measuring (wrk itself does not verify certificates).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use weir_testkit::http::{self, Response};
use weir_testkit::twin::CertificatePair;
use weir_tls::test_pki::{self, Pki};

/// The certificate both proxies serve, and a client that trusts it.
pub struct BenchTls {
    /// The server certificate's files.
    pub server: CertificatePair,
    client: Arc<rustls::ClientConfig>,
}

impl BenchTls {
    /// Generates the CA and the server certificate (ECDSA P-256) into `dir`.
    pub fn generate(dir: &Path) -> anyhow::Result<BenchTls> {
        std::fs::create_dir_all(dir)?;
        let pki = Pki::new(dir, "bench").map_err(|e| anyhow::anyhow!("{e}"))?;
        let files = pki.server("server", &["localhost", "127.0.0.1"]).map_err(|e| anyhow::anyhow!("{e}"))?;
        let client =
            test_pki::client_config(pki.ca(), &["http/1.1"], None).map_err(|e| anyhow::anyhow!("{e}"))?;
        let server =
            CertificatePair { certificate_chain: files.certificate_chain, private_key: files.private_key };
        Ok(BenchTls { server, client })
    }

    /// One HTTPS request to `addr` (certificate verified for `localhost`).
    pub fn request(
        &self,
        addr: SocketAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> anyhow::Result<Response> {
        let name = rustls::pki_types::ServerName::try_from("localhost")?;
        let session = rustls::ClientConnection::new(self.client.clone(), name).context("TLS client")?;
        let stream = rustls::StreamOwned::new(session, http::connect(addr)?);
        http::request_over(stream, method, path, headers, body)
    }
}
