//! Shards already computed, per VM (per worker). A shard costs `total_hosts` hashes, and the
//! same customers come back request after request, so each (customer key, total, size) is
//! computed once, with its `x-shard-hosts` text. The customer key is XXH64 of the id and the
//! seed, and a shard depends on nothing else: two ids with the same key share a shard by
//! construction, so the key alone identifies an entry.
//!
//! Bounded: when [`CAPACITY`] entries are held the cache starts over (a shard is cheap to
//! compute again; what matters is that a steady set of customers hits).

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::rc::Rc;

use weir_sdk::IntHasher;

use crate::headers::hosts_list;
use crate::shard::Shard;

/// Most shards kept per VM.
pub const CAPACITY: usize = 1024;

/// A computed shard and its header text.
#[derive(Debug)]
pub struct Cached {
    /// The shard, best-ranked host first.
    pub shard: Shard,
    /// Its hosts, ascending, comma-separated (`x-shard-hosts`).
    pub hosts: String,
}

/// (customer key, total, size).
type Key = (u64, u32, u32);

/// The shard cache (the key is already a hash: [`IntHasher`] only mixes its integers).
#[derive(Debug, Default)]
pub struct ShardCache {
    entries: RefCell<HashMap<Key, Rc<Cached>, BuildHasherDefault<IntHasher>>>,
}

impl ShardCache {
    /// The shard of `customer_key` among `total` hosts with `size` hosts, computed on a miss.
    pub fn get(&self, customer_key: u64, total: u32, size: u32) -> Rc<Cached> {
        let key = (customer_key, total, size);
        if let Some(hit) = self.entries.borrow().get(&key) {
            return hit.clone();
        }
        let shard = Shard::compute(customer_key, total, size);
        let cached = Rc::new(Cached { hosts: hosts_list(shard.ranked()), shard });
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, cached.clone());
        cached
    }

    /// Shards held.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::customer_key;

    #[test]
    fn hits_match_a_fresh_computation_and_stay_bounded() {
        let cache = ShardCache::default();
        for round in 0..2 {
            for c in 0..100u32 {
                let key = customer_key(format!("customer-{c}").as_bytes(), 7);
                let cached = cache.get(key, 50, 5);
                assert_eq!(cached.shard, Shard::compute(key, 50, 5), "round {round}");
                assert_eq!(cached.hosts, hosts_list(cached.shard.ranked()));
            }
        }
        assert_eq!(cache.len(), 100);
        let key = customer_key(b"c", 0);
        assert_ne!(cache.get(key, 50, 5).shard, cache.get(key, 50, 6).shard, "size is part of the key");
        for c in 0..CAPACITY as u64 {
            cache.get(c, 4, 2);
        }
        assert!(cache.len() <= CAPACITY);
    }
}
