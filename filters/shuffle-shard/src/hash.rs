//! The pinned hash of the shard algorithm: **XXH64** (xxHash, 64-bit variant, as specified in
//! <https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md>), with its `seed` argument.
//!
//! Everything the filter derives is one of three XXH64 calls, so any language with an XXH64
//! implementation that takes a seed reproduces the same shards:
//!
//! | value | definition |
//! |---|---|
//! | customer key | `c = XXH64(customer_id_bytes, seed)` |
//! | host score for a customer | `XXH64(le64(host_index), c)` |
//! | request key | `p = XXH64(path_bytes, c)` |
//! | host score for a request | `XXH64(le64(host_index), p)` |
//!
//! `seed` is the plugin's configured `seed` (default 0), `le64(i)` the host index as 8 bytes,
//! little-endian, and `customer_id_bytes` / `path_bytes` the raw header bytes. Changing the
//! seed (or this file) reshuffles every customer: treat both as part of the wire contract.

use xxhash_rust::xxh64::xxh64;

/// XXH64 of `bytes` with `seed`.
pub fn xxh64_seeded(bytes: &[u8], seed: u64) -> u64 {
    xxh64(bytes, seed)
}

/// The customer key `c = XXH64(customer_id, seed)`.
pub fn customer_key(customer_id: &[u8], seed: u64) -> u64 {
    xxh64(customer_id, seed)
}

/// The request key `p = XXH64(path, c)`: the same customer and path give the same key.
pub fn request_key(path: &[u8], customer_key: u64) -> u64 {
    xxh64(path, customer_key)
}

/// A host's rendezvous score under `key`: `XXH64(le64(host), key)`. Higher wins.
pub fn score(host: u32, key: u64) -> u64 {
    xxh64(&u64::from(host).to_le_bytes(), key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from the xxHash specification's test vectors (and the C
    /// implementation, `xxhsum -H64`), so a change of crate cannot change the hash unnoticed.
    #[test]
    fn xxh64_matches_the_reference_implementation() {
        assert_eq!(xxh64_seeded(b"", 0), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64_seeded(b"a", 0), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxh64_seeded(b"abc", 0), 0x44BC_2CF5_AD77_0999);
        let long = b"Nobody inspects the spammish repetition"; // ≥ 32 bytes: the striped path
        assert_eq!(xxh64_seeded(long, 0), 0xFBCE_A83C_8A37_8BF1);
        assert_eq!(xxh64_seeded(long, 20_141_025), 0xCE06_9361_3685_2706);
    }

    #[test]
    fn derived_keys_are_pinned() {
        let c = customer_key(b"customer-A", 0);
        assert_eq!(c, xxh64_seeded(b"customer-A", 0));
        assert_ne!(customer_key(b"customer-A", 1), c, "the seed changes the key");
        assert_eq!(score(3, c), xxh64_seeded(&[3, 0, 0, 0, 0, 0, 0, 0], c));
        assert_eq!(request_key(b"/orders", c), xxh64_seeded(b"/orders", c));
    }
}
