//! Envoy's priority levels: each endpoint has a priority (0 first); a level takes load in
//! proportion to its health, scaled by the overprovisioning factor (1.4: a level keeps all its
//! load until fewer than 72% of its endpoints are healthy), the rest falling to the next
//! levels. A level with fewer healthy endpoints than the panic threshold (50%) balances over
//! all its endpoints (panic), and when every level is in panic the load follows the endpoint
//! counts. The integer arithmetic is Envoy's, so the split is the same to the percent.

use std::sync::Arc;

use super::Endpoint;

/// Envoy's default overprovisioning factor, in percent.
pub const OVERPROVISIONING_FACTOR: u64 = 140;

pub use crate::config::MAX_PRIORITY;

/// The endpoints each level balances over, and the percent of requests each level takes
/// (summing to 100).
#[derive(Debug, Default)]
pub struct Plan {
    /// Per priority: its healthy endpoints, or all of them when it is in panic.
    pub levels: Vec<Vec<Arc<Endpoint>>>,
    /// Per priority: its share of the requests, in percent.
    pub loads: Vec<u32>,
}

/// The plan for `all` with a panic threshold of `panic_threshold` percent.
pub fn plan(all: &[Arc<Endpoint>], panic_threshold: f64) -> Plan {
    let top = all.iter().map(|e| e.priority()).max().unwrap_or(0) as usize;
    let mut hosts: Vec<Vec<Arc<Endpoint>>> = vec![Vec::new(); top + 1];
    for e in all {
        hosts[e.priority() as usize].push(e.clone());
    }
    let healthy: Vec<Vec<Arc<Endpoint>>> =
        hosts.iter().map(|h| h.iter().filter(|e| e.is_healthy()).cloned().collect()).collect();
    let health: Vec<u32> = hosts
        .iter()
        .zip(&healthy)
        .map(|(h, ok)| match h.len() {
            0 => 0,
            n => (OVERPROVISIONING_FACTOR * ok.len() as u64 / n as u64).min(100) as u32,
        })
        .collect();
    let normalized = health.iter().sum::<u32>().min(100);
    if normalized == 0 && panic_threshold <= 0.0 {
        // No healthy endpoint and no panic: the first level takes everything and has nothing.
        let mut loads = vec![0; hosts.len()];
        loads[0] = 100;
        return Plan { levels: healthy, loads };
    }
    let in_panic: Vec<bool> = hosts
        .iter()
        .zip(&healthy)
        .map(|(h, ok)| {
            let percent = if h.is_empty() { 0.0 } else { 100.0 * ok.len() as f64 / h.len() as f64 };
            normalized != 100 && percent < panic_threshold
        })
        .collect();
    if in_panic.iter().all(|p| *p) {
        // Total panic: every endpoint of every level, the load by endpoint count.
        let counts: Vec<u32> = hosts.iter().map(|h| h.len() as u32).collect();
        let loads = distribute(&counts, counts.iter().sum::<u32>().max(1));
        return Plan { levels: hosts, loads };
    }
    let loads = distribute(&health, normalized);
    let levels = hosts
        .into_iter()
        .zip(healthy)
        .zip(in_panic)
        .map(|((all, ok), panic)| if panic { all } else { ok })
        .collect();
    Plan { levels, loads }
}

/// Envoy's `distributeLoad`: each level in order takes `value * 100 / total` of what is left;
/// the rounding remainder goes to the first level with a non-zero value.
fn distribute(values: &[u32], total: u32) -> Vec<u32> {
    let mut left = 100u32;
    let mut loads: Vec<u32> = values
        .iter()
        .map(|v| {
            let load = (u64::from(*v) * 100 / u64::from(total)).min(u64::from(left)) as u32;
            left -= load;
            load
        })
        .collect();
    let first = values.iter().position(|v| *v > 0).unwrap_or(0);
    if let Some(load) = loads.get_mut(first) {
        *load += left;
    }
    loads
}

/// The level a request goes to: `hash % 100 + 1` against the running sum of the loads (the
/// request's hash for consistent hashing, else a random number), as Envoy chooses it.
pub fn choose(loads: &[u32], hash: u64) -> usize {
    let x = (hash % 100 + 1) as u32;
    let mut sum = 0;
    for (i, load) in loads.iter().enumerate() {
        sum += load;
        if x <= sum {
            return i;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::weights::tests::endpoints;

    /// Levels of `n` endpoints each, `healthy` of them healthy; the loads.
    fn loads(levels: &[(usize, usize)], threshold: f64) -> Vec<u32> {
        let mut all = Vec::new();
        for (p, (n, healthy)) in levels.iter().enumerate() {
            for (i, e) in endpoints(&vec![1; *n]).into_iter().enumerate() {
                let e = Arc::new(Endpoint::new(
                    std::net::SocketAddr::from(([127, 0, p as u8 + 1, 1], 1000 + i as u16)),
                    None,
                    e.stats.clone(),
                ));
                e.set_priority(p as u32);
                e.set_checked_healthy(i < *healthy);
                all.push(e);
            }
        }
        plan(&all, threshold).loads
    }

    #[test]
    fn loads_follow_envoy_s_integer_arithmetic() {
        // Envoy's docs (priority levels): P1 fully healthy, P0 at 100/72/71/50/25/0 percent.
        let p0 = |n, h| loads(&[(n, h), (10, 10)], 50.0);
        assert_eq!(p0(4, 4), [100, 0]);
        assert_eq!(p0(25, 18), [100, 0]); // 72%
        assert_eq!(p0(100, 71), [99, 1]);
        assert_eq!(p0(2, 1), [70, 30]);
        assert_eq!(p0(4, 1), [35, 65]);
        assert_eq!(p0(2, 0), [0, 100]);
        // 25/25/20 percent: health 35/35/28, the remainder 2 to P0 (Envoy's code, not its docs).
        assert_eq!(loads(&[(4, 1), (4, 1), (5, 1)], 0.0), [37, 35, 28]);
        // Every level in panic (25% each, under 50%): the load follows the endpoint counts.
        assert_eq!(loads(&[(4, 1), (4, 1)], 50.0), [50, 50]);
        assert_eq!(loads(&[(2, 0), (8, 0)], 50.0), [20, 80]);
        // Nobody healthy and no panic threshold: P0 takes it, with nothing to balance over.
        assert_eq!(loads(&[(2, 0), (2, 0)], 0.0), [100, 0]);
    }

    #[test]
    fn a_level_under_the_threshold_uses_all_its_endpoints() {
        let all = endpoints(&[1, 1, 1]);
        all[0].set_checked_healthy(false);
        all[1].set_checked_healthy(false);
        // One of three healthy (33% < 50%): panic, all three.
        assert_eq!(plan(&all, 50.0).levels[0].len(), 3);
        // Threshold 0: only the healthy one.
        assert_eq!(plan(&all, 0.0).levels[0].len(), 1);
        assert_eq!(choose(&[70, 30], 69), 0);
        assert_eq!(choose(&[70, 30], 70), 1);
        assert_eq!(choose(&[0, 100], 0), 1);
    }
}
