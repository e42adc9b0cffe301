//! Shared by the SDS tests: a test PKI, weir-cp in-process, secrets from PEM files, and a
//! TLS client that reports the certificate it was shown.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use weir_cp::{ControlPlane, SecretConfig, ServerConfig};
use weir_testing::echo::EchoServer;
use weir_tls::CertificateFiles;
use weir_tls::test_pki::Pki;

/// A PKI with two certificates for `web.example`, an echo upstream, and weir-cp in-process.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub pki: Pki,
    pub a: CertificateFiles,
    pub b: CertificateFiles,
    pub echo: EchoServer,
    pub rt: tokio::runtime::Runtime,
    pub cp: ControlPlane,
}

/// A new [`Setup`].
pub fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "sds").unwrap();
    let a = pki.server("a", &["web.example"]).unwrap();
    let b = pki.server("b", &["web.example"]).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let cp = rt.block_on(ControlPlane::start(ServerConfig::local())).unwrap();
    Setup { dir, pki, a, b, echo: EchoServer::start().unwrap(), rt, cp }
}

/// A PEM file's text.
pub fn pem(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// A certificate secret: `cert`'s chain with `key`'s key.
pub fn secret(cert: &CertificateFiles, key: &CertificateFiles) -> SecretConfig {
    SecretConfig::certificate(pem(&cert.certificate_chain), pem(&key.private_key))
}

/// The leaf certificate's DER.
pub fn der(files: &CertificateFiles) -> Vec<u8> {
    let chain = std::fs::read(&files.certificate_chain).unwrap();
    weir_tls::pem::certificates(&files.certificate_chain, &chain).unwrap()[0].to_vec()
}

/// A TLS client trusting `ca`, without session resumption (a resumed session would show the
/// certificate of the session it resumes).
pub fn client(ca: &Path) -> Arc<rustls::ClientConfig> {
    let mut config = Arc::unwrap_or_clone(weir_tls::test_pki::client_config(ca, &[], None).unwrap());
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// One HTTP/1.1 request on a new TLS connection: the status and the server's leaf certificate.
pub async fn get(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> Result<(u16, Vec<u8>), String> {
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from("web.example").unwrap();
    let tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|e| e.to_string())?;
    let cert =
        tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()).unwrap_or_default();
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let request =
        http::Request::get("/").header("host", "web.example").body(Full::new(Bytes::new())).unwrap();
    let response = send.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    response.into_body().collect().await.map_err(|e| e.to_string())?;
    Ok((status, cert))
}
