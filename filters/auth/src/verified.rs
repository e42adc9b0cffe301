//! Tokens whose signature already verified, so a client that sends the same token on every
//! request pays once for decoding it and checking its signature (an RSA or ECDSA
//! verification, hundreds of µs in Wasm). What the signature proves is cached; the times,
//! audience and route policy are checked on every request.
//!
//! An entry holds the exact token text, the decoded token, its provider and the key set it
//! verified against; it answers only for that same text, and the caller uses it only while
//! the provider still has that same key set, so a JWKS refresh (a new key set) starts over.
//! The cache is per VM (per worker), bounded, and evicts the oldest entry when full (Envoy's
//! `jwt_authn` has the same kind of cache, `jwt_cache_config`).
//!
//! A lookup is on every request's path, so it avoids Wasm's slow spots: the bucket is chosen
//! by the XXH3 of the token's last 32 bytes (its signature, as random as it gets; a bucket
//! may hold several tokens and every candidate is compared whole), the comparison reads eight
//! bytes at a time without an early exit (so it vectorises, and takes the same time wherever
//! the texts differ) instead of the byte-by-byte `memcmp` that Rust's wasm32 targets link,
//! and the presented bytes are only checked as UTF-8 for a token not seen before.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasherDefault;
use std::rc::Rc;

use weir_sdk::IntHasher;
use xxhash_rust::xxh3::xxh3_64;

use crate::admission::Admission;
use crate::jwks::KeySet;
use crate::jwt::Token;

/// The default number of tokens kept (Envoy's `jwt_cache_size` default).
pub const DEFAULT_SIZE: usize = 100;

/// Verified tokens, by token text.
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    size: usize,
    inner: RefCell<Inner>,
}

/// A token whose signature verified.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The index of the provider that accepted it.
    pub provider: usize,
    /// The key set it verified against.
    pub keys: Rc<KeySet>,
    /// The decoded token.
    pub token: Rc<Token>,
    /// Its claims as the per-request checks need them.
    pub admission: Rc<Admission>,
}

/// The tokens that share a [`bucket_key`].
type Bucket = Vec<(Rc<[u8]>, Verified)>;

#[derive(Debug, Default)]
struct Inner {
    /// By [`bucket_key`].
    by_hash: HashMap<u64, Bucket, BuildHasherDefault<IntHasher>>,
    /// Oldest first.
    order: VecDeque<Rc<[u8]>>,
}

/// The bucket of a token: the hash of its last 32 bytes (the signature's end).
fn bucket_key(token: &[u8]) -> u64 {
    xxh3_64(&token[token.len().saturating_sub(32)..])
}

impl Inner {
    fn bucket(&self, token: &[u8]) -> Option<&Bucket> {
        self.by_hash.get(&bucket_key(token))
    }

    fn remove(&mut self, token: &[u8]) {
        let key = bucket_key(token);
        if let Some(bucket) = self.by_hash.get_mut(&key) {
            bucket.retain(|(t, _)| !same(t, token));
            if bucket.is_empty() {
                self.by_hash.remove(&key);
            }
        }
    }
}

impl VerifiedTokens {
    /// A cache of at most `size` tokens (0: none kept).
    pub fn new(size: usize) -> VerifiedTokens {
        VerifiedTokens { size, inner: RefCell::default() }
    }

    /// What is known of `token` (its bytes as presented), if it verified before.
    pub fn get(&self, token: &[u8]) -> Option<Verified> {
        let inner = self.inner.borrow();
        inner.bucket(token)?.iter().find(|(t, _)| same(t, token)).map(|(_, v)| v.clone())
    }

    /// Remembers that `token` verified.
    pub fn insert(&self, token: &[u8], verified: Verified) {
        if self.size == 0 {
            return;
        }
        let mut inner = self.inner.borrow_mut();
        let bucket = inner.by_hash.entry(bucket_key(token)).or_default();
        if let Some(slot) = bucket.iter_mut().find(|(t, _)| same(t, token)) {
            slot.1 = verified;
            return;
        }
        let token: Rc<[u8]> = Rc::from(token);
        bucket.push((token.clone(), verified));
        inner.order.push_back(token);
        while inner.order.len() > self.size {
            if let Some(oldest) = inner.order.pop_front() {
                inner.remove(&oldest);
            }
        }
    }

    /// How many tokens are kept.
    pub fn len(&self) -> usize {
        self.inner.borrow().order.len()
    }

    /// Whether no token is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Equal bytes, every byte looked at (no early exit). Written as a byte-wise fold so that
/// the compiler vectorises it (16 bytes per step with Wasm SIMD).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Verified {
        let token = crate::jwt::parse("eyJhbGciOiJIUzI1NiJ9.e30.AAAA").unwrap();
        Verified {
            provider: 0,
            keys: Rc::new(KeySet { keys: Vec::new() }),
            token: Rc::new(token),
            admission: Rc::new(Admission::unchecked()),
        }
    }

    #[test]
    fn compares_every_byte() {
        let long = "a".repeat(37);
        for len in [0, 1, 7, 8, 9, 16, 37] {
            let a = &long[..len];
            assert!(same(a.as_bytes(), a.as_bytes()));
            for at in 0..len {
                let mut b = a.as_bytes().to_vec();
                b[at] = b'b';
                assert!(!same(a.as_bytes(), &b), "len {len}, differs at {at}");
            }
        }
        assert!(!same(b"abc", b"abcd"));
    }

    #[test]
    fn answers_for_the_same_text_only() {
        let cache = VerifiedTokens::new(2);
        let e = entry();
        cache.insert(b"t1", e.clone());
        assert!(cache.get(b"t1").is_some_and(|v| Rc::ptr_eq(&v.keys, &e.keys)));
        assert!(cache.get(b"t2").is_none());
    }

    #[test]
    fn bounded_oldest_first() {
        let cache = VerifiedTokens::new(2);
        for t in [b"t1", b"t2", b"t1", b"t3"] {
            cache.insert(t, entry());
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get(b"t1").is_none());
        assert!(cache.get(b"t2").is_some() && cache.get(b"t3").is_some());
        assert_eq!(
            cache.inner.borrow().by_hash.values().map(Vec::len).sum::<usize>(),
            2,
            "evicted entries leave"
        );
        let off = VerifiedTokens::new(0);
        off.insert(b"t1", entry());
        assert!(off.get(b"t1").is_none());
    }
}
