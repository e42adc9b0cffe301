//! Who an xDS connection proved to be: with `--xds-tls-node-identity`, a node may only use a
//! node id its client certificate names (a URI or DNS subject alternative name), so a proxy
//! holding one certificate cannot pose as another node.

use std::sync::Arc;

use tonic::Status;
use weir_http::TlsInfo;

/// The TLS of a connection, put in request extensions by the gRPC server.
#[derive(Debug, Clone)]
pub struct PeerTls(pub Arc<TlsInfo>);

/// Whether node ids must match the client certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NodeIdentity {
    /// Node ids are taken as sent.
    #[default]
    Claimed,
    /// A node id must be one of the client certificate's URI or DNS SANs.
    FromCertificate,
}

impl NodeIdentity {
    /// Refuses a stream whose `node_id` the connection's certificate does not name.
    pub fn check(self, node_id: &str, peer: Option<&PeerTls>) -> Result<(), Status> {
        if self == NodeIdentity::Claimed {
            return Ok(());
        }
        let Some(cert) = peer.and_then(|p| p.0.peer.as_ref()) else {
            return Err(Status::unauthenticated("a client certificate is needed: node ids come from it"));
        };
        if cert.uri_sans.iter().chain(&cert.dns_sans).any(|name| name == node_id) {
            return Ok(());
        }
        Err(Status::permission_denied(format!(
            "node id {node_id:?} is not a subject alternative name of the client certificate"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_http::CertSummary;

    fn peer(uri: &str) -> PeerTls {
        let cert = CertSummary { uri_sans: vec![uri.into()], ..CertSummary::default() };
        PeerTls(Arc::new(TlsInfo { peer: Some(cert), ..TlsInfo::default() }))
    }

    #[test]
    fn node_ids_must_be_named_by_the_certificate() {
        let p = peer("spiffe://weir/node-a");
        assert!(NodeIdentity::Claimed.check("anything", None).is_ok());
        assert!(NodeIdentity::FromCertificate.check("spiffe://weir/node-a", Some(&p)).is_ok());
        let other = NodeIdentity::FromCertificate.check("spiffe://weir/node-b", Some(&p)).unwrap_err();
        assert_eq!(other.code(), tonic::Code::PermissionDenied);
        let none = NodeIdentity::FromCertificate.check("x", None).unwrap_err();
        assert_eq!(none.code(), tonic::Code::Unauthenticated);
    }
}
