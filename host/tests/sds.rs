//! Listener certificates from SDS, end to end: weir-cp in-process serves a secret over ADS,
//! weir's TLS listener presents it, a replaced secret reaches new handshakes within 2 s with
//! no failed request, an invalid one is NACKed (visible in weir-cp's status) while the old
//! certificate keeps serving, and a listener whose secret has not arrived refuses handshakes
//! until it does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/sds.rs"]
mod sds_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sds_support::{Setup, client, der, get, pem, secret, setup};
use weir_cp::SecretConfig;
use weir_host::config::Config;
use weir_host::process::{RunningServer, ServerOptions};
use weir_tls::test_pki::Pki;

const NODE: &str = "weir-sds";

fn config(s: &Setup, tls: &str, initial_fetch_timeout: &str) -> Config {
    let yaml = format!(
        r#"
node: {{ id: {NODE}, cluster: tests }}
listeners:
  - name: tls
    address: 127.0.0.1:0
    tls: {tls}
    virtual_hosts:
      - {{ name: all, domains: ["*"], routes: [{{ name: r, match: {{ prefix: / }}, route: {{ cluster: echo }} }}] }}
clusters:
  - {{ name: echo, endpoints: ["{echo}"] }}
  - {{ name: control-plane, endpoints: ["{cp}"], http2: true }}
xds: {{ cluster: control-plane, initial_fetch_timeout: {initial_fetch_timeout} }}
"#,
        echo = s.echo.addr(),
        cp = s.cp.xds_addr(),
    );
    Config::parse(&yaml, "test").unwrap()
}

/// Polls weir-cp's status until node [`NODE`]'s `sds` entry satisfies `check`.
fn wait_sds(s: &Setup, what: &str, check: impl Fn(&weir_cp::status::TypeStatus) -> bool) {
    let started = Instant::now();
    loop {
        let status = s.cp.status();
        let node = status.nodes.iter().find(|n| n.id == NODE);
        if node.and_then(|n| n.types.get("sds")).is_some_and(&check) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no {what}: {status:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn certificates_from_sds_rotate_without_a_failed_request_and_bad_ones_are_nacked() {
    let s = setup();
    s.cp.store().put_secret("web", secret(&s.a, &s.a), true).unwrap();
    let server = RunningServer::start(
        config(&s, "{ certificates: [{ sds: web }] }", "5s"),
        ServerOptions::with_concurrency(2),
    )
    .unwrap();
    let addr = server.listener_addr("tls").unwrap();
    let tls = client(s.pki.ca());
    let (status, cert) = s.rt.block_on(get(addr, tls.clone())).unwrap();
    assert_eq!((status, cert), (200, der(&s.a)), "the secret's certificate serves from the start");

    // Load on new connections while the secret is replaced.
    let (stop, done, failed) =
        (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load = {
        let (stop, done, failed, tls) = (stop.clone(), done.clone(), failed.clone(), tls.clone());
        s.rt.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match get(addr, tls.clone()).await {
                    Ok((200, _)) => done.fetch_add(1, Ordering::Relaxed),
                    Ok(_) | Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    s.cp.store().put_secret("web", secret(&s.b, &s.b), true).unwrap();
    let changed = Instant::now();
    loop {
        let (_, cert) = s.rt.block_on(get(addr, tls.clone())).unwrap();
        if cert == der(&s.b) {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(2),
            "the new certificate is not served within 2 s: {:?} {:?}",
            server.control().xds_status(),
            s.cp.status()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_sds(&s, "ACK of the new secret", |t| t.acked.as_ref().is_some_and(|a| a.version == "2"));

    // A key that does not match its certificate: NACKed, the last good certificate serves on.
    s.cp.store().put_secret("web", secret(&s.a, &s.b), false).unwrap();
    wait_sds(&s, "NACK", |t| t.nack.as_ref().is_some_and(|n| n.version == "3"));
    let nack =
        s.cp.status().nodes.into_iter().find(|n| n.id == NODE).unwrap().types["sds"].nack.clone().unwrap();
    assert!(nack.reason.contains("secret `web`") && nack.reason.contains("does not match"), "{nack:?}");
    assert_eq!(nack.kept_version, "2");
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    s.rt.block_on(load).unwrap();
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no failed request ({} served)",
        done.load(Ordering::Relaxed)
    );
    assert!(done.load(Ordering::Relaxed) > 10);
    let (status, cert) = s.rt.block_on(get(addr, tls)).unwrap();
    assert_eq!((status, cert), (200, der(&s.b)));
    let xds = server.control().xds_status().unwrap();
    assert_eq!(xds.types[weir_xds::types::SECRET].rejected, 1);
}

#[test]
fn a_listener_refuses_handshakes_until_its_secrets_arrive() {
    let s = setup();
    let clients = Pki::new(s.dir.path(), "clients").unwrap();
    let tls =
        "{ certificates: [{ sds: web }], client_certificates: { trusted_ca_sds: clients, require: false } }";
    let started = Instant::now();
    let server = RunningServer::start(config(&s, tls, "300ms"), ServerOptions::with_concurrency(1)).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300), "start-up waited for the secrets");
    let addr = server.listener_addr("tls").unwrap();
    let config = client(s.pki.ca());
    assert!(s.rt.block_on(get(addr, config.clone())).is_err(), "no certificate yet: handshake refused");
    // The certificate alone is not enough: the client CA is missing too.
    s.cp.store().put_secret("web", secret(&s.a, &s.a), true).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(s.rt.block_on(get(addr, config.clone())).is_err());
    s.cp.store().put_secret("clients", SecretConfig::trusted_ca(pem(clients.ca())), true).unwrap();
    let arrived = Instant::now();
    loop {
        match s.rt.block_on(get(addr, config.clone())) {
            Ok((status, cert)) => {
                assert_eq!((status, cert), (200, der(&s.a)));
                break;
            }
            Err(e) => assert!(arrived.elapsed() < Duration::from_secs(2), "still refused: {e}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sds_needs_xds_and_is_refused_for_the_admin_server() {
    let base = r#"
listeners:
  - name: tls
    address: 127.0.0.1:0
    tls: { certificates: [{ sds: web }] }
    virtual_hosts:
      - { name: all, domains: ["*"], routes: [{ name: r, match: { prefix: / }, direct_response: { status: 200 } }] }
"#;
    let e = Config::parse(base, "test").unwrap_err().to_string();
    assert!(e.contains("listeners[0].tls.certificates[0].sds") && e.contains("xds"), "{e}");
    let files = base.replace("{ sds: web }", "{ certificate_chain: a.pem, private_key: a.key }");
    let admin = files.replace("listeners:", "admin: { address: 127.0.0.1:0, tls: { certificates: [{ certificate_chain: a.pem, private_key: a.key }], client_certificates: { trusted_ca_sds: c } } }\nlisteners:");
    let e = Config::parse(&admin, "test").unwrap_err().to_string();
    assert!(e.contains("admin.tls.client_certificates.trusted_ca_sds"), "{e}");
    let both = base.replace("{ sds: web }", "{ sds: web, certificate_chain: a.pem }");
    let e = Config::parse(&both, "test").unwrap_err().to_string();
    assert!(e.contains("not both"), "{e}");
}
