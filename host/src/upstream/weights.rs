//! Endpoint weights as the load balancer uses them: round robin's schedule and the running
//! sums random draws search.

use std::sync::Arc;

use super::Endpoint;

/// Weighted balancing over a healthy set whose weights differ (empty when they are equal,
/// and balancing is uniform).
#[derive(Debug, Default)]
pub struct Weights {
    /// Round robin's order: each endpoint's index as often as its weight, spread out (smooth
    /// weighted round robin), weights reduced by their greatest common divisor.
    pub(super) schedule: Vec<u32>,
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
    pub(super) fn random(&self) -> Option<usize> {
        let total = *self.cumulative.last()?;
        let x = fastrand::u64(..total);
        Some(self.cumulative.partition_point(|&c| c <= x))
    }

    /// The weight of `healthy[i]` (1 when weights are equal).
    pub(super) fn of(&self, healthy: &[Arc<Endpoint>], i: usize) -> u32 {
        if self.cumulative.is_empty() { 1 } else { healthy.get(i).map_or(1, |e| e.weight()) }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::stats::Stats;

    /// Endpoints on 127.0.0.1 with these weights.
    pub(in crate::upstream) fn endpoints(weights: &[u32]) -> Vec<Arc<Endpoint>> {
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

    #[test]
    fn the_schedule_is_smooth_reduced_and_empty_for_equal_weights() {
        // The light endpoint is never next to itself; 2:6 is 1:3.
        assert_eq!(Weights::new(&endpoints(&[1, 3])).schedule, [1, 0, 1, 1]);
        assert_eq!(Weights::new(&endpoints(&[2, 6])).schedule, [1, 0, 1, 1]);
        assert!(Weights::new(&endpoints(&[5, 5])).schedule.is_empty());
    }
}
