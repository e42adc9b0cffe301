//! What the simulated nodes saw, in lock-free per-stream slots: the connect round a stream
//! last got its first response in, the newest push marker it received, and when (nanoseconds
//! since the run started).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Per-stream records.
#[derive(Debug)]
pub struct Tracker {
    start: Instant,
    ready_round: Vec<AtomicU64>,
    ready_at: Vec<AtomicU64>,
    pushed: Vec<AtomicU64>,
    pushed_at: Vec<AtomicU64>,
    /// Responses received, all streams.
    pub responses: AtomicU64,
    /// Streams that failed (could not open, or ended by the server).
    pub errors: AtomicU64,
}

impl Tracker {
    /// Slots for `streams` streams.
    pub fn new(streams: usize) -> Tracker {
        let slots = || (0..streams).map(|_| AtomicU64::new(0)).collect();
        Tracker {
            start: Instant::now(),
            ready_round: slots(),
            ready_at: slots(),
            pushed: slots(),
            pushed_at: slots(),
            responses: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    /// Nanoseconds since the run started.
    pub fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Stream `i` got its first response of connect round `round`.
    pub fn ready(&self, i: usize, round: u64) {
        if let (Some(r), Some(at)) = (self.ready_round.get(i), self.ready_at.get(i)) {
            at.store(self.now(), Ordering::Relaxed);
            r.store(round, Ordering::Release);
        }
    }

    /// Stream `i` received push `marker`.
    pub fn pushed(&self, i: usize, marker: u64) {
        if let (Some(p), Some(at)) = (self.pushed.get(i), self.pushed_at.get(i))
            && p.load(Ordering::Acquire) < marker
        {
            at.store(self.now(), Ordering::Relaxed);
            p.store(marker, Ordering::Release);
        }
    }

    /// How many of `streams` are ready in `round`.
    pub fn count_ready(&self, streams: std::ops::Range<usize>, round: u64) -> usize {
        streams.filter(|i| self.ready_round[*i].load(Ordering::Acquire) == round).count()
    }

    /// How many of `streams` have push `marker` (or newer).
    pub fn count_pushed(&self, streams: std::ops::Range<usize>, marker: u64) -> usize {
        streams.filter(|i| self.pushed[*i].load(Ordering::Acquire) >= marker).count()
    }

    /// Waits until `done()` reaches `want` or `limit` passes; returns the count reached.
    pub async fn wait(&self, want: usize, limit: Duration, done: impl Fn() -> usize) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            let n = done();
            if n >= want || Instant::now() > deadline {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Milliseconds from `since` (a [`Tracker::now`] value) to when each of `streams` got push
    /// `marker`; streams without it are left out.
    pub fn push_latencies_ms(&self, streams: std::ops::Range<usize>, marker: u64, since: u64) -> Vec<f64> {
        streams
            .filter(|i| self.pushed[*i].load(Ordering::Acquire) >= marker)
            .map(|i| self.pushed_at[i].load(Ordering::Relaxed).saturating_sub(since) as f64 / 1e6)
            .collect()
    }

    /// The latest first-response time of `streams` in `round`, in ms after `since`.
    pub fn last_ready_ms(&self, streams: std::ops::Range<usize>, since: u64) -> f64 {
        let last = streams.map(|i| self.ready_at[i].load(Ordering::Relaxed)).max().unwrap_or(since);
        last.saturating_sub(since) as f64 / 1e6
    }
}

/// The `q` quantile (0..=1) of `values` (sorted in place); 0 when empty.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() as f64 - 1.0) * q).round() as usize;
    values[rank.min(values.len() - 1)]
}
