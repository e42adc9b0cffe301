//! Certificates as filters and logs see them: the subject as Envoy prints it (RFC 2253), the
//! subject alternative names, digests; and the DNS names a certificate serves, for SNI.

use sha2::{Digest, Sha256};
use weir_http::CertSummary;
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid_registry, oid2abbrev};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

/// What filters see of a DER certificate (`None`: it does not parse).
pub fn summarize(der: &[u8]) -> Option<CertSummary> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut summary = CertSummary {
        subject: rfc2253(cert.subject()),
        sha256: hex::encode(Sha256::digest(der)),
        ..CertSummary::default()
    };
    for name in alt_names(&cert) {
        match name {
            GeneralName::DNSName(dns) => summary.dns_sans.push(dns.to_string()),
            GeneralName::URI(uri) => summary.uri_sans.push(uri.to_string()),
            _ => {}
        }
    }
    Some(summary)
}

fn alt_names<'a>(cert: &'a X509Certificate<'a>) -> Vec<GeneralName<'a>> {
    match cert.subject_alternative_name() {
        Ok(Some(san)) => san.value.general_names.clone(),
        _ => Vec::new(),
    }
}

/// Every subject alternative name of a certificate as text (DNS, URI and email as written,
/// IP addresses in their usual form), for `match_subject_alt_names`.
pub fn alt_name_strings(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else { return Vec::new() };
    alt_names(&cert)
        .into_iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(s) | GeneralName::URI(s) | GeneralName::RFC822Name(s) => Some(s.to_string()),
            GeneralName::IPAddress(bytes) => ip(bytes),
            _ => None,
        })
        .collect()
}

fn ip(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(|b| std::net::Ipv4Addr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes).ok().map(|b| std::net::Ipv6Addr::from(b).to_string()),
        _ => None,
    }
}

/// The DNS names a server certificate answers for: its DNS SANs, or its subject's CN when it
/// has none. Lowercase.
pub fn server_names(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else { return Vec::new() };
    let mut names: Vec<String> = alt_names(&cert)
        .into_iter()
        .filter_map(|n| if let GeneralName::DNSName(d) = n { Some(d.to_ascii_lowercase()) } else { None })
        .collect();
    if names.is_empty() {
        names.extend(
            cert.subject().iter_common_name().filter_map(|cn| cn.as_str().ok()).map(str::to_ascii_lowercase),
        );
    }
    names
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo, base64 (Envoy's `verify_certificate_spki`).
pub fn spki_sha256(der: &[u8]) -> Option<String> {
    use base64::Engine;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(cert.public_key().raw)))
}

/// A name as OpenSSL prints it with `XN_FLAG_RFC2253` (what Envoy shows): the last RDN first,
/// `,` between RDNs, `+` inside one, short attribute names, special characters escaped.
pub fn rfc2253(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let key = oid2abbrev(attr.attr_type(), oid_registry())
                        .map(str::to_string)
                        .unwrap_or_else(|_| attr.attr_type().to_id_string());
                    match attr.as_str() {
                        Ok(value) => format!("{key}={}", escape(value)),
                        Err(_) => format!("{key}=#{}", hex::encode(attr.as_slice())),
                    }
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let edge = (i == 0 && (c == ' ' || c == '#')) || (i == last && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_as_rfc2253() {
        assert_eq!(super::escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(super::escape(" #x "), "\\ #x\\ ");
        assert_eq!(super::escape("#x"), "\\#x");
    }
}
