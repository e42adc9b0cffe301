//! Jittered exponential backoff between reconnects with Envoy's defaults: 500 ms base, 30 s
//! cap. The n-th wait (from 0) is uniform in `[base, min(cap, base · 2^(n+1))]`: even the first
//! one is jittered (500 ms–1 s), so proxies that lost the control plane at the same moment do
//! not all come back at the same instant. A stream that delivered a response resets it.
//!
//! The randomness is a small xorshift generator seeded from the clock: jitter only has to keep
//! many proxies from reconnecting in step, not be unpredictable.

use std::time::Duration;

/// The first wait.
pub const BASE: Duration = Duration::from_millis(500);

/// The longest wait.
pub const CAP: Duration = Duration::from_secs(30);

/// Reconnect backoff.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
    rng: Rng,
}

impl Backoff {
    /// The default backoff (500 ms to 30 s) with a generator seeded by `seed`.
    pub fn new(seed: u64) -> Backoff {
        Backoff::with_bounds(BASE, CAP, seed)
    }

    /// A backoff between `base` and `cap`.
    pub fn with_bounds(base: Duration, cap: Duration, seed: u64) -> Backoff {
        Backoff { base, cap: cap.max(base), attempt: 0, rng: Rng::new(seed) }
    }

    /// The next wait; each call widens the window until it reaches the cap.
    pub fn next_wait(&mut self) -> Duration {
        let ceiling = self.base.saturating_mul(2u32 << self.attempt.min(16)).min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        let spread = u64::try_from(ceiling.saturating_sub(self.base).as_millis()).unwrap_or(u64::MAX);
        let jitter = match spread.checked_add(1) {
            Some(n) => self.rng.next_u64() % n,
            None => self.rng.next_u64(),
        };
        self.base.saturating_add(Duration::from_millis(jitter))
    }

    /// Starts again from the base (after a stream that worked).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Waits handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// xorshift64* (Vigna): small, fast, good enough for jitter.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator; any seed works (0 is replaced by a constant).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_within_bounds_jitter_and_reset() {
        let mut b = Backoff::new(42);
        let first = b.next_wait();
        assert!(first >= BASE && first <= Duration::from_secs(1), "{first:?}");
        for _ in 0..60 {
            let w = b.next_wait();
            assert!(w >= BASE && w <= CAP, "{w:?}");
        }
        // With the window at the cap, waits spread over it (jitter), some of them long.
        let waits: Vec<Duration> = (0..200).map(|_| b.next_wait()).collect();
        assert!(waits.iter().any(|w| *w > Duration::from_secs(15)));
        assert!(waits.iter().any(|w| *w < Duration::from_secs(15)));
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 150, "jittered: {} distinct waits of 200", distinct.len());
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert!(b.next_wait() <= Duration::from_secs(1));
    }

    #[test]
    fn windows_double_up_to_the_cap_and_the_first_is_jittered() {
        // Upper bounds of the n-th window: 1, 2, 4, 8, 16, 30, 30 s.
        let bounds = [1000u64, 2000, 4000, 8000, 16000, 30000, 30000];
        let mut firsts = std::collections::BTreeSet::new();
        for seed in 1..50 {
            let mut b = Backoff::new(seed);
            for bound in bounds {
                let w = b.next_wait();
                assert!(w >= BASE && w <= Duration::from_millis(bound), "seed {seed}: {w:?} > {bound} ms");
            }
            b.reset();
            firsts.insert(b.next_wait());
        }
        assert!(firsts.len() > 40, "first waits differ between proxies: {firsts:?}");
    }

    #[test]
    fn different_seeds_differ() {
        let waits = |seed| {
            let mut b = Backoff::new(seed);
            (0..8).map(|_| b.next_wait()).collect::<Vec<_>>()
        };
        assert_ne!(waits(1), waits(2));
        assert_eq!(waits(3), waits(3));
        assert_ne!(Rng::new(0).next_u64(), 0);
    }
}
