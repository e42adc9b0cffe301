//! SDS: `Secret` resources turned into TLS material for listeners. weir takes secrets inline
//! (PEM as `inline_string` or `inline_bytes`, as weir-cp serves them) and only what it
//! honours: a `tls_certificate` with `certificate_chain` and `private_key`, or a
//! `validation_context` with `trusted_ca`. Anything else, and material that does not load
//! (bad PEM, a key that does not match its certificate), refuses the whole response.

use envoy_types::pb::envoy::config::core::v3::{DataSource, data_source};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateValidationContext, Secret as PbSecret, TlsCertificate, secret,
};
use envoy_types::pb::google::protobuf::Any;
use weir_tls::Secret;
use weir_xds::convert as any;

/// Decodes one response: `(name, material)` per resource, each checked, or why not.
/// `subscribed` are the secret names asked for; anything else is refused.
pub fn decode(resources: &[Any], subscribed: &[String]) -> Result<Vec<(String, Secret)>, String> {
    resources.iter().map(|resource| one(resource, subscribed)).collect()
}

fn one(resource: &Any, subscribed: &[String]) -> Result<(String, Secret), String> {
    let PbSecret { name, r#type } = any::unpack(resource).map_err(|e| e.to_string())?;
    if !subscribed.contains(&name) {
        return Err(format!("secret `{name}` was not subscribed to"));
    }
    let at = |e: String| format!("SDS secret `{name}`: {e}");
    let secret = match r#type {
        Some(secret::Type::TlsCertificate(tls)) => {
            let TlsCertificate { certificate_chain, private_key, .. } = tls.clone();
            let bare = TlsCertificate {
                certificate_chain: certificate_chain.clone(),
                private_key: private_key.clone(),
                ..TlsCertificate::default()
            };
            if tls != bare {
                return Err(at(
                    "tls_certificate: only certificate_chain and private_key are supported".into()
                ));
            }
            Secret::TlsCertificate {
                certificate_chain: inline(certificate_chain, "tls_certificate.certificate_chain")
                    .map_err(at)?,
                private_key: inline(private_key, "tls_certificate.private_key").map_err(at)?,
            }
        }
        Some(secret::Type::ValidationContext(context)) => {
            let bare =
                CertificateValidationContext { trusted_ca: context.trusted_ca.clone(), ..Default::default() };
            if context != bare {
                return Err(at("validation_context: only trusted_ca is supported".into()));
            }
            Secret::ValidationContext {
                trusted_ca: inline(context.trusted_ca, "validation_context.trusted_ca").map_err(at)?,
            }
        }
        Some(_) | None => {
            return Err(at("only tls_certificate and validation_context secrets are supported".into()));
        }
    };
    secret.check(&name).map_err(|e| e.to_string())?;
    Ok((name, secret))
}

/// The PEM of an inline data source.
fn inline(source: Option<DataSource>, field: &str) -> Result<Vec<u8>, String> {
    match source.and_then(|s| s.specifier) {
        Some(data_source::Specifier::InlineString(text)) => Ok(text.into_bytes()),
        Some(data_source::Specifier::InlineBytes(bytes)) => Ok(bytes),
        Some(_) => Err(format!("{field}: only inline_string and inline_bytes are supported")),
        None => Err(format!("{field} is missing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Option<DataSource> {
        Some(DataSource {
            specifier: Some(data_source::Specifier::InlineString(text.into())),
            ..Default::default()
        })
    }

    fn certificate(name: &str, tls: TlsCertificate) -> Any {
        any::pack(&PbSecret { name: name.into(), r#type: Some(secret::Type::TlsCertificate(tls)) })
    }

    #[test]
    fn refuses_what_weir_cannot_honour() {
        let names = vec!["web".to_string()];
        let tls =
            TlsCertificate { certificate_chain: source("C"), private_key: source("K"), ..Default::default() };
        assert!(decode(&[certificate("other", tls.clone())], &names).unwrap_err().contains("not subscribed"));
        let e = decode(&[certificate("web", tls.clone())], &names).unwrap_err();
        assert!(e.starts_with("SDS secret `web`: certificate_chain"), "{e}");
        let password = TlsCertificate { password: source("p"), ..tls.clone() };
        assert!(
            decode(&[certificate("web", password)], &names).unwrap_err().contains("only certificate_chain")
        );
        let file = Some(DataSource {
            specifier: Some(data_source::Specifier::Filename("/k".into())),
            ..Default::default()
        });
        let e =
            decode(&[certificate("web", TlsCertificate { private_key: file, ..tls })], &names).unwrap_err();
        assert!(e.contains("private_key: only inline"), "{e}");
        let empty = any::pack(&PbSecret { name: "web".into(), r#type: None });
        assert!(decode(&[empty], &names).unwrap_err().contains("only tls_certificate"));
    }
}
