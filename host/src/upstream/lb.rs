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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::weights::Weights;
    use crate::upstream::weights::tests::endpoints;

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
