//! The header map plugins see: ordered `(name, value)` byte pairs, names lower-case,
//! pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`, `:status`) first, as in Envoy.
//! Values are raw bytes (not necessarily UTF-8).
//!
//! A name HTTP can carry is kept as the [`http::HeaderName`] it came with (from hyper) or was
//! parsed into once (from a plugin), so names pass from hyper to the plugins and back without
//! being copied or parsed again; values arriving together share one buffer.

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};
use http::header::HeaderName;

/// A header name: lower-case bytes, kept with their length (a lookup compares lengths
/// first, and most names differ in length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    len: usize,
    repr: Repr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    /// A name HTTP can carry.
    Http(HeaderName),
    /// A pseudo-header, or a name HTTP cannot carry (dropped when the headers are sent).
    Raw(Bytes),
}

impl Name {
    /// The name given as bytes (any case): lower-cased, parsed once into a [`HeaderName`]
    /// when HTTP can carry it.
    pub fn parse(name: &[u8]) -> Name {
        if name.first() == Some(&b':') {
            return Name::raw(Bytes::from(name.to_ascii_lowercase()));
        }
        match HeaderName::from_bytes(name) {
            Ok(header) => Name::from(header),
            Err(_) => Name::raw(Bytes::from(name.to_ascii_lowercase())),
        }
    }

    /// A pseudo-header name (`:path`, ...).
    pub const fn pseudo(name: &'static str) -> Name {
        Name::raw(Bytes::from_static(name.as_bytes()))
    }

    const fn raw(name: Bytes) -> Name {
        Name { len: name.len(), repr: Repr::Raw(name) }
    }

    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.repr {
            Repr::Http(name) => name.as_str().as_bytes(),
            Repr::Raw(name) => name,
        }
    }

    /// The name as HTTP carries it; `None` for pseudo-headers and names HTTP cannot carry.
    pub fn http(&self) -> Option<&HeaderName> {
        match &self.repr {
            Repr::Http(name) => Some(name),
            Repr::Raw(_) => None,
        }
    }

    /// Whether this is `name` (compared without regard to ASCII case; names asked for are
    /// nearly always lower-case already, so an exact compare runs first).
    fn is(&self, name: &[u8]) -> bool {
        if self.len != name.len() {
            return false;
        }
        let own = self.as_bytes();
        own == name || own.eq_ignore_ascii_case(name)
    }

    /// Whether this is a pseudo-header.
    pub fn is_pseudo(&self) -> bool {
        matches!(&self.repr, Repr::Raw(name) if name.starts_with(b":"))
    }
}

impl AsRef<[u8]> for Name {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<HeaderName> for Name {
    fn from(name: HeaderName) -> Name {
        Name { len: name.as_str().len(), repr: Repr::Http(name) }
    }
}

impl From<&str> for Name {
    fn from(name: &str) -> Name {
        Name::parse(name.as_bytes())
    }
}

impl From<String> for Name {
    fn from(name: String) -> Name {
        Name::parse(name.as_bytes())
    }
}

impl From<Bytes> for Name {
    fn from(name: Bytes) -> Name {
        Name::parse(&name)
    }
}

impl From<&[u8]> for Name {
    fn from(name: &[u8]) -> Name {
        Name::parse(name)
    }
}

/// The header names a VM's plugins set, parsed once: a plugin sets the same few names on
/// every request, and parsing a name HTTP does not know allocates. Bounded; names past the
/// bound are parsed each time.
#[derive(Debug, Default)]
pub struct NameCache {
    names: RefCell<Vec<HeaderName>>,
}

impl NameCache {
    /// Most names kept.
    pub const CAPACITY: usize = 32;

    /// [`Name::parse`], answered from the cache when the name was seen before.
    pub fn parse(&self, name: &[u8]) -> Name {
        if let Some(known) = self.names.borrow().iter().find(|n| n.as_str().as_bytes() == name) {
            return Name::from(known.clone());
        }
        let parsed = Name::parse(name);
        if let Some(header) = parsed.http() {
            let mut names = self.names.borrow_mut();
            if names.len() < Self::CAPACITY {
                names.push(header.clone());
            }
        }
        parsed
    }
}

/// An ordered multi-map of header names to values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderMap {
    entries: Vec<(Name, Bytes)>,
}

impl HeaderMap {
    /// An empty map with room for `n` headers.
    pub fn with_capacity(n: usize) -> HeaderMap {
        HeaderMap { entries: Vec::with_capacity(n) }
    }

    /// Number of entries (pseudo-headers included), as passed to `proxy_on_*_headers`.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first value of `name` (Envoy returns only the first of a repeated header).
    pub fn get(&self, name: &[u8]) -> Option<&Bytes> {
        self.entries.iter().find(|(k, _)| k.is(name)).map(|(_, v)| v)
    }

    /// The first value of `name` as UTF-8, if it is.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name.as_bytes()).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name`.
    pub fn get_all<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.entries.iter().filter(move |(k, _)| k.is(name)).map(|(_, v)| v)
    }

    /// Appends a value (pseudo-headers go before regular headers).
    pub fn add(&mut self, name: impl Into<Name>, value: impl Into<Bytes>) {
        let name = name.into();
        let value = value.into();
        if name.is_pseudo() {
            let at = self.entries.iter().take_while(|(k, _)| k.is_pseudo()).count();
            self.entries.insert(at, (name, value));
        } else {
            self.entries.push((name, value));
        }
    }

    /// Replaces every value of `name` with one value (added if absent). A pseudo-header keeps
    /// its position; a regular header moves to the end, as Envoy's `setCopy` does.
    pub fn set(&mut self, name: impl Into<Name>, value: impl Into<Bytes>) {
        let name = name.into();
        let value = value.into();
        if name.is_pseudo()
            && let Some(slot) = self.entries.iter_mut().find(|(k, _)| *k == name)
        {
            slot.1 = value;
            return;
        }
        self.remove(name.as_bytes());
        self.add(name, value);
    }

    /// Removes every value of `name`; returns whether any was present.
    pub fn remove(&mut self, name: &[u8]) -> bool {
        // Usually absent (a plugin setting a header of its own): one scan, nothing moved.
        let Some(first) = self.entries.iter().position(|(k, _)| k.is(name)) else { return false };
        let mut at = 0;
        self.entries.retain(|(k, _)| {
            at += 1;
            at <= first || !k.is(name)
        });
        true
    }

    /// Replaces the whole map (used by `proxy_set_header_map_pairs`).
    pub fn replace_all(&mut self, pairs: impl IntoIterator<Item = (Name, Bytes)>) {
        self.entries.clear();
        for (k, v) in pairs {
            self.add(k, v);
        }
    }

    /// All entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Name, &Bytes)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// All entries as a slice, for encoding.
    pub fn entries(&self) -> &[(Name, Bytes)] {
        &self.entries
    }

    /// Appends the headers of an `http::HeaderMap`, leaving out those `skip` names. Names are
    /// moved; values are copied into one buffer that they then share (one allocation, and
    /// clones that cost a reference count).
    pub fn extend_from_http(&mut self, headers: http::HeaderMap, skip: impl Fn(&HeaderName) -> bool) {
        let total = headers.values().map(|v| v.len()).sum();
        let mut buffer = BytesMut::with_capacity(total);
        for value in headers.values() {
            buffer.extend_from_slice(value.as_bytes());
        }
        let values = buffer.freeze();
        self.entries.reserve(headers.len());
        // `http` gives a name once, with its first value; later values of it come with `None`.
        let (mut keep, mut at) = (false, 0);
        for (name, value) in headers {
            let range = at..at + value.len();
            at = range.end;
            let name = match name {
                Some(name) => {
                    keep = !skip(&name);
                    if !keep {
                        continue;
                    }
                    Name::from(name)
                }
                None if keep => match self.entries.last() {
                    Some((name, _)) => name.clone(),
                    None => continue,
                },
                None => continue,
            };
            self.entries.push((name, values.slice(range)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(map: &HeaderMap) -> Vec<String> {
        map.iter().map(|(k, _)| String::from_utf8_lossy(k.as_bytes()).into_owned()).collect()
    }

    #[test]
    fn pseudo_headers_stay_first_and_set_moves_regular_to_end() {
        let mut map = HeaderMap::default();
        map.add("x-a", "1");
        map.add(":path", "/");
        map.add("X-B", "2");
        map.add("x-a", "3");
        map.add(":method", "GET");
        assert_eq!(names(&map), [":path", ":method", "x-a", "x-b", "x-a"]);
        assert_eq!(map.get(b"x-a").unwrap(), "1");
        assert_eq!(map.get(b"X-A").unwrap(), "1");
        assert_eq!(map.get_all(b"x-a").count(), 2);
        map.set("x-a", "9");
        assert_eq!(names(&map), [":path", ":method", "x-b", "x-a"]);
        map.set(":PATH", "/new");
        assert_eq!(map.entries()[0], (Name::pseudo(":path"), Bytes::from("/new")));
        assert!(map.remove(b"X-B"));
        assert!(!map.remove(b"x-b"));
    }

    #[test]
    fn names_http_cannot_carry_stay_raw() {
        assert!(Name::parse(b"X-Custom").http().is_some_and(|n| n == "x-custom"));
        assert!(Name::parse(b"content-type").http().is_some_and(|n| n == http::header::CONTENT_TYPE));
        let raw = Name::parse(b"bad name");
        assert_eq!((raw.http(), raw.as_bytes()), (None, &b"bad name"[..]));
        assert_eq!(Name::parse(b":Status"), Name::pseudo(":status"));
        assert_eq!(Name::parse(b"").as_bytes(), b"");
    }

    #[test]
    fn the_name_cache_answers_as_parse_does() {
        let cache = NameCache::default();
        for name in
            [&b"x-shard-cluster"[..], b"x-shard-cluster", b"X-Mixed", b"x-mixed", b":path", b"bad name"]
        {
            assert_eq!(cache.parse(name), Name::parse(name), "{}", String::from_utf8_lossy(name));
        }
        assert_eq!(cache.names.borrow().len(), 2, "x-shard-cluster and x-mixed");
        for i in 0..2 * NameCache::CAPACITY {
            let name = format!("x-{i}");
            assert_eq!(cache.parse(name.as_bytes()).as_bytes(), name.as_bytes());
        }
        assert_eq!(cache.names.borrow().len(), NameCache::CAPACITY);
    }

    #[test]
    fn takes_http_headers_in_order_with_repeats() {
        let mut headers = http::HeaderMap::new();
        headers.append("x-a", "1".parse().unwrap());
        headers.append("connection", "close".parse().unwrap());
        headers.append("x-a", "2".parse().unwrap());
        headers.append("x-b", "3".parse().unwrap());
        let mut map = HeaderMap::default();
        map.extend_from_http(headers, |n| n == http::header::CONNECTION);
        assert_eq!(names(&map), ["x-a", "x-a", "x-b"]);
        assert_eq!(map.get_all(b"x-a").collect::<Vec<_>>(), ["1", "2"]);
    }
}
