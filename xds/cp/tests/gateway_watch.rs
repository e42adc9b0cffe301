//! `--gateway-dir`: the manifests of a directory applied at start and on every change; a
//! refused change keeps the last good Gateways served and says why.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use weir_cp::{ControlPlane, GatewayWatch, ServerConfig};

const CLASS: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: { name: weir }\nspec: { controllerName: weir.dev/gateway-controller }\n";

fn gateway(name: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{ name: {name}, namespace: infra }}\n\
         spec: {{ gatewayClassName: weir, listeners: [ {{ name: http, port: 8080, protocol: HTTP }} ] }}\n"
    )
}

/// Waits until `check` holds (20 s at most).
async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within 20s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn groups(cp: &ControlPlane) -> Vec<String> {
    cp.store().groups().into_iter().map(|(name, _)| name).collect()
}

#[tokio::test]
async fn a_watched_directory_is_applied_at_start_and_on_each_change() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("class.yaml"), CLASS).unwrap();
    std::fs::write(dir.path().join("edge.yaml"), gateway("edge")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
    let watch = GatewayWatch { dir: dir.path().to_path_buf(), interval: Duration::from_millis(20) };
    let cp = ControlPlane::start(ServerConfig { gateway_dir: Some(watch), ..ServerConfig::local() })
        .await
        .unwrap();
    until("the first apply", || groups(&cp) == ["gateway:infra:edge"]).await;
    // A Gateway added: served.
    std::fs::write(dir.path().join("inner.yaml"), gateway("inner")).unwrap();
    until("the second Gateway", || groups(&cp) == ["gateway:infra:edge", "gateway:infra:inner"]).await;
    // An invalid file: refused, said, the last good Gateways kept.
    std::fs::write(dir.path().join("inner.yaml"), gateway("inner").replace("listeners:", "listenerz:"))
        .unwrap();
    until("the refusal", || cp.gateway().last_refused().is_some()).await;
    let reason = cp.gateway().last_refused().unwrap();
    assert!(reason.contains("spec.listenerz: unknown field") || reason.contains("listeners"), "{reason}");
    assert_eq!(groups(&cp), ["gateway:infra:edge", "gateway:infra:inner"]);
    // Fixed by removing it: applied, the refusal cleared, its Gateway's group removed.
    std::fs::remove_file(dir.path().join("inner.yaml")).unwrap();
    until("the fix", || cp.gateway().last_refused().is_none()).await;
    assert_eq!(groups(&cp), ["gateway:infra:edge"]);
    cp.shutdown().await;
}
