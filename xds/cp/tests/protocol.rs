//! State-of-the-world protocol semantics over ADS, against a scripted client.
//!
//! "No resend" is checked without timing: after the client's request is visibly processed
//! (status shows it), a change is made; the next message on the stream must be that change's
//! push. A stream delivers in order, so any resend would have come first.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Client, Service, layers, wait_status, wait_until};
use serde_json::json;
use weir_cp::{ApplyMode, ControlPlane, ServerConfig};
use weir_xds::types::{EXTENSION_CONFIG, RUNTIME};

async fn cp() -> ControlPlane {
    ControlPlane::start(ServerConfig::local()).await.unwrap()
}

#[tokio::test]
async fn subscribe_ack_and_change() -> anyhow::Result<()> {
    let cp = cp().await; // layer `rtds` created empty: version 1
    cp.store().set_value("rtds", "a.b", json!(5))?;
    let mut c = Client::open(cp.xds_addr(), Service::Ads, "node-1").await?;
    c.send(RUNTIME, &["rtds"], "", "", None).await;
    let r1 = c.recv().await?;
    assert_eq!((r1.version_info.as_str(), r1.type_url.as_str()), ("2", RUNTIME));
    assert!(!r1.nonce.is_empty());
    assert_eq!(
        r1.control_plane.as_ref().unwrap().identifier,
        format!("weir-cp/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(layers(&r1), vec![("rtds".to_string(), json!({"a.b": 5}))]);

    c.ack(&r1, &["rtds"]).await;
    wait_status(&cp, "node-1", "rtds", "the ACK of 2", |t| {
        t.acked.as_ref().is_some_and(|a| a.version == "2")
    })
    .await?;
    // Setting the same value changes nothing; a real change pushes a new version and nonce,
    // and it is the next message: neither the ACK nor the no-op caused a response.
    assert!(!cp.store().set_value("rtds", "a.b", json!(5))?.changed);
    cp.store().set_value("rtds", "a.b", json!(6))?;
    let r2 = c.recv().await?;
    assert_eq!(r2.version_info, "3");
    assert_ne!(r2.nonce, r1.nonce);
    assert_eq!(layers(&r2), vec![("rtds".to_string(), json!({"a.b": 6}))]);
    let status = cp.status();
    let node = &status.nodes[0];
    assert_eq!((node.id.as_str(), node.cluster.as_str(), node.connected), ("node-1", "test-cluster", true));
    assert_eq!(node.types["rtds"].pushes, 2);
    assert_eq!(node.types["rtds"].subscribed, ["rtds"]);
    Ok(())
}

#[tokio::test]
async fn nack_is_recorded_and_not_resent() -> anyhow::Result<()> {
    let cp = cp().await;
    let mut c = Client::open(cp.xds_addr(), Service::Ads, "envoy").await?;
    c.send(RUNTIME, &["rtds"], "", "", None).await;
    let r1 = c.recv().await?;
    c.ack(&r1, &["rtds"]).await;
    // (Were the change made before the ACK is processed, the ACK would be stale.)
    wait_status(&cp, "envoy", "rtds", "the ACK of 1", |t| t.acked.is_some()).await?;
    cp.store().apply_layer("rtds", json!({"bad": [1, 2]}), ApplyMode::Replace, false)?;
    let r2 = c.recv().await?;
    assert_eq!(r2.version_info, "2");
    let reason = "Invalid runtime entry value for bad";
    c.send(RUNTIME, &["rtds"], &r1.version_info, &r2.nonce, Some(reason)).await;
    let t = wait_status(&cp, "envoy", "rtds", "the NACK", |t| t.nack.is_some()).await?;
    let nack = t.nack.unwrap();
    assert_eq!((nack.version.as_str(), nack.kept_version.as_str(), nack.reason.as_str()), ("2", "1", reason));
    assert_eq!(t.acked.unwrap().version, "1", "the client keeps its last ACKed version");
    assert_eq!(cp.status().counters.nacks, 1);
    // No resend after the NACK: the next message is the next change.
    cp.store().apply_layer("rtds", json!({"good": 1}), ApplyMode::Replace, true)?;
    let r3 = c.recv().await?;
    assert_eq!(r3.version_info, "3");
    assert_eq!(layers(&r3)[0].1, json!({"good": 1}));
    c.ack(&r3, &["rtds"]).await;
    let t = wait_status(&cp, "envoy", "rtds", "the ACK of 3", |t| {
        t.acked.as_ref().is_some_and(|a| a.version == "3")
    })
    .await?;
    assert_eq!(t.nack.unwrap().version, "2", "the last NACK stays visible");
    Ok(())
}

#[tokio::test]
async fn stale_nonces_are_ignored() -> anyhow::Result<()> {
    let cp = cp().await;
    let mut c = Client::open(cp.xds_addr(), Service::Ads, "n").await?;
    c.send(RUNTIME, &["rtds"], "", "", None).await;
    let r1 = c.recv().await?;
    cp.store().set_value("rtds", "k", json!(1))?;
    let r2 = c.recv().await?;
    // An ACK of r1 arriving after r2 was sent is stale, even with other names: ignored whole.
    c.send(RUNTIME, &["rtds", "other"], &r1.version_info, &r1.nonce, None).await;
    wait_until(&cp, "one stale request", |s| s.counters.stale == 1).await?;
    let t = cp.status().nodes[0].types["rtds"].clone();
    assert!(t.acked.is_none());
    assert_eq!(t.subscribed, ["rtds"]);
    // Even a NACK with a stale nonce is ignored.
    c.send(RUNTIME, &["rtds"], "", &r1.nonce, Some("late")).await;
    wait_until(&cp, "two stale requests", |s| s.counters.stale == 2).await?;
    assert!(cp.status().nodes[0].types["rtds"].nack.is_none());
    c.ack(&r2, &["rtds"]).await;
    wait_status(&cp, "n", "rtds", "the ACK of 2", |t| t.acked.as_ref().is_some_and(|a| a.version == "2"))
        .await?;
    cp.store().set_value("rtds", "k", json!(2))?;
    assert_eq!(c.recv().await?.version_info, "3");
    Ok(())
}

#[tokio::test]
async fn only_subscribed_resources_and_subscription_changes() -> anyhow::Result<()> {
    let cp = cp().await;
    cp.store().set_value("a", "k", json!("a"))?;
    cp.store().set_value("b", "k", json!("b"))?;
    let mut c = Client::open(cp.xds_addr(), Service::Ads, "n").await?;
    c.send(RUNTIME, &["a"], "", "", None).await;
    let r1 = c.recv().await?;
    assert_eq!(layers(&r1), vec![("a".to_string(), json!({"k": "a"}))]);
    c.ack(&r1, &["a"]).await;
    wait_status(&cp, "n", "rtds", "the ACK", |t| t.acked.is_some()).await?;
    // A change to an unsubscribed layer pushes nothing; the next message is the change of `a`.
    cp.store().set_value("b", "k", json!("b2"))?;
    cp.store().set_value("a", "k", json!("a2"))?;
    let r2 = c.recv().await?;
    assert_eq!(r2.version_info, cp.store().version(weir_cp::Kind::Rtds).to_string());
    assert_eq!(layers(&r2), vec![("a".to_string(), json!({"k": "a2"}))]);
    // Adding a name on the same stream (in the ACK) answers with both.
    c.ack(&r2, &["a", "b"]).await;
    let r3 = c.recv().await?;
    assert_eq!(r3.version_info, r2.version_info);
    let names: Vec<String> = layers(&r3).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["a", "b"]);
    // Removing one answers with the rest.
    c.ack(&r3, &["b"]).await;
    let r4 = c.recv().await?;
    assert_eq!(layers(&r4), vec![("b".to_string(), json!({"k": "b2"}))]);
    assert_eq!(cp.status().nodes[0].types["rtds"].subscribed, ["b"]);
    // Empty names select everything (a convenience; Envoy never does this for RTDS).
    c.ack(&r4, &[]).await;
    let r5 = c.recv().await?;
    assert_eq!(layers(&r5).len(), 3, "a, b and the default layer rtds");
    Ok(())
}

#[tokio::test]
async fn two_nodes_have_independent_status() -> anyhow::Result<()> {
    let cp = cp().await;
    let mut one = Client::open(cp.xds_addr(), Service::Ads, "one").await?;
    let mut two = Client::open(cp.xds_addr(), Service::Ads, "two").await?;
    one.send(RUNTIME, &["rtds"], "", "", None).await;
    two.send(RUNTIME, &["rtds"], "", "", None).await;
    let r1 = one.recv().await?;
    let r2 = two.recv().await?;
    assert_ne!(r1.nonce, r2.nonce);
    one.ack(&r1, &["rtds"]).await;
    two.send(RUNTIME, &["rtds"], "", &r2.nonce, Some("no thanks")).await;
    let t1 = wait_status(&cp, "one", "rtds", "an ACK", |t| t.acked.is_some()).await?;
    let t2 = wait_status(&cp, "two", "rtds", "a NACK", |t| t.nack.is_some()).await?;
    assert!(t1.nack.is_none());
    assert!(t2.acked.is_none());
    assert_eq!(t2.nack.unwrap().kept_version, "");
    drop(two);
    wait_until(&cp, "two disconnected", |s| s.nodes.iter().any(|n| n.id == "two" && !n.connected)).await?;
    assert!(cp.status().nodes.iter().any(|n| n.id == "one" && n.connected));
    Ok(())
}

#[tokio::test]
async fn unknown_types_are_ignored_and_the_stream_lives() -> anyhow::Result<()> {
    let cp = cp().await;
    let mut c = Client::open(cp.xds_addr(), Service::Ads, "n").await?;
    c.send("type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration", &[], "", "", None).await;
    c.send("", &[], "", "", None).await; // ADS needs a type URL
    wait_until(&cp, "two ignored requests", |s| s.counters.ignored == 2).await?;
    c.send(RUNTIME, &["rtds"], "", "", None).await;
    assert_eq!(c.recv().await?.type_url, RUNTIME);
    Ok(())
}

#[tokio::test]
async fn types_are_independent_on_one_ads_stream() -> anyhow::Result<()> {
    let cp = cp().await;
    let config = serde_json::from_value(json!({"wasm": "/f.wasm", "vm_id": "weir"}))?;
    cp.store().put_ecds("auth", config)?;
    let mut c = Client::open(cp.xds_addr(), Service::Ads, "n").await?;
    c.send(RUNTIME, &["rtds"], "", "", None).await;
    let rt = c.recv().await?;
    c.send(EXTENSION_CONFIG, &["auth"], "", "", None).await;
    let ec = c.recv().await?;
    assert_eq!((ec.type_url.as_str(), ec.version_info.as_str()), (EXTENSION_CONFIG, "1"));
    c.ack(&rt, &["rtds"]).await;
    c.ack(&ec, &["auth"]).await;
    wait_status(&cp, "n", "ecds", "the ECDS ACK", |t| t.acked.is_some()).await?;
    wait_status(&cp, "n", "rtds", "the RTDS ACK", |t| t.acked.is_some()).await?;
    cp.store().delete_ecds("auth")?;
    let gone = c.recv().await?;
    assert_eq!((gone.type_url.as_str(), gone.resources.len()), (EXTENSION_CONFIG, 0));
    cp.store().set_value("rtds", "x", json!(1))?;
    assert_eq!(c.recv().await?.type_url, RUNTIME);
    Ok(())
}

#[tokio::test]
async fn a_reconnecting_client_gets_the_current_state() -> anyhow::Result<()> {
    let cp = cp().await;
    cp.store().set_value("rtds", "k", json!(1))?;
    let mut c = Client::open(cp.xds_addr(), Service::Ads, "n").await?;
    // A reconnecting client sends its last version with an empty nonce: it is answered even
    // when that version is current.
    c.send(RUNTIME, &["rtds"], "2", "", None).await;
    let r = c.recv().await?;
    assert_eq!(r.version_info, "2");
    assert_eq!(layers(&r)[0].1, json!({"k": 1}));
    Ok(())
}
