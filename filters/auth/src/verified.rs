//! Tokens whose signature already verified, so a client that sends the same token on every
//! request pays for the signature check (an RSA or ECDSA verification, hundreds of µs in Wasm)
//! once. Only the signature is cached: the times, issuer, audience and route policy are
//! checked on every request.
//!
//! An entry holds the exact token text and the key set it verified against; it answers only
//! for that same text and that same key set, so a JWKS refresh (a new key set) starts over.
//! The cache is per VM (per worker), bounded, and evicts the oldest entry when full (Envoy's
//! `jwt_authn` has the same kind of cache, `jwt_cache_config`).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use crate::jwks::KeySet;

/// The default number of tokens kept (Envoy's `jwt_cache_size` default).
pub const DEFAULT_SIZE: usize = 100;

/// Verified tokens, by token text.
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    size: usize,
    inner: RefCell<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    keys_by_token: HashMap<Rc<str>, Rc<KeySet>>,
    order: VecDeque<Rc<str>>,
}

impl VerifiedTokens {
    /// A cache of at most `size` tokens (0: none kept).
    pub fn new(size: usize) -> VerifiedTokens {
        VerifiedTokens { size, inner: RefCell::default() }
    }

    /// Whether `token` verified against this very key set.
    pub fn contains(&self, token: &str, keys: &Rc<KeySet>) -> bool {
        self.inner.borrow().keys_by_token.get(token).is_some_and(|k| Rc::ptr_eq(k, keys))
    }

    /// Remembers that `token` verified against `keys`.
    pub fn insert(&self, token: &str, keys: &Rc<KeySet>) {
        if self.size == 0 {
            return;
        }
        let mut inner = self.inner.borrow_mut();
        let token: Rc<str> = Rc::from(token);
        if inner.keys_by_token.insert(token.clone(), keys.clone()).is_some() {
            return;
        }
        inner.order.push_back(token);
        while inner.order.len() > self.size {
            if let Some(oldest) = inner.order.pop_front() {
                inner.keys_by_token.remove(&oldest);
            }
        }
    }

    /// How many tokens are kept.
    pub fn len(&self) -> usize {
        self.inner.borrow().order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Rc<KeySet> {
        Rc::new(KeySet { keys: Vec::new() })
    }

    #[test]
    fn answers_only_for_the_same_token_and_key_set() {
        let cache = VerifiedTokens::new(2);
        let (a, b) = (keys(), keys());
        cache.insert("t1", &a);
        assert!(cache.contains("t1", &a));
        assert!(!cache.contains("t1", &b), "a refreshed key set starts over");
        assert!(!cache.contains("t2", &a));
    }

    #[test]
    fn bounded_oldest_first() {
        let cache = VerifiedTokens::new(2);
        let k = keys();
        for t in ["t1", "t2", "t1", "t3"] {
            cache.insert(t, &k);
        }
        assert_eq!(cache.len(), 2);
        assert!(!cache.contains("t1", &k));
        assert!(cache.contains("t2", &k) && cache.contains("t3", &k));
        let off = VerifiedTokens::new(0);
        off.insert("t1", &k);
        assert!(!off.contains("t1", &k));
    }
}
