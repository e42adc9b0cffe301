//! Jittered exponential backoff between reconnects (Envoy's defaults: 500 ms base, 30 s cap).

use std::time::Duration;

/// Jittered exponential backoff: the n-th wait (from 0) is uniform in
/// `[base, min(cap, base * 2^(n+1))]`, so proxies that lost the same control plane do not all
/// come back at the same instant.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_millis(500), Duration::from_secs(30))
    }
}

impl Backoff {
    /// A backoff between `base` and `cap`.
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff { base, cap: cap.max(base), attempt: 0 }
    }

    /// The next wait; each call widens the window until it reaches the cap.
    pub fn next_wait(&mut self) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << (self.attempt + 1).min(16)).min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        let spread = ceiling.saturating_sub(self.base).as_millis() as u64;
        self.base + Duration::from_millis(fastrand::u64(0..=spread))
    }

    /// Starts again from the base (after a stream that worked).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_within_bounds_and_reset() {
        let mut b = Backoff::default();
        let first = b.next_wait();
        assert!(first >= Duration::from_millis(500) && first <= Duration::from_secs(1), "{first:?}");
        for _ in 0..40 {
            let w = b.next_wait();
            assert!(w >= Duration::from_millis(500) && w <= Duration::from_secs(30), "{w:?}");
        }
        // After many attempts the window is the whole range: some waits are long.
        let long = (0..200).map(|_| b.next_wait()).filter(|w| *w > Duration::from_secs(5)).count();
        assert!(long > 0);
        b.reset();
        assert!(b.next_wait() <= Duration::from_secs(1));
    }
}
