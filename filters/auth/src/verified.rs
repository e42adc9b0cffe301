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

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

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
}

#[derive(Debug, Default)]
struct Inner {
    by_token: HashMap<Rc<str>, Verified>,
    order: VecDeque<Rc<str>>,
}

impl VerifiedTokens {
    /// A cache of at most `size` tokens (0: none kept).
    pub fn new(size: usize) -> VerifiedTokens {
        VerifiedTokens { size, inner: RefCell::default() }
    }

    /// What is known of `token` (its text as presented), if it verified before.
    pub fn get(&self, token: &str) -> Option<Verified> {
        self.inner.borrow().by_token.get(token).cloned()
    }

    /// Remembers that `token` verified.
    pub fn insert(&self, token: &str, verified: Verified) {
        if self.size == 0 {
            return;
        }
        let mut inner = self.inner.borrow_mut();
        let token: Rc<str> = Rc::from(token);
        if inner.by_token.insert(token.clone(), verified).is_some() {
            return;
        }
        inner.order.push_back(token);
        while inner.order.len() > self.size {
            if let Some(oldest) = inner.order.pop_front() {
                inner.by_token.remove(&oldest);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Verified {
        let token = crate::jwt::parse("eyJhbGciOiJIUzI1NiJ9.e30.AAAA").unwrap();
        Verified { provider: 0, keys: Rc::new(KeySet { keys: Vec::new() }), token: Rc::new(token) }
    }

    #[test]
    fn answers_for_the_same_text_only() {
        let cache = VerifiedTokens::new(2);
        let e = entry();
        cache.insert("t1", e.clone());
        assert!(cache.get("t1").is_some_and(|v| Rc::ptr_eq(&v.keys, &e.keys)));
        assert!(cache.get("t2").is_none());
    }

    #[test]
    fn bounded_oldest_first() {
        let cache = VerifiedTokens::new(2);
        for t in ["t1", "t2", "t1", "t3"] {
            cache.insert(t, entry());
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get("t1").is_none());
        assert!(cache.get("t2").is_some() && cache.get("t3").is_some());
        let off = VerifiedTokens::new(0);
        off.insert("t1", entry());
        assert!(off.get("t1").is_none());
    }
}
