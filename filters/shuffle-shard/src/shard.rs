//! Rendezvous (highest-random-weight) shuffle sharding. Pure: no hostcalls, so it is tested
//! natively (`cargo test -p weir-filter-shuffle-shard`).
//!
//! A customer's shard is the `k` hosts of `0..total` with the highest score
//! `XXH64(le64(host), c)` (see [`crate::hash`]), ties broken by the lower index. Because each
//! host's score depends only on the host and the customer, growing `total` from N to N+1 adds
//! one candidate and changes nothing else: a customer's shard changes only when the new host
//! enters its top k (probability k/(N+1)), and then exactly one host is swapped out.
//!
//! Inside the shard, a request goes to the member with the highest `XXH64(le64(host), p)`,
//! where `p` is the request key of the customer and path: the same path always lands on the
//! same host, and a change of the shard moves only the paths whose host left or whose best
//! host joined.

use std::cmp::Ordering;

use crate::hash;

/// Highest score first, then the lower host index (a total order, so every host agrees).
fn rank(a: &(u64, u32), b: &(u64, u32)) -> Ordering {
    b.0.cmp(&a.0).then(a.1.cmp(&b.1))
}

/// A customer's shard: distinct host indices, best-ranked first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shard {
    hosts: Vec<u32>,
}

impl Shard {
    /// The shard of the customer with key `customer_key` (see [`hash::customer_key`]): the
    /// `size` best of `0..total`. `size` is clamped to `1..=total`; `total == 0` gives an
    /// empty shard.
    pub fn compute(customer_key: u64, total: u32, size: u32) -> Shard {
        if total == 0 {
            return Shard::default();
        }
        let k = size.clamp(1, total) as usize;
        let mut scored: Vec<(u64, u32)> = (0..total).map(|h| (hash::score(h, customer_key), h)).collect();
        if k < scored.len() {
            scored.select_nth_unstable_by(k - 1, rank);
            scored.truncate(k);
        }
        scored.sort_unstable_by(rank);
        Shard { hosts: scored.into_iter().map(|(_, h)| h).collect() }
    }

    /// The hosts, best-ranked first.
    pub fn ranked(&self) -> &[u32] {
        &self.hosts
    }

    /// The hosts in ascending index order (as the `x-shard-hosts` header shows them).
    pub fn sorted(&self) -> Vec<u32> {
        let mut hosts = self.hosts.clone();
        hosts.sort_unstable();
        hosts
    }

    /// Number of hosts.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether the shard has no host (only when `total` was 0).
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Whether `host` is in the shard.
    pub fn contains(&self, host: u32) -> bool {
        self.hosts.contains(&host)
    }

    /// The member that serves the request with key `request_key` (see
    /// [`hash::request_key`]): the highest `XXH64(le64(host), request_key)`, ties to the lower
    /// index. `None` for an empty shard.
    pub fn pick(&self, request_key: u64) -> Option<u32> {
        self.hosts.iter().map(|&h| (hash::score(h, request_key), h)).min_by(rank).map(|(_, h)| h)
    }

    /// The member serving `path` for the customer with key `customer_key` (the shard's own
    /// customer): [`Shard::pick`] with the path's request key.
    pub fn pick_path(&self, customer_key: u64, path: &[u8]) -> Option<u32> {
        self.pick(hash::request_key(path, customer_key))
    }
}

/// Where one request goes: the customer's shard and the chosen member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The customer's shard.
    pub shard: Shard,
    /// The chosen host index (a member of `shard`).
    pub host: u32,
}

/// The whole algorithm for one request: customer id and path bytes in, shard and host out.
/// `None` only when `total == 0`.
pub fn assign(customer_id: &[u8], path: &[u8], seed: u64, total: u32, size: u32) -> Option<Assignment> {
    let c = hash::customer_key(customer_id, seed);
    let shard = Shard::compute(c, total, size);
    let host = shard.pick_path(c, path)?;
    Some(Assignment { shard, host })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_is_sorted_by_rank_and_clamped() {
        let c = hash::customer_key(b"customer-A", 0);
        let shard = Shard::compute(c, 10, 3);
        assert_eq!(shard.len(), 3);
        let scores: Vec<u64> = shard.ranked().iter().map(|&h| hash::score(h, c)).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        // The k best are exactly the first k of a full ranking.
        let full = Shard::compute(c, 10, 10);
        assert_eq!(&full.ranked()[..3], shard.ranked());
        assert_eq!(Shard::compute(c, 10, 0).len(), 1, "size 0 clamps to 1");
        assert_eq!(Shard::compute(c, 4, 9).len(), 4, "size > total clamps to total");
        assert!(Shard::compute(c, 0, 3).is_empty());
        assert_eq!(Shard::compute(c, 0, 3).pick(1), None);
    }

    #[test]
    fn pick_is_a_member_and_stable() {
        let a = assign(b"customer-A", b"/orders", 0, 10, 3).unwrap();
        assert!(a.shard.contains(a.host));
        assert_eq!(assign(b"customer-A", b"/orders", 0, 10, 3), Some(a));
        assert_eq!(assign(b"customer-A", b"/orders", 0, 0, 3), None);
    }

    #[test]
    fn rank_breaks_ties_by_index() {
        assert_eq!(rank(&(5, 1), &(5, 2)), Ordering::Less);
        assert_eq!(rank(&(6, 9), &(5, 0)), Ordering::Less);
    }
}
