//! Consistent hashing tables: Maglev (Google's lookup table) and a ketama-style ring.

/// Size of the Maglev table (a prime, as in Envoy's default).
pub const MAGLEV_SIZE: usize = 65_537;

/// Points per endpoint on the ring.
pub const RING_POINTS: usize = 1024;

/// The 64-bit hash used for endpoints and request keys (xxHash64, seed 0, as Envoy).
pub fn hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(bytes, 0)
}

/// Builds a Maglev lookup table over `names` (one per endpoint): each slot holds an endpoint
/// index. Removing an endpoint moves only the slots it held (plus a small amount of churn).
pub fn maglev(names: &[String]) -> Vec<u32> {
    let n = names.len();
    if n == 0 {
        return Vec::new();
    }
    let m = MAGLEV_SIZE as u64;
    let perms: Vec<(u64, u64)> = names
        .iter()
        .map(|name| {
            let offset = xxhash_rust::xxh64::xxh64(name.as_bytes(), 0) % m;
            let skip = xxhash_rust::xxh64::xxh64(name.as_bytes(), 1) % (m - 1) + 1;
            (offset, skip)
        })
        .collect();
    let mut next = vec![0u64; n];
    let mut table = vec![u32::MAX; MAGLEV_SIZE];
    let mut filled = 0;
    'outer: loop {
        for i in 0..n {
            let (offset, skip) = perms[i];
            let mut c = (offset + next[i] * skip) % m;
            while table[c as usize] != u32::MAX {
                next[i] += 1;
                c = (offset + next[i] * skip) % m;
            }
            table[c as usize] = i as u32;
            next[i] += 1;
            filled += 1;
            if filled == MAGLEV_SIZE {
                break 'outer;
            }
        }
    }
    table
}

/// Builds a ring of `(point, endpoint index)` sorted by point.
pub fn ring(names: &[String]) -> Vec<(u64, u32)> {
    let mut ring = Vec::with_capacity(names.len() * RING_POINTS);
    for (i, name) in names.iter().enumerate() {
        for replica in 0..RING_POINTS {
            ring.push((hash(format!("{name}_{replica}").as_bytes()), i as u32));
        }
    }
    ring.sort_unstable();
    ring
}

/// The ring endpoint for a key hash: the first point at or after it (wrapping).
pub fn ring_lookup(ring: &[(u64, u32)], key: u64) -> Option<u32> {
    if ring.is_empty() {
        return None;
    }
    let at = ring.partition_point(|(p, _)| *p < key);
    Some(ring[at % ring.len()].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("10.0.0.{i}:80")).collect()
    }

    #[test]
    fn maglev_is_balanced_and_minimally_disrupted() {
        let before = maglev(&names(10));
        let mut counts = [0usize; 10];
        for &i in &before {
            counts[i as usize] += 1;
        }
        let expected = MAGLEV_SIZE / 10;
        assert!(counts.iter().all(|c| c.abs_diff(expected) < expected / 50), "{counts:?}");
        // Remove endpoint 9: its slots move; few others do.
        let after = maglev(&names(9));
        let moved = before.iter().zip(&after).filter(|(b, a)| b != a && **b != 9).count();
        assert!(moved < MAGLEV_SIZE / 50, "{moved} slots of surviving endpoints moved");
    }

    #[test]
    fn ring_lookup_wraps_and_moves_little() {
        let before = ring(&names(5));
        let after = ring(&names(4));
        let keys: Vec<u64> = (0..10_000u64).map(|k| hash(&k.to_le_bytes())).collect();
        let moved = keys
            .iter()
            .filter(|k| {
                let b = ring_lookup(&before, **k);
                b != Some(4) && b != ring_lookup(&after, **k)
            })
            .count();
        assert_eq!(moved, 0);
        assert_eq!(ring_lookup(&[], 5), None);
    }
}
