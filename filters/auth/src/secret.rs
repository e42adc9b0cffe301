//! API keys and Basic credentials, compared in constant time.
//!
//! Every secret is kept as its SHA-256 digest (computed at configuration from a clear-text
//! entry, or given as hex). A presented secret is hashed once and compared with **every**
//! stored digest using `subtle`'s constant-time equality, without stopping at a match, so the
//! time taken tells nothing about which key (or how much of one) matched. Digests all have
//! the same length, so the key's length does not leak either.
//!
//! Basic usernames are kept and compared the same way: a lookup hashes the presented
//! username and password and compares both with every consumer's, so neither a map probe nor
//! an early exit tells a client which usernames exist.

use sha2::{Digest as _, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// A SHA-256 digest.
pub type Digest = [u8; 32];

/// SHA-256 of `bytes`.
pub fn digest(bytes: &[u8]) -> Digest {
    Sha256::digest(bytes).into()
}

/// Parses a hex SHA-256 digest (64 hex digits, either case).
pub fn parse_hex_digest(hex: &str) -> Result<Digest, String> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return Err(format!("a SHA-256 digest has 64 hex digits, not {}", bytes.len()));
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = hex_value(pair[0]).ok_or("not a hex digit")?;
        let lo = hex_value(pair[1]).ok_or("not a hex digit")?;
        out[i] = (hi << 4) | lo;
    }
    Ok(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A consumer known by API key or Basic credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// Its name.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
}

/// The consumers' secrets.
#[derive(Debug, Clone, Default)]
pub struct Store {
    consumers: Vec<Consumer>,
    api_keys: Vec<(Digest, u32)>,
    /// Username digest, password digest, consumer index.
    basic: Vec<(Digest, Digest, u32)>,
}

impl Store {
    /// Adds a consumer; returns its index for [`Store::add_api_key`] / [`Store::add_basic`].
    pub fn add_consumer(&mut self, consumer: Consumer) -> u32 {
        self.consumers.push(consumer);
        u32::try_from(self.consumers.len() - 1).unwrap_or(u32::MAX)
    }

    /// Adds an API key digest for consumer `index`; an error if another consumer has it.
    pub fn add_api_key(&mut self, key: Digest, index: u32) -> Result<(), String> {
        if let Some((_, other)) = self.api_keys.iter().find(|(k, _)| *k == key) {
            let name = self.consumers.get(*other as usize).map_or("", |c| c.name.as_str());
            return Err(format!("an API key is given twice (also for consumer `{name}`)"));
        }
        self.api_keys.push((key, index));
        Ok(())
    }

    /// Adds Basic credentials for consumer `index`; an error if the username is taken.
    pub fn add_basic(&mut self, username: &str, password: Digest, index: u32) -> Result<(), String> {
        let user = digest(username.as_bytes());
        if self.basic.iter().any(|(u, _, _)| *u == user) {
            return Err(format!("Basic username `{username}` is given twice"));
        }
        self.basic.push((user, password, index));
        Ok(())
    }

    /// Whether any consumer has Basic credentials (Basic is then accepted).
    pub fn has_basic(&self) -> bool {
        !self.basic.is_empty()
    }

    /// Whether any consumer has an API key.
    pub fn has_api_keys(&self) -> bool {
        !self.api_keys.is_empty()
    }

    /// The consumer owning `key`, comparing against every stored key in constant time.
    pub fn api_key(&self, key: &[u8]) -> Option<&Consumer> {
        let presented = digest(key);
        // 0: none; otherwise index + 1. Updated without branching on secret data.
        let mut found = 0u32;
        for (stored, index) in &self.api_keys {
            let hit = stored.ct_eq(&presented);
            found.conditional_assign(&index.saturating_add(1), hit);
        }
        found.checked_sub(1).and_then(|i| self.consumers.get(i as usize))
    }

    /// The consumer with this Basic username and password. Both are hashed and compared with
    /// every consumer's in constant time, whether or not the username exists.
    pub fn basic(&self, username: &[u8], password: &[u8]) -> Option<&Consumer> {
        let (user, presented) = (digest(username), digest(password));
        // 0: none; otherwise index + 1. Updated without branching on secret data.
        let mut found = 0u32;
        for (stored_user, stored_password, index) in &self.basic {
            let hit = stored_user.ct_eq(&user) & stored_password.ct_eq(&presented);
            found.conditional_assign(&index.saturating_add(1), hit);
        }
        found.checked_sub(1).and_then(|i| self.consumers.get(i as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        let mut s = Store::default();
        let a = s.add_consumer(Consumer { name: "alice".into(), scopes: vec![] });
        let b = s.add_consumer(Consumer { name: "bob".into(), scopes: vec!["read".into()] });
        s.add_api_key(digest(b"key-a"), a).unwrap();
        s.add_api_key(digest(b"key-b"), b).unwrap();
        s.add_api_key(digest(b"key-b2"), b).unwrap();
        s.add_basic("alice", digest(b"s3cret"), a).unwrap();
        s.add_basic("bob", digest(b"hunter2"), b).unwrap();
        s
    }

    #[test]
    fn api_keys_find_their_consumer() {
        let s = store();
        assert_eq!(s.api_key(b"key-a").unwrap().name, "alice");
        assert_eq!(s.api_key(b"key-b2").unwrap().name, "bob");
        assert!(s.api_key(b"key-").is_none());
        assert!(s.api_key(b"").is_none());
        assert!(s.api_key(b"key-a ").is_none());
    }

    #[test]
    fn basic_needs_user_and_password() {
        let s = store();
        assert_eq!(s.basic(b"alice", b"s3cret").unwrap().name, "alice");
        assert!(s.basic(b"alice", b"s3cret!").is_none());
        assert!(s.basic(b"bob", b"s3cret").is_none(), "another consumer's password");
        assert_eq!(s.basic(b"bob", b"hunter2").unwrap().name, "bob");
        assert!(s.basic(b"alic", b"s3cret").is_none());
        assert!(s.basic(b"mallory", b"s3cret").is_none());
        assert!(s.basic(b"", b"").is_none());
    }

    #[test]
    fn duplicates_are_refused() {
        let mut s = store();
        assert!(s.add_api_key(digest(b"key-a"), 1).unwrap_err().contains("alice"));
        assert!(s.add_basic("alice", digest(b"x"), 1).is_err());
    }

    #[test]
    fn hex_digests() {
        let d = parse_hex_digest("2BB80D537B1DA3E38BD30361AA855686BDE0EACD7162FEF6A25FE97BF527A25B").unwrap();
        assert_eq!(d, digest(b"secret"));
        assert!(parse_hex_digest("abc").is_err());
        assert!(parse_hex_digest(&"g".repeat(64)).is_err());
    }
}
