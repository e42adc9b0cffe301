//! The TLS sections of `weir.yaml`, named after Envoy's `DownstreamTlsContext` and
//! `UpstreamTlsContext` (`docs/config.md`, "TLS").

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::source::{CertificateFiles, CertificateSource};

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub enum TlsVersion {
    /// TLS 1.2.
    #[serde(rename = "TLSv1_2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "TLSv1_3")]
    Tls13,
}

/// What a listener asks of client certificates (Envoy's `validation_context` with
/// `require_client_certificate`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCertificates {
    /// PEM bundle of the CAs a client certificate must chain to (Envoy's `trusted_ca`). Exactly
    /// one of `trusted_ca` and `trusted_ca_sds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_ca: Option<PathBuf>,
    /// The same bundle from the control plane: the name of an SDS secret holding a
    /// `validation_context` (Envoy's `validation_context_sds_secret_config` with
    /// `sds_config: {ads: {}}`). Needs `xds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_ca_sds: Option<String>,
    /// Refuse the handshake of a client without a certificate. When `false` a client may
    /// present none (its requests see `connection.mtls` false), but one it presents must be
    /// valid. Default `true`.
    #[serde(default = "yes")]
    pub require: bool,
    /// Accept only certificates with one of these subject alternative names (DNS, URI, email
    /// or IP, compared exactly). Empty: any name.
    #[serde(default)]
    pub match_subject_alt_names: Vec<String>,
    /// Accept only certificates whose SubjectPublicKeyInfo has one of these SHA-256 digests,
    /// base64 (Envoy's `verify_certificate_spki`). Empty: any key.
    #[serde(default)]
    pub verify_certificate_spki: Vec<String>,
    /// Accept only these certificates: SHA-256 of the DER, hex, colons allowed (Envoy's
    /// `verify_certificate_hash`). Empty: any certificate.
    #[serde(default)]
    pub verify_certificate_hash: Vec<String>,
}

/// A listener's TLS (Envoy's `DownstreamTlsContext`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DownstreamTls {
    /// The listener's certificates, each either files (`certificate_chain` and `private_key`)
    /// or `{ sds: NAME }`, an SDS secret from the control plane (Envoy's
    /// `tls_certificate_sds_secret_configs` with `sds_config: {ads: {}}`; needs `xds`). The one
    /// presented is chosen by the client's SNI against each certificate's DNS names (an exact
    /// name first, then a `*.` wildcard); without a match, or without SNI, the first one.
    pub certificates: Vec<CertificateSource>,
    /// Protocols offered by ALPN, in preference order. Default `[h2, http/1.1]`; a client that
    /// asks for none speaks HTTP/1.1.
    #[serde(default = "default_alpn")]
    pub alpn_protocols: Vec<String>,
    /// Lowest version accepted. Default `TLSv1_2`.
    #[serde(default = "min_default")]
    pub min_version: TlsVersion,
    /// Highest version accepted. Default `TLSv1_3`.
    #[serde(default = "max_default")]
    pub max_version: TlsVersion,
    /// Cipher suites allowed, by IANA name (`TLS13_AES_128_GCM_SHA256`,
    /// `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`, ...). Empty (the default): the provider's
    /// defaults, all AEAD with forward secrecy.
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    /// Client certificates: omit for none (one-way TLS).
    #[serde(default)]
    pub client_certificates: Option<ClientCertificates>,
    /// Resume sessions (stateless tickets, keys rotated every 6 hours, and a 256-entry session
    /// cache). Default `true`.
    #[serde(default = "yes")]
    pub session_resumption: bool,
    /// How often the certificate files are checked for changes; a changed, valid set is used
    /// by new handshakes at once (an invalid one is refused and logged, the old set kept).
    /// `0s` checks only on reload (`SIGHUP`, `POST /reload`). Default `1s`.
    #[serde(default = "default_watch", with = "weir_plugin_spec::duration")]
    pub watch_interval: Duration,
}

impl DownstreamTls {
    /// `certificates` with every other field at its default.
    pub fn new(certificates: Vec<CertificateFiles>) -> DownstreamTls {
        DownstreamTls {
            certificates: certificates.into_iter().map(CertificateSource::Files).collect(),
            alpn_protocols: default_alpn(),
            min_version: min_default(),
            max_version: max_default(),
            cipher_suites: Vec::new(),
            client_certificates: None,
            session_resumption: true,
            watch_interval: default_watch(),
        }
    }
}

impl DownstreamTls {
    /// Every file path (certificates, keys, CA bundle), to resolve relative ones.
    pub fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        let mut paths: Vec<&mut PathBuf> = Vec::new();
        for c in &mut self.certificates {
            if let CertificateSource::Files(c) = c {
                paths.push(&mut c.certificate_chain);
                paths.push(&mut c.private_key);
            }
        }
        if let Some(ca) = self.client_certificates.as_mut().and_then(|c| c.trusted_ca.as_mut()) {
            paths.push(ca);
        }
        paths
    }

    /// The SDS secrets the settings name (certificates, then the client CA), in order.
    pub fn sds_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.certificates.iter().filter_map(CertificateSource::sds).collect();
        names.extend(self.client_certificates.as_ref().and_then(|c| c.trusted_ca_sds.as_deref()));
        names
    }
}

impl ClientCertificates {
    /// Required certificates from `trusted_ca`, without pins.
    pub fn new(trusted_ca: PathBuf) -> ClientCertificates {
        ClientCertificates {
            trusted_ca: Some(trusted_ca),
            trusted_ca_sds: None,
            require: true,
            match_subject_alt_names: Vec::new(),
            verify_certificate_spki: Vec::new(),
            verify_certificate_hash: Vec::new(),
        }
    }
}

/// A cluster's TLS (Envoy's `UpstreamTlsContext`). Unlike Envoy, the server's certificate is
/// always verified: against `trusted_ca` or the system's roots, and for the server name (or
/// for `verify_subject_alt_name` when set). `docs/config.md` ("Upstream TLS") and
/// `docs/security.md` ("TLS") give the differences.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTls {
    /// Server name sent in SNI and checked against the certificate. Default: the endpoint's
    /// hostname when it is written as `hostname:port`; for an `ip:port` endpoint no SNI is
    /// sent and the certificate must name the IP address (or match `verify_subject_alt_name`).
    #[serde(default)]
    pub sni: Option<String>,
    /// PEM bundle of the CAs the server's certificate must chain to (Envoy's `trusted_ca`).
    /// Omitted: the system's roots (an error when none can be loaded).
    #[serde(default)]
    pub trusted_ca: Option<PathBuf>,
    /// Accept only a certificate with one of these subject alternative names (DNS, URI, email
    /// or IP, compared exactly); when set it replaces the check of the server name (the chain
    /// is still verified), as Envoy's `match_typed_subject_alt_names` with `exact`.
    #[serde(default)]
    pub verify_subject_alt_name: Vec<String>,
    /// Accept only a server key with one of these SHA-256 SPKI digests, base64 (Envoy's
    /// `verify_certificate_spki`). Empty: any key.
    #[serde(default)]
    pub verify_certificate_spki: Vec<String>,
    /// Accept only these server certificates: SHA-256 of the DER, hex, colons allowed (Envoy's
    /// `verify_certificate_hash`). Empty: any certificate.
    #[serde(default)]
    pub verify_certificate_hash: Vec<String>,
    /// Certificate presented to a server that asks for one (mutual TLS). Omitted: none.
    #[serde(default)]
    pub client_certificate: Option<CertificateFiles>,
    /// Protocols offered by ALPN, in preference order. Default: `[h2]` for an `http2`
    /// cluster, else `[http/1.1]`. A connection that agrees on `h2` speaks HTTP/2.
    #[serde(default)]
    pub alpn_protocols: Option<Vec<String>>,
    /// Lowest version offered. Default `TLSv1_2`.
    #[serde(default = "min_default")]
    pub min_version: TlsVersion,
    /// Highest version offered. Default `TLSv1_3`.
    #[serde(default = "max_default")]
    pub max_version: TlsVersion,
    /// Cipher suites offered, by IANA name. Empty (the default): the provider's defaults.
    #[serde(default)]
    pub cipher_suites: Vec<String>,
}

impl Default for UpstreamTls {
    /// Verification against the system's roots and the endpoint's name; no client certificate.
    fn default() -> Self {
        UpstreamTls {
            sni: None,
            trusted_ca: None,
            verify_subject_alt_name: Vec::new(),
            verify_certificate_spki: Vec::new(),
            verify_certificate_hash: Vec::new(),
            client_certificate: None,
            alpn_protocols: None,
            min_version: min_default(),
            max_version: max_default(),
            cipher_suites: Vec::new(),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_alpn() -> Vec<String> {
    vec!["h2".to_string(), "http/1.1".to_string()]
}

fn min_default() -> TlsVersion {
    TlsVersion::Tls12
}

fn max_default() -> TlsVersion {
    TlsVersion::Tls13
}

fn default_watch() -> Duration {
    Duration::from_secs(1)
}
