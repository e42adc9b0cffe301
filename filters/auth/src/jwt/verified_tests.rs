//! The verified-token cache: exact matches only, constant-time comparison, LRU eviction.

#![allow(clippy::unwrap_used)]

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
fn bounded_least_recently_used_first() {
    let cache = VerifiedTokens::new(2);
    for t in [b"t1", b"t2", b"t1", b"t3"] {
        cache.insert(t, entry());
    }
    assert_eq!(cache.len(), 2);
    // Inserting t1 again made it the most recent: t2 went.
    assert!(cache.get(b"t2").is_none());
    assert!(cache.get(b"t1").is_some() && cache.get(b"t3").is_some());
    assert_eq!(
        cache.inner.borrow().by_hash.values().map(Vec::len).sum::<usize>(),
        2,
        "evicted entries leave"
    );
    let off = VerifiedTokens::new(0);
    off.insert(b"t1", entry());
    assert!(off.get(b"t1").is_none());
}

#[test]
fn a_hit_keeps_a_token() {
    let cache = VerifiedTokens::new(3);
    for t in [b"t1", b"t2", b"t3"] {
        cache.insert(t, entry());
    }
    // t1 is the oldest insertion, but in use: the unused t2 and t3 go first.
    assert!(cache.get(b"t1").is_some());
    cache.insert(b"t4", entry());
    assert!(cache.get(b"t2").is_none());
    assert!(cache.get(b"t1").is_some());
    cache.insert(b"t5", entry());
    assert!(cache.get(b"t3").is_none());
    for t in [b"t1", b"t4", b"t5"] {
        assert!(cache.get(t).is_some(), "{t:?}");
    }
}

/// Against a model (a list, most recent last) over a long pseudo-random sequence of
/// inserts and lookups on few tokens, so that hits, refreshes and evictions all happen.
#[test]
fn agrees_with_a_model_lru() {
    for size in [1, 2, 3, 7] {
        let cache = VerifiedTokens::new(size);
        let mut model: Vec<Vec<u8>> = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let token = format!("token-{}", seed % 11).into_bytes();
            let at = model.iter().position(|t| *t == token);
            if seed & 0x100 == 0 {
                assert_eq!(cache.get(&token).is_some(), at.is_some(), "size {size}");
                if let Some(at) = at {
                    let t = model.remove(at);
                    model.push(t);
                }
            } else {
                cache.insert(&token, entry());
                if let Some(at) = at {
                    model.remove(at);
                } else if model.len() == size {
                    model.remove(0);
                }
                model.push(token);
            }
            assert_eq!(cache.len(), model.len());
        }
        // The recency list walks the model's order.
        let inner = cache.inner.borrow();
        let mut order = Vec::new();
        let mut i = inner.oldest;
        while let Some(e) = inner.entries.get(i) {
            order.push(e.token.to_vec());
            i = e.newer;
        }
        assert_eq!(order, model, "size {size}");
    }
}
