//! Picking an endpoint from the healthy set, by the endpoints' weights when they differ.

use std::cell::Cell;
use std::sync::Arc;

use super::state::EndpointSet;
use super::{Endpoint, hashing};
use crate::config::LbPolicy;

/// Picks an endpoint. `rr` is the worker's round-robin position; `key` the request's hash for
/// consistent hashing (without one, ring hash and Maglev pick at random).
pub fn pick(
    policy: LbPolicy,
    set: &EndpointSet,
    rr: &Cell<usize>,
    key: Option<u64>,
) -> Option<Arc<Endpoint>> {
    let healthy = &set.healthy;
    let n = healthy.len();
    if n == 0 {
        return None;
    }
    let weights = &set.weights;
    let index = match (policy, key) {
        (LbPolicy::RoundRobin, _) => {
            let i = rr.get();
            rr.set(i.wrapping_add(1));
            match weights.schedule.as_slice() {
                [] => i % n,
                schedule => schedule[i % schedule.len()] as usize,
            }
        }
        (LbPolicy::LeastRequest, _) if n > 1 => {
            // Two candidates (drawn by weight when weights differ); the one with fewer
            // requests in flight per unit of weight wins, the first on a tie.
            let (a, b) = match weights.random() {
                Some(a) => (a, weights.random().unwrap_or(a)),
                None => {
                    let a = fastrand::usize(..n);
                    let b = fastrand::usize(..n - 1);
                    (a, if b >= a { b + 1 } else { b })
                }
            };
            let (wa, wb) = (u64::from(weights.of(healthy, a)), u64::from(weights.of(healthy, b)));
            let (ra, rb) = (u64::from(healthy[a].active_requests()), u64::from(healthy[b].active_requests()));
            if rb * wa < ra * wb { b } else { a }
        }
        (LbPolicy::Maglev, Some(key)) if !set.maglev.is_empty() => {
            set.maglev[(key % hashing::MAGLEV_SIZE as u64) as usize] as usize
        }
        (LbPolicy::RingHash, Some(key)) => hashing::ring_lookup(&set.ring, key).map_or(0, |i| i as usize),
        _ => weights.random().unwrap_or_else(|| fastrand::usize(..n)),
    };
    healthy.get(index).cloned()
}

/// Weighted balancing over a healthy set whose weights differ (empty when they are equal,
/// and balancing is uniform).
#[derive(Debug, Default)]
pub struct Weights {
    /// Round robin's order: each endpoint's index as often as its weight, spread out (smooth
    /// weighted round robin), weights reduced by their greatest common divisor.
    schedule: Vec<u32>,
    /// Running sums of the weights (random picks).
    cumulative: Vec<u64>,
}

impl Weights {
    /// The weights of `healthy` (at most [`crate::config::MAX_ENDPOINT_WEIGHT`] each, so the
    /// schedule holds at most that many entries per endpoint).
    pub fn new(healthy: &[Arc<Endpoint>]) -> Weights {
        let weights: Vec<u64> = healthy.iter().map(|e| u64::from(e.weight())).collect();
        if weights.iter().min() == weights.iter().max() {
            return Weights::default();
        }
        let divisor = weights.iter().copied().fold(0, gcd).max(1);
        let reduced: Vec<i64> = weights.iter().map(|w| (w / divisor) as i64).collect();
        let total: i64 = reduced.iter().sum();
        let mut current = vec![0i64; reduced.len()];
        let mut schedule = Vec::with_capacity(total as usize);
        for _ in 0..total {
            for (c, w) in current.iter_mut().zip(&reduced) {
                *c += w;
            }
            let (best, _) = current
                .iter()
                .enumerate()
                .fold((0, i64::MIN), |(bi, bc), (i, &c)| if c > bc { (i, c) } else { (bi, bc) });
            current[best] -= total;
            schedule.push(best as u32);
        }
        let cumulative = weights
            .iter()
            .scan(0u64, |sum, w| {
                *sum += w;
                Some(*sum)
            })
            .collect();
        Weights { schedule, cumulative }
    }

    /// An index drawn in proportion to the weights (`None` when they are equal).
    fn random(&self) -> Option<usize> {
        let total = *self.cumulative.last()?;
        let x = fastrand::u64(..total);
        Some(self.cumulative.partition_point(|&c| c <= x))
    }

    /// The weight of `healthy[i]` (1 when weights are equal).
    fn of(&self, healthy: &[Arc<Endpoint>], i: usize) -> u32 {
        if self.cumulative.is_empty() { 1 } else { healthy.get(i).map_or(1, |e| e.weight()) }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Stats;

    fn endpoints(weights: &[u32]) -> Vec<Arc<Endpoint>> {
        let stats = Stats::default();
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 1000 + i as u16));
                let e = Endpoint::new(addr, None, stats.endpoint("c", &addr.to_string()));
                e.set_weight(*w);
                Arc::new(e)
            })
            .collect()
    }

    fn shares(policy: LbPolicy, weights: &[u32], picks: usize) -> Vec<usize> {
        let healthy = endpoints(weights);
        let set = EndpointSet { weights: Weights::new(&healthy), healthy, ..EndpointSet::default() };
        let rr = Cell::new(0);
        let mut counts = vec![0; weights.len()];
        for _ in 0..picks {
            let e = pick(policy, &set, &rr, None).unwrap();
            counts[set.healthy.iter().position(|h| h.addr == e.addr).unwrap()] += 1;
        }
        counts
    }

    #[test]
    fn round_robin_follows_the_weights_exactly_and_spreads_them() {
        assert_eq!(shares(LbPolicy::RoundRobin, &[1, 3], 400), [100, 300]);
        assert_eq!(shares(LbPolicy::RoundRobin, &[2, 2, 4], 400), [100, 100, 200]);
        let healthy = endpoints(&[1, 3]);
        // Smooth: the light endpoint is not followed by itself.
        assert_eq!(Weights::new(&healthy).schedule, [1, 0, 1, 1]);
        assert!(Weights::new(&endpoints(&[5, 5])).schedule.is_empty());
    }

    #[test]
    fn random_and_least_request_follow_the_weights() {
        // 8,000 draws of a 1/4 share: 2,000 expected, σ ≈ 39; the bounds are over 7σ away.
        for policy in [LbPolicy::Random, LbPolicy::LeastRequest] {
            let counts = shares(policy, &[1, 3], 8000);
            assert!((1700..2300).contains(&counts[0]), "{policy:?}: {counts:?}");
        }
    }
}
