//! Continuous load for the live-change tests: one client sending requests back to back,
//! recording which upstream (`x-echo-server`) answered each, and the failures.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::client;

/// What one client saw: answers by upstream tag, in order, and failures.
#[derive(Debug, Default)]
pub struct Seen {
    /// The `x-echo-server` tag of each 200 answer.
    pub answers: Vec<String>,
    /// Every other outcome.
    pub failures: Vec<String>,
}

/// Sends `GET /` to `addr` back to back until `stop` (5 minutes at most); records each answer.
pub async fn load(addr: SocketAddr, seen: Arc<StdMutex<Seen>>, stop: Arc<AtomicBool>) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let outcome = client::send(addr, client::get("/", &[])).await;
        let Ok(mut seen) = seen.lock() else { return };
        match outcome {
            Ok(r) if r.status == 200 => {
                seen.answers.push(r.header("x-echo-server").unwrap_or("?").to_string())
            }
            Ok(r) => seen.failures.push(format!("status {}", r.status)),
            Err(e) => seen.failures.push(e.to_string()),
        }
    }
}

/// Waits for `sample` answers after the `from`-th one; returns the share of each `key(tag)`.
pub async fn split(
    seen: &StdMutex<Seen>,
    from: usize,
    sample: usize,
    key: fn(&str) -> &str,
) -> anyhow::Result<BTreeMap<String, f64>> {
    let answered = || seen.lock().map(|s| s.answers.len()).unwrap_or(0);
    super::poll(
        &format!("{sample} answers"),
        Duration::from_secs(120),
        Duration::from_millis(20),
        || async { Ok((answered() >= from + sample).then_some(())) },
    )
    .await?;
    let seen = seen.lock().map_err(|_| anyhow::anyhow!("a load task panicked"))?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for tag in &seen.answers[from..from + sample] {
        *counts.entry(key(tag).to_string()).or_default() += 1;
    }
    Ok(counts.into_iter().map(|(k, n)| (k, n as f64 / sample as f64)).collect())
}

/// One [`load`] client per proxy, running until [`Load::finish`].
pub struct Load {
    stop: Arc<AtomicBool>,
    names: Vec<String>,
    /// What each client saw, in the order of the proxies.
    pub seen: Vec<Arc<StdMutex<Seen>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Starts a client per `(name, address)`.
    pub fn start(proxies: &[(&str, SocketAddr)]) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let seen: Vec<Arc<StdMutex<Seen>>> = proxies.iter().map(|_| Arc::default()).collect();
        let tasks = proxies
            .iter()
            .zip(&seen)
            .map(|((_, addr), s)| tokio::spawn(load(*addr, s.clone(), stop.clone())))
            .collect();
        let names = proxies.iter().map(|(name, _)| name.to_string()).collect();
        Load { stop, names, seen, tasks }
    }

    /// Stops the clients; prints how many requests each sent and fails if any failed.
    pub async fn finish(self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await?;
        }
        for (name, s) in self.names.iter().zip(&self.seen) {
            let s = s.lock().map_err(|_| anyhow::anyhow!("a load task panicked"))?;
            println!("{name}: {} requests, {} failed", s.answers.len() + s.failures.len(), s.failures.len());
            anyhow::ensure!(
                s.failures.is_empty(),
                "{name}: failed requests: {:?}",
                &s.failures[..s.failures.len().min(5)]
            );
        }
        Ok(())
    }
}
