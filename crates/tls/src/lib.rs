//! # weir-tls
//!
//! TLS for weir (listeners and clusters; later xDS and admin) on rustls with the aws-lc-rs
//! provider; no OpenSSL. `docs/security.md` ("TLS") gives the defaults and why this provider.
//!
//! - [`config`]: the `tls` sections of `weir.yaml`, named after Envoy's TLS contexts.
//! - [`ServerTls`]: a listener's TLS: certificates chosen by SNI ([`CertSet`]), ALPN,
//!   versions and suites, client certificates with pins, session resumption; rebuilt when its
//!   files change or its SDS secrets ([`Secrets`]) are replaced, an invalid new set refused
//!   with the reason and the running one kept.
//! - [`secret`]: TLS material in memory by name (Envoy's SDS `Secret`), checked before use.
//! - [`ClientTls`]: a cluster's TLS: the server's certificate verified (CA bundle or the
//!   system's roots, server name or SAN list, pins), SNI, ALPN, a client certificate.
//! - [`summary`]: certificates as filters see them (Envoy's `connection.*` properties).
//!
//! PEM files are read whole and capped ([`pem::MAX_PEM_BYTES`]); keys never leave memory.

mod alpn;
mod certs;
mod client;
pub mod config;
mod error;
mod material;
pub mod pem;
mod pins;
mod provider;
pub mod secret;
mod server;
mod server_verify;
mod source;
pub mod summary;
#[cfg(feature = "test-pki")]
pub mod test_pki;
mod verify;

pub use certs::CertSet;
pub use client::{ClientTls, files_digest};
pub use config::{
    CertificateFiles, CertificateSource, ClientCertificates, DownstreamTls, TlsVersion, UpstreamTls,
};
pub use error::TlsError;
pub use pins::Pins;
pub use provider::{provider, version_name, versions};
pub use secret::{Secret, SecretMap, Secrets};
pub use server::ServerTls;
/// A client TLS stream, as [`ClientTls::connect`] returns it.
pub use tokio_rustls::client::TlsStream as ClientStream;
