//! A listener's certificates and the choice among them by SNI.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use weir_http::CertSummary;

use crate::error::TlsError;
use crate::material::CertMaterial;
use crate::summary;

/// Certificates with the DNS names each serves; the first is the default.
#[derive(Debug)]
pub struct CertSet {
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    names: Vec<String>,
    key: Arc<CertifiedKey>,
    summary: CertSummary,
}

impl CertSet {
    /// Parses every chain and key; `field` prefixes errors.
    pub(crate) fn load(
        files: &[CertMaterial],
        provider: &CryptoProvider,
        field: &str,
    ) -> Result<CertSet, TlsError> {
        if files.is_empty() {
            return Err(TlsError::setting(
                format!("{field}.certificates"),
                "at least one certificate is needed",
            ));
        }
        let mut entries = Vec::with_capacity(files.len());
        for f in files {
            let key = f.certified_key(provider)?;
            let leaf = key.cert.first().map(|c| c.as_ref()).unwrap_or_default();
            let names = summary::server_names(leaf);
            let summary = summary::summarize(leaf).unwrap_or_default();
            entries.push(Entry { names, key: Arc::new(key), summary });
        }
        Ok(CertSet { entries })
    }

    /// The certificate for `server_name`: one naming it exactly, else one with a `*.` wildcard
    /// covering it (one label), else the first.
    pub fn select(&self, server_name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        self.entry(server_name).map(|e| e.key.clone())
    }

    /// What filters see of the certificate [`select`](CertSet::select) picks.
    pub fn summary(&self, server_name: Option<&str>) -> Option<CertSummary> {
        self.entry(server_name).map(|e| e.summary.clone())
    }

    fn entry(&self, server_name: Option<&str>) -> Option<&Entry> {
        if let Some(name) = server_name.map(str::to_ascii_lowercase) {
            let exact = self.entries.iter().find(|e| e.names.contains(&name));
            let wildcard = || {
                let parent = name.split_once('.').map(|(_, rest)| rest)?;
                self.entries.iter().find(|e| {
                    e.names.iter().any(|n| n.strip_prefix("*.").is_some_and(|suffix| suffix == parent))
                })
            };
            if let Some(entry) = exact.or_else(wildcard) {
                return Some(entry);
            }
        }
        self.entries.first()
    }
}

impl ResolvesServerCert for CertSet {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.select(hello.server_name())
    }
}
