//! Consistent hashing tables: Maglev (Google's lookup table) and a ketama-style ring, built as
//! Envoy builds them (same hashes, same order, same sizes), so that a key picks the same
//! endpoint in weir as in Envoy: sticky sessions survive a move between the two.

/// Size of the Maglev table (a prime, as in Envoy's default).
pub const MAGLEV_SIZE: usize = 65_537;

/// The ring's minimum size (Envoy's default `minimum_ring_size`).
pub const RING_MIN_SIZE: usize = 1024;

/// The ring's maximum size (Envoy's default `maximum_ring_size`).
const RING_MAX_SIZE: f64 = 8_388_608.0;

/// The 64-bit hash used for endpoints and request keys (xxHash64, seed 0, as Envoy).
pub fn hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(bytes, 0)
}

/// Builds a Maglev lookup table over `names` (one per endpoint, `ip:port`): each slot holds an
/// endpoint index. Endpoints take turns in the order of their names, as in Envoy (which sorts
/// them so the table does not depend on their order). Removing an endpoint moves only the slots
/// it held (plus a small amount of churn).
pub fn maglev(names: &[String]) -> Vec<u32> {
    let n = names.len();
    if n == 0 {
        return Vec::new();
    }
    let m = MAGLEV_SIZE as u64;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| names[*a].cmp(&names[*b]));
    let perms: Vec<(u64, u64, u32)> = order
        .iter()
        .map(|&i| {
            let name = names[i].as_bytes();
            let offset = xxhash_rust::xxh64::xxh64(name, 0) % m;
            let skip = xxhash_rust::xxh64::xxh64(name, 1) % (m - 1) + 1;
            (offset, skip, i as u32)
        })
        .collect();
    let mut next = vec![0u64; n];
    let mut table = vec![u32::MAX; MAGLEV_SIZE];
    let mut filled = 0;
    'outer: loop {
        for i in 0..n {
            let (offset, skip, endpoint) = perms[i];
            let mut c = (offset + next[i] * skip) % m;
            while table[c as usize] != u32::MAX {
                next[i] += 1;
                c = (offset + next[i] * skip) % m;
            }
            table[c as usize] = endpoint;
            next[i] += 1;
            filled += 1;
            if filled == MAGLEV_SIZE {
                break 'outer;
            }
        }
    }
    table
}

/// Builds a ring of `(point, endpoint index)` sorted by point: as Envoy, endpoints of equal
/// weight share at least [`RING_MIN_SIZE`] points (each gets `ceil(1024 / n)`, computed with
/// Envoy's floating-point steps), point `k` of an endpoint being the hash of `ip:port_k`.
pub fn ring(names: &[String]) -> Vec<(u64, u32)> {
    if names.is_empty() {
        return Vec::new();
    }
    let weight = 1.0 / names.len() as f64;
    let scale = ((weight * RING_MIN_SIZE as f64).ceil() / weight).min(RING_MAX_SIZE);
    let mut ring = Vec::with_capacity(scale.ceil() as usize);
    let (mut current, mut target) = (0.0_f64, 0.0_f64);
    for (i, name) in names.iter().enumerate() {
        target += scale * weight;
        let mut replica = 0u64;
        while current < target {
            ring.push((hash(format!("{name}_{replica}").as_bytes()), i as u32));
            replica += 1;
            current += 1.0;
        }
    }
    ring.sort_by_key(|(point, _)| *point);
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
        // The survivors get more points each (ceil(1024/4) instead of ceil(1024/5)), so a few of
        // their keys move between them, as in Envoy.
        assert!(moved < keys.len() / 10, "{moved} keys of surviving endpoints moved");
        assert_eq!(ring_lookup(&[], 5), None);
        assert_eq!(before.len(), 5 * 205);
        assert_eq!(ring(&names(3)).len(), 3 * 342);
    }
}
