//! Tokens whose signature already verified, so a client that sends the same token on every
//! request pays once for decoding it and checking its signature (an RSA or ECDSA
//! verification, hundreds of µs in Wasm). What the signature proves is cached; the times,
//! audience and route policy are checked on every request.
//!
//! An entry holds the exact token text, the decoded token, its provider and the key set it
//! verified against; it answers only for that same text, and the caller uses it only while
//! the provider still has that same key set, so a JWKS refresh (a new key set) starts over.
//! The cache is per VM (per worker), bounded, and evicts the least recently used entry when
//! full, as Envoy's `jwt_authn` cache (`jwt_cache_config`) does: a token found here becomes
//! the most recent, so the tokens of active clients stay while one-off tokens go first. The
//! recency order is a doubly linked list threaded through the entries (indices, not
//! pointers), so a hit, an insertion and an eviction each cost O(1).
//!
//! A lookup is on every request's path, so it avoids Wasm's slow spots: the bucket is chosen
//! by the XXH3 of the token's last 32 bytes (its signature, as random as it gets; a bucket
//! may hold several tokens and every candidate is compared whole), the comparison reads eight
//! bytes at a time without an early exit (so it vectorises, and takes the same time wherever
//! the texts differ) instead of the byte-by-byte `memcmp` that Rust's wasm32 targets link,
//! and the presented bytes are only checked as UTF-8 for a token not seen before.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::rc::Rc;

use weir_sdk::IntHasher;
use xxhash_rust::xxh3::xxh3_64;

use crate::jwt::Token;
use crate::jwt::admission::Admission;
use crate::jwt::jwks::KeySet;

/// The default number of tokens kept (Envoy's `jwt_cache_size` default).
pub const DEFAULT_SIZE: usize = crate::jwt::config::DEFAULT_VERIFIED_CACHE_SIZE;

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

/// No entry (the end of the recency list).
const NIL: usize = usize::MAX;

/// One cached token and its neighbours in the recency list.
#[derive(Debug)]
struct Entry {
    token: Rc<[u8]>,
    verified: Verified,
    /// The entry used just before this one (towards the least recent), or [`NIL`].
    older: usize,
    /// The entry used just after this one (towards the most recent), or [`NIL`].
    newer: usize,
}

#[derive(Debug)]
struct Inner {
    /// Entries by [`bucket_key`] (indices into `entries`; a bucket may hold several tokens).
    by_hash: HashMap<u64, Vec<usize>, BuildHasherDefault<IntHasher>>,
    /// At most `size` entries; a slot is reused in place when its token is evicted.
    entries: Vec<Entry>,
    /// The least recently used entry, or [`NIL`].
    oldest: usize,
    /// The most recently used entry, or [`NIL`].
    newest: usize,
}

impl Default for Inner {
    fn default() -> Inner {
        Inner { by_hash: HashMap::default(), entries: Vec::new(), oldest: NIL, newest: NIL }
    }
}

/// The bucket of a token: the hash of its last 32 bytes (the signature's end).
fn bucket_key(token: &[u8]) -> u64 {
    xxh3_64(&token[token.len().saturating_sub(32)..])
}

impl Inner {
    /// The entry holding exactly `token`.
    fn find(&self, token: &[u8]) -> Option<usize> {
        let bucket = self.by_hash.get(&bucket_key(token))?;
        bucket.iter().copied().find(|&i| self.entries.get(i).is_some_and(|e| same(&e.token, token)))
    }

    /// Takes entry `i` out of the recency list.
    fn unlink(&mut self, i: usize) {
        let Some(entry) = self.entries.get(i) else { return };
        let (older, newer) = (entry.older, entry.newer);
        match self.entries.get_mut(older) {
            Some(e) => e.newer = newer,
            None => self.oldest = newer,
        }
        match self.entries.get_mut(newer) {
            Some(e) => e.older = older,
            None => self.newest = older,
        }
    }

    /// Puts entry `i` (not in the list) at its most recent end.
    fn push_newest(&mut self, i: usize) {
        let previous = self.newest;
        if let Some(entry) = self.entries.get_mut(i) {
            entry.older = previous;
            entry.newer = NIL;
        }
        match self.entries.get_mut(previous) {
            Some(e) => e.newer = i,
            None => self.oldest = i,
        }
        self.newest = i;
    }

    /// Marks entry `i` as just used.
    fn touch(&mut self, i: usize) {
        if self.newest != i {
            self.unlink(i);
            self.push_newest(i);
        }
    }

    /// Removes slot `i` from the bucket of `token`.
    fn forget(&mut self, token: &[u8], i: usize) {
        let key = bucket_key(token);
        if let Some(bucket) = self.by_hash.get_mut(&key) {
            bucket.retain(|&j| j != i);
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

    /// What is known of `token` (its bytes as presented), if it verified before. A hit makes
    /// it the most recently used token.
    pub fn get(&self, token: &[u8]) -> Option<Verified> {
        let mut inner = self.inner.borrow_mut();
        let i = inner.find(token)?;
        inner.touch(i);
        inner.entries.get(i).map(|e| e.verified.clone())
    }

    /// Remembers that `token` verified, as the most recently used token; when the cache is
    /// full, the least recently used one makes room.
    pub fn insert(&self, token: &[u8], verified: Verified) {
        if self.size == 0 {
            return;
        }
        let mut inner = self.inner.borrow_mut();
        if let Some(i) = inner.find(token) {
            if let Some(entry) = inner.entries.get_mut(i) {
                entry.verified = verified;
            }
            inner.touch(i);
            return;
        }
        let entry = Entry { token: Rc::from(token), verified, older: NIL, newer: NIL };
        let i = if inner.entries.len() < self.size {
            inner.entries.push(entry);
            inner.entries.len() - 1
        } else {
            let i = inner.oldest;
            inner.unlink(i);
            let Some(slot) = inner.entries.get_mut(i) else { return };
            let evicted = std::mem::replace(slot, entry);
            inner.forget(&evicted.token, i);
            i
        };
        inner.by_hash.entry(bucket_key(token)).or_default().push(i);
        inner.push_newest(i);
    }

    /// How many tokens are kept.
    pub fn len(&self) -> usize {
        self.inner.borrow().entries.len()
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
#[path = "verified_tests.rs"]
mod tests;
