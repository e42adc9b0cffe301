//! Picking an endpoint from the healthy set.

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
    let index = match (policy, key) {
        (LbPolicy::RoundRobin, _) => {
            let i = rr.get() % n;
            rr.set(i.wrapping_add(1));
            i
        }
        (LbPolicy::LeastRequest, _) if n > 1 => {
            let a = fastrand::usize(..n);
            let mut b = fastrand::usize(..n - 1);
            if b >= a {
                b += 1;
            }
            if healthy[b].active_requests() < healthy[a].active_requests() { b } else { a }
        }
        (LbPolicy::Maglev, Some(key)) if !set.maglev.is_empty() => {
            set.maglev[(key % hashing::MAGLEV_SIZE as u64) as usize] as usize
        }
        (LbPolicy::RingHash, Some(key)) => hashing::ring_lookup(&set.ring, key).map_or(0, |i| i as usize),
        _ => fastrand::usize(..n),
    };
    healthy.get(index).cloned()
}
