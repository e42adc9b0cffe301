//! SDS secrets: the admin API (validation, redaction, delete), the state file, and serving
//! over ADS and the SDS service, with a NACK recorded in the status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Client, Service, wait_status};
use envoy_types::pb::envoy::config::core::v3::data_source;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{Secret, secret};
use http::Method;
use serde_json::{Value, json};
use weir_admin_guard::Token;
use weir_cp::cli::{AdminClient, CliError};
use weir_cp::{ControlPlane, SecretConfig, ServerConfig};
use weir_tls::CertificateFiles;
use weir_tls::test_pki::Pki;
use weir_xds::convert::unpack;
use weir_xds::types::SECRET;

struct Fixture {
    _dir: tempfile::TempDir,
    a: CertificateFiles,
    b: CertificateFiles,
    ca: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "sds").unwrap();
    let (a, b) = (pki.server("a", &["a.test"]).unwrap(), pki.server("b", &["b.test"]).unwrap());
    let ca = std::fs::read_to_string(pki.ca()).unwrap();
    Fixture { _dir: dir, a, b, ca }
}

fn text(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn body(chain: &std::path::Path, key: &std::path::Path) -> Vec<u8> {
    serde_json::to_vec(&json!({"certificate_chain": text(chain), "private_key": text(key)})).unwrap()
}

/// The chain served in a `tls_certificate` secret.
fn served_chain(secret: &Secret) -> String {
    let Some(secret::Type::TlsCertificate(tls)) = &secret.r#type else { panic!("not a certificate") };
    match tls.certificate_chain.as_ref().and_then(|d| d.specifier.clone()) {
        Some(data_source::Specifier::InlineString(s)) => s,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn admin_api_validates_redacts_and_deletes() {
    let f = fixture();
    let token = Token::new("secrets-test-token-0123456789", "test").unwrap();
    let cp = ControlPlane::start(ServerConfig::local().with_token(token.clone())).await.unwrap();
    let admin =
        AdminClient::new(&format!("http://{}", cp.admin_addr().unwrap())).unwrap().with_token(Some(token));
    let change: Value = admin
        .call(Method::PUT, "/secrets/web", Some(body(&f.a.certificate_chain, &f.a.private_key)))
        .await
        .unwrap();
    assert_eq!(change, json!({"changed": true, "version": "1"}));
    let ca = serde_json::to_vec(&json!({"trusted_ca": f.ca})).unwrap();
    let _: Value = admin.call(Method::PUT, "/secrets/clients", Some(ca)).await.unwrap();

    let one: Value = admin.call(Method::GET, "/secrets/web", None).await.unwrap();
    assert_eq!(one["kind"], "tls_certificate");
    assert_eq!(one["certificate_chain"], text(&f.a.certificate_chain));
    let key = text(&f.a.private_key);
    assert_eq!(one["private_key"]["redacted"], true);
    assert_eq!(one["private_key"]["bytes"], key.len());
    let all: Value = admin.call(Method::GET, "/secrets", None).await.unwrap();
    assert_eq!(all["secrets"]["clients"]["kind"], "validation_context");
    assert!(!all.to_string().contains("PRIVATE KEY"), "{all}");
    // No way to see a key: show_secrets is not a parameter here.
    let refused = admin.raw(Method::GET, "/secrets/web?show_secrets=true", None).await;
    assert!(matches!(refused, Err(CliError::Refused { status: 400, .. })), "{refused:?}");

    for (bad, needle) in [
        (body(&f.a.certificate_chain, &f.b.private_key), "does not match"),
        (br#"{"certificate_chain": "x", "private_key": "y"}"#.to_vec(), "certificate_chain"),
        (br#"{"trusted_ca": "x", "private_key": "y"}"#.to_vec(), "give `certificate_chain`"),
        (br#"{"cert": "x"}"#.to_vec(), "unknown field"),
    ] {
        match admin.raw(Method::PUT, "/secrets/web", Some(bad)).await {
            Err(CliError::Refused { status, message }) => {
                assert_eq!(status, 400, "{message}");
                assert!(message.contains(needle), "{needle}: {message}");
            }
            other => panic!("{needle}: expected a refusal, got {other:?}"),
        }
    }
    let big = serde_json::to_vec(&json!({"trusted_ca": "A".repeat(weir_cp::secret::MAX_SECRET_BYTES + 1)}))
        .unwrap();
    assert!(matches!(
        admin.raw(Method::PUT, "/secrets/big", Some(big)).await,
        Err(CliError::Refused { status: 400, .. })
    ));
    // Unchecked (for NACK tests): stored, shape still checked.
    let mismatch = body(&f.a.certificate_chain, &f.b.private_key);
    let _: Value = admin.call(Method::PUT, "/secrets/odd?validate=false", Some(mismatch)).await.unwrap();

    let status: Value = admin.call(Method::GET, "/status", None).await.unwrap();
    assert_eq!(status["versions"]["sds"], "3");
    let _: Value = admin.call(Method::DELETE, "/secrets/web", None).await.unwrap();
    assert!(matches!(
        admin.raw(Method::GET, "/secrets/web", None).await,
        Err(CliError::Refused { status: 404, .. })
    ));
    assert!(matches!(
        admin.raw(Method::DELETE, "/secrets/web", None).await,
        Err(CliError::Refused { status: 404, .. })
    ));
    cp.shutdown().await;
}

#[tokio::test]
async fn secrets_survive_a_restart_in_a_private_state_file() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("cp.json");
    let cp = ControlPlane::start(ServerConfig { state_file: Some(state.clone()), ..ServerConfig::local() })
        .await
        .unwrap();
    let secret = SecretConfig::certificate(text(&f.a.certificate_chain), text(&f.a.private_key));
    cp.store().put_secret("web", secret.clone(), true).unwrap();
    cp.shutdown().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let cp = ControlPlane::start(ServerConfig { state_file: Some(state.clone()), ..ServerConfig::local() })
        .await
        .unwrap();
    assert_eq!(cp.store().snapshot().secrets.resources["web"].value, secret);
    cp.shutdown().await;
}

#[tokio::test]
async fn served_over_ads_and_sds_and_nacks_are_recorded() -> anyhow::Result<()> {
    let f = fixture();
    let cp = ControlPlane::start(ServerConfig::local()).await?;
    cp.store().put_secret(
        "web",
        SecretConfig::certificate(text(&f.a.certificate_chain), text(&f.a.private_key)),
        true,
    )?;
    cp.store().put_secret("other", SecretConfig::trusted_ca(f.ca.clone()), true)?;

    let mut ads = Client::open(cp.xds_addr(), Service::Ads, "weir-1").await?;
    ads.send(SECRET, &["web"], "", "", None).await;
    let first = ads.recv().await?;
    assert_eq!(
        (first.type_url.as_str(), first.version_info.as_str(), first.resources.len()),
        (SECRET, "2", 1)
    );
    let served: Secret = unpack(&first.resources[0])?;
    assert_eq!((served.name.as_str(), served_chain(&served)), ("web", text(&f.a.certificate_chain)));
    ads.ack(&first, &["web"]).await;
    wait_status(&cp, "weir-1", "sds", "the SDS ACK", |t| t.acked.is_some()).await?;

    // A change to a secret not subscribed to is not pushed; one to `web` is.
    cp.store().put_secret("other", SecretConfig::trusted_ca(format!("{}\n", f.ca)), true)?;
    cp.store().put_secret(
        "web",
        SecretConfig::certificate(text(&f.b.certificate_chain), text(&f.b.private_key)),
        true,
    )?;
    let second = ads.recv().await?;
    assert_eq!(second.version_info, "4");
    assert_eq!(served_chain(&unpack(&second.resources[0])?), text(&f.b.certificate_chain));
    ads.send(SECRET, &["web"], "2", &second.nonce, Some("SDS secret `web`: bad key")).await;
    let nack = wait_status(&cp, "weir-1", "sds", "the NACK", |t| t.nack.is_some()).await?;
    let nack = nack.nack.unwrap();
    assert_eq!((nack.version.as_str(), nack.kept_version.as_str()), ("4", "2"));
    assert!(nack.reason.contains("bad key"));

    // The single-type SDS service serves the same.
    let mut sds = Client::open(cp.xds_addr(), Service::Sds, "envoy-1").await?;
    sds.send("", &["web", "other"], "", "", None).await;
    let r = sds.recv().await?;
    assert_eq!((r.type_url.as_str(), r.resources.len()), (SECRET, 2));
    cp.shutdown().await;
    Ok(())
}
