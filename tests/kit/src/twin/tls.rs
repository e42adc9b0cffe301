//! TLS in a [`super::Twin`]: a listener's (weir's `tls`, Envoy's `DownstreamTlsContext` on the
//! filter chain) and a cluster's (weir's `tls`, Envoy's `UpstreamTlsContext` on the cluster),
//! from PEM files both proxies read.

use std::path::PathBuf;

use serde_json::{Value, json};

/// A certificate chain (leaf first) and its private key, PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePair {
    /// The chain.
    pub certificate_chain: PathBuf,
    /// The key.
    pub private_key: PathBuf,
}

/// A listener's TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerTls {
    /// Certificates, chosen by SNI; the first serves clients whose SNI none names, and clients
    /// without SNI (both proxies' rule).
    pub certificates: Vec<CertificatePair>,
    /// Protocols offered by ALPN, in preference order. Always written out: weir's default
    /// (`h2`, `http/1.1`) and Envoy's (no ALPN) differ.
    pub alpn_protocols: Vec<String>,
    /// Ask clients for a certificate chaining to this CA bundle.
    pub client_ca: Option<PathBuf>,
    /// With `client_ca`: refuse the handshake of a client that presents none.
    pub require_client_certificate: bool,
}

impl ListenerTls {
    /// Serves `certificates`, offers `h2` then `http/1.1`, asks for no client certificate.
    pub fn new(certificates: Vec<CertificatePair>) -> ListenerTls {
        ListenerTls {
            certificates,
            alpn_protocols: vec!["h2".into(), "http/1.1".into()],
            client_ca: None,
            require_client_certificate: false,
        }
    }

    /// weir's listener `tls`.
    pub fn weir(&self) -> Value {
        let certificates: Vec<Value> = self
            .certificates
            .iter()
            .map(|c| json!({"certificate_chain": c.certificate_chain, "private_key": c.private_key}))
            .collect();
        let mut tls = json!({"certificates": certificates, "alpn_protocols": self.alpn_protocols});
        if let Some(ca) = &self.client_ca {
            tls["client_certificates"] =
                json!({"trusted_ca": ca, "require": self.require_client_certificate});
        }
        tls
    }

    /// Envoy's filter-chain `transport_socket` (a `DownstreamTlsContext`).
    pub fn envoy(&self) -> Value {
        let certificates: Vec<Value> = self
            .certificates
            .iter()
            .map(|c| {
                json!({
                    "certificate_chain": {"filename": c.certificate_chain},
                    "private_key": {"filename": c.private_key},
                })
            })
            .collect();
        let mut common = json!({"tls_certificates": certificates, "alpn_protocols": self.alpn_protocols});
        let mut context = json!({
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        });
        if let Some(ca) = &self.client_ca {
            common["validation_context"] = json!({"trusted_ca": {"filename": ca}});
            context["require_client_certificate"] = json!(self.require_client_certificate);
        }
        context["common_tls_context"] = common;
        json!({"name": "envoy.transport_sockets.tls", "typed_config": context})
    }
}

/// Envoy's TLS inspector, on every TLS listener: without it Envoy does not record the
/// client's SNI (`connection.requested_server_name` is empty), which weir always does.
pub(super) fn tls_inspector() -> Value {
    json!({"name": "envoy.filters.listener.tls_inspector", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
    }})
}

/// A cluster's TLS: the server's certificate must chain to `trusted_ca` and carry one of
/// `verify_subject_alt_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterTls {
    /// The CA bundle the server's certificate must chain to.
    pub trusted_ca: PathBuf,
    /// SNI sent (none when unset).
    pub sni: Option<String>,
    /// DNS SANs accepted (exact), at least one: with none Envoy checks only the chain while
    /// weir checks the endpoint's address, so the two would not agree.
    pub verify_subject_alt_name: Vec<String>,
}

impl ClusterTls {
    /// weir's cluster `tls`.
    pub fn weir(&self) -> Value {
        let mut tls = json!({
            "trusted_ca": self.trusted_ca,
            "verify_subject_alt_name": self.verify_subject_alt_name,
        });
        if let Some(sni) = &self.sni {
            tls["sni"] = json!(sni);
        }
        tls
    }

    /// Envoy's cluster `transport_socket` (an `UpstreamTlsContext`), offering TLS 1.2 and 1.3
    /// as weir does by default (Envoy's own default for upstreams stops at TLS 1.2).
    pub fn envoy(&self) -> Value {
        let sans: Vec<Value> = self
            .verify_subject_alt_name
            .iter()
            .map(|s| json!({"san_type": "DNS", "matcher": {"exact": s}}))
            .collect();
        let mut context = json!({
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
            "common_tls_context": {
                "tls_params": {"tls_minimum_protocol_version": "TLSv1_2", "tls_maximum_protocol_version": "TLSv1_3"},
                "validation_context": {
                    "trusted_ca": {"filename": self.trusted_ca},
                    "match_typed_subject_alt_names": sans,
                },
            },
        });
        if let Some(sni) = &self.sni {
            context["sni"] = json!(sni);
        }
        json!({"name": "envoy.transport_sockets.tls", "typed_config": context})
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn pair(name: &str) -> CertificatePair {
        CertificatePair {
            certificate_chain: format!("/pki/{name}.pem").into(),
            private_key: format!("/pki/{name}.key").into(),
        }
    }

    #[test]
    fn a_listener_with_client_certificates_in_both_schemas() {
        let tls = ListenerTls {
            client_ca: Some("/pki/clients.pem".into()),
            require_client_certificate: true,
            ..ListenerTls::new(vec![pair("a"), pair("b")])
        };
        let weir = tls.weir();
        assert_eq!(weir["certificates"][1]["certificate_chain"], "/pki/b.pem");
        assert_eq!(weir["alpn_protocols"], json!(["h2", "http/1.1"]));
        assert_eq!(weir["client_certificates"], json!({"trusted_ca": "/pki/clients.pem", "require": true}));
        let envoy = &tls.envoy()["typed_config"];
        assert_eq!(envoy["require_client_certificate"], true);
        let common = &envoy["common_tls_context"];
        assert_eq!(common["tls_certificates"][0]["private_key"]["filename"], "/pki/a.key");
        assert_eq!(common["alpn_protocols"], json!(["h2", "http/1.1"]));
        assert_eq!(common["validation_context"]["trusted_ca"]["filename"], "/pki/clients.pem");
    }

    #[test]
    fn a_listener_without_client_certificates_asks_for_none() {
        let tls = ListenerTls::new(vec![pair("a")]);
        assert!(tls.weir().get("client_certificates").is_none());
        let envoy = &tls.envoy()["typed_config"];
        assert!(envoy.get("require_client_certificate").is_none());
        assert!(envoy["common_tls_context"].get("validation_context").is_none());
    }

    #[test]
    fn a_cluster_verifies_the_same_names_in_both_schemas() {
        let tls = ClusterTls {
            trusted_ca: "/pki/ca.pem".into(),
            sni: Some("up.example".into()),
            verify_subject_alt_name: vec!["up.example".into()],
        };
        assert_eq!(
            tls.weir(),
            json!({"trusted_ca": "/pki/ca.pem", "sni": "up.example", "verify_subject_alt_name": ["up.example"]})
        );
        let envoy = &tls.envoy()["typed_config"];
        assert_eq!(envoy["sni"], "up.example");
        let validation = &envoy["common_tls_context"]["validation_context"];
        assert_eq!(validation["match_typed_subject_alt_names"][0]["matcher"]["exact"], "up.example");
        assert_eq!(validation["trusted_ca"]["filename"], "/pki/ca.pem");
        let params = &envoy["common_tls_context"]["tls_params"];
        assert_eq!(params["tls_maximum_protocol_version"], "TLSv1_3", "weir's default, not Envoy's");
    }
}
