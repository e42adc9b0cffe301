//! Picking an endpoint from the healthy set, by the endpoints' weights when they differ.

use std::cell::Cell;
use std::sync::Arc;

use super::state::{EndpointSet, Level};
use super::{Endpoint, hashing};
use crate::config::LbPolicy;

/// Round-robin positions of one worker, one per priority level (as Envoy keeps one per host
/// set).
pub type RoundRobin = [Cell<usize>; super::priority::MAX_PRIORITY as usize + 1];

/// Picks an endpoint: a priority level by the levels' loads, then an endpoint of that level.
/// `rr` holds the worker's round-robin positions; `key` is the request's hash for consistent
/// hashing (without one, ring hash and Maglev pick at random). The level is chosen with the
/// same number that picks in it, as Envoy does.
pub fn pick(policy: LbPolicy, set: &EndpointSet, rr: &RoundRobin, key: Option<u64>) -> Option<Arc<Endpoint>> {
    let hash = key.unwrap_or_else(|| fastrand::u64(..));
    let level = match set.levels.len() {
        0 => return None,
        1 => 0,
        _ => super::priority::choose(&set.loads, hash),
    };
    let rr = rr.get(level)?;
    pick_in(policy, set.levels.get(level)?, rr, key)
}

fn pick_in(policy: LbPolicy, level: &Level, rr: &Cell<usize>, key: Option<u64>) -> Option<Arc<Endpoint>> {
    let healthy = &level.healthy;
    let n = healthy.len();
    if n == 0 {
        return None;
    }
    let weights = &level.weights;
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
        (LbPolicy::Maglev, Some(key)) if !level.maglev.is_empty() => {
            level.maglev[(key % hashing::MAGLEV_SIZE as u64) as usize] as usize
        }
        (LbPolicy::RingHash, Some(key)) => hashing::ring_lookup(&level.ring, key).map_or(0, |i| i as usize),
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
        let level = Level { weights: Weights::new(&healthy), healthy, ..Level::default() };
        let set = EndpointSet { levels: vec![level], loads: vec![100], ..EndpointSet::default() };
        let rr = RoundRobin::default();
        let mut counts = vec![0; weights.len()];
        for _ in 0..picks {
            let e = pick(policy, &set, &rr, None).unwrap();
            counts[set.levels[0].healthy.iter().position(|h| h.addr == e.addr).unwrap()] += 1;
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
