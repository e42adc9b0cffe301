//! The crypto provider (aws-lc-rs, `docs/security.md` "TLS" says why) narrowed to the cipher
//! suites and versions a configuration allows.

use std::sync::Arc;

use rustls::SupportedProtocolVersion;
use rustls::crypto::CryptoProvider;

use crate::config::TlsVersion;
use crate::error::TlsError;

/// aws-lc-rs's provider keeping only the suites named in `cipher_suites` (all when empty).
/// `field` prefixes errors (`listeners[0].tls.cipher_suites`).
pub fn provider(cipher_suites: &[String], field: &str) -> Result<Arc<CryptoProvider>, TlsError> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if !cipher_suites.is_empty() {
        let known: Vec<String> = provider.cipher_suites.iter().map(|s| format!("{:?}", s.suite())).collect();
        for name in cipher_suites {
            if !known.contains(name) {
                return Err(TlsError::setting(
                    format!("{field}.cipher_suites"),
                    format!("unknown or unsupported suite {name:?} (supported: {})", known.join(", ")),
                ));
            }
        }
        provider.cipher_suites.retain(|s| cipher_suites.contains(&format!("{:?}", s.suite())));
    }
    Ok(Arc::new(provider))
}

/// The versions from `min` to `max`.
pub fn versions(
    min: TlsVersion,
    max: TlsVersion,
    field: &str,
) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
    if min > max {
        return Err(TlsError::setting(format!("{field}.min_version"), "is above max_version"));
    }
    let mut out = Vec::new();
    if max >= TlsVersion::Tls13 {
        out.push(&rustls::version::TLS13);
    }
    if min <= TlsVersion::Tls12 {
        out.push(&rustls::version::TLS12);
    }
    Ok(out)
}

/// `TLSv1.2` / `TLSv1.3`, as Envoy names a connection's version.
pub fn version_name(version: Option<rustls::ProtocolVersion>) -> &'static str {
    match version {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
        _ => "",
    }
}
