//! A set of simulated nodes: their HTTP/2 connections (one per node, or `per_connection`
//! streams multiplexed on each), their stream tasks, and the signal that ends them all.

use std::ops::Range;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tonic::transport::{Channel, Endpoint};

use crate::snapshot::Subscription;
use crate::stream::{self, Identity, Protocol};
use crate::tracker::Tracker;

/// How the nodes connect.
#[derive(Debug, Clone)]
pub struct Plan {
    /// weir-cp's xDS address.
    pub xds: std::net::SocketAddr,
    /// SotW or Delta.
    pub protocol: Protocol,
    /// Streams per HTTP/2 connection (1: one connection per node, as proxies connect).
    pub per_connection: usize,
    /// Connections opened at once.
    pub connect_concurrency: usize,
    /// What every node subscribes to.
    pub subscriptions: Arc<[Subscription]>,
    /// Node ids are `<prefix>-<index>`.
    pub prefix: String,
}

/// Running streams.
#[derive(Debug)]
pub struct Fleet {
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
}

/// Opens the streams `indices` (tracker slots, and node ids) for connect round `round`.
pub async fn connect(
    plan: &Plan,
    indices: Range<usize>,
    round: u64,
    tracker: &Arc<Tracker>,
) -> anyhow::Result<Fleet> {
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let gate = Arc::new(Semaphore::new(plan.connect_concurrency.max(1)));
    let starts: Vec<usize> = indices.clone().step_by(plan.per_connection.max(1)).collect();
    let mut opening = JoinSet::new();
    for start in starts {
        let end = (start + plan.per_connection.max(1)).min(indices.end);
        let (plan, tracker, stopped, gate) = (plan.clone(), tracker.clone(), stopped.clone(), gate.clone());
        opening.spawn(async move {
            let _permit = gate.acquire_owned().await.ok();
            let channel = open(&plan).await?;
            let streams: Vec<_> = (start..end)
                .map(|index| {
                    let who = Identity { index, node: format!("{}-{index}", plan.prefix), round };
                    stream::run(
                        channel.clone(),
                        who,
                        plan.protocol,
                        plan.subscriptions.clone(),
                        tracker.clone(),
                        stopped.clone(),
                    )
                })
                .collect();
            Ok::<_, anyhow::Error>(streams)
        });
    }
    while let Some(opened) = opening.join_next().await {
        match opened.context("connect task")? {
            Ok(streams) => {
                for s in streams {
                    tasks.spawn(s);
                }
            }
            Err(e) => {
                tracker.errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                eprintln!("weir-fleet: a connection failed: {e:#}");
            }
        }
    }
    Ok(Fleet { tasks, stop })
}

async fn open(plan: &Plan) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(format!("http://{}", plan.xds))?
        .connect_timeout(std::time::Duration::from_secs(30))
        .tcp_nodelay(true);
    Ok(endpoint.connect().await?)
}

impl Fleet {
    /// Ends every stream and waits for the tasks (their connections close with them).
    pub async fn disconnect(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}
