//! Header names as the header map keeps them: lower-case, and a name HTTP can carry kept as
//! the [`http::HeaderName`] it came with (from hyper) or was parsed into once (from a plugin),
//! so names pass from hyper to the plugins and back without being copied or parsed again.

use std::cell::RefCell;

use bytes::Bytes;
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

    /// Length of the name in bytes.
    pub(super) fn len(&self) -> usize {
        self.len
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
    pub(super) fn is(&self, name: &[u8]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
