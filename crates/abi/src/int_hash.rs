//! A hasher for maps keyed by integers: context ids (small, sequential) and keys that are
//! already hashes. A multiply per integer instead of SipHash, which is slow in Wasm and more
//! than such keys need; the host's context map and the guests' caches use it.

use std::hash::Hasher;

/// Mixes each integer written with a rotate, an xor and a multiply (Fibonacci hashing). Use it
/// as `HashMap<K, V, BuildHasherDefault<IntHasher>>` for integer keys only: it is not meant to
/// resist keys chosen by an attacker.
#[derive(Debug, Default, Clone, Copy)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::*;

    #[test]
    fn spreads_sequential_ids_and_tuples() {
        let build = BuildHasherDefault::<IntHasher>::default();
        let ids: HashSet<u64> = (0..10_000u32).map(|id| build.hash_one(id) >> 57).collect();
        assert_eq!(ids.len(), 128, "sequential ids reach every top-7-bit group");
        assert_ne!(build.hash_one((1u64, 2u32, 3u32)), build.hash_one((1u64, 3u32, 2u32)), "order matters");
    }
}
