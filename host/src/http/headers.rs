//! The header map plugins see: ordered `(name, value)` byte pairs, names lower-case,
//! pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`, `:status`) first, as in Envoy.
//! Values are raw bytes (not necessarily UTF-8).

use bytes::Bytes;

/// An ordered multi-map of header names to values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderMap {
    entries: Vec<(Bytes, Bytes)>,
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
        self.entries.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// The first value of `name` as UTF-8, if it is.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name.as_bytes()).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name`.
    pub fn get_all<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.entries.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// Appends a value (pseudo-headers go before regular headers).
    pub fn add(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        let name = lower(name.into());
        let value = value.into();
        if name.starts_with(b":") {
            let at = self.entries.iter().take_while(|(k, _)| k.starts_with(b":")).count();
            self.entries.insert(at, (name, value));
        } else {
            self.entries.push((name, value));
        }
    }

    /// Replaces every value of `name` with one value (added if absent). A pseudo-header keeps
    /// its position; a regular header moves to the end, as Envoy's `setCopy` does.
    pub fn set(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        let name = lower(name.into());
        let value = value.into();
        if name.starts_with(b":")
            && let Some(slot) = self.entries.iter_mut().find(|(k, _)| *k == name)
        {
            slot.1 = value;
            return;
        }
        self.remove(&name);
        self.add(name, value);
    }

    /// Removes every value of `name`; returns whether any was present.
    pub fn remove(&mut self, name: &[u8]) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        before != self.entries.len()
    }

    /// Replaces the whole map (used by `proxy_set_header_map_pairs`).
    pub fn replace_all(&mut self, pairs: impl IntoIterator<Item = (Bytes, Bytes)>) {
        self.entries.clear();
        for (k, v) in pairs {
            self.add(k, v);
        }
    }

    /// All entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// All entries as a slice, for encoding.
    pub fn entries(&self) -> &[(Bytes, Bytes)] {
        &self.entries
    }
}

fn lower(name: Bytes) -> Bytes {
    if name.iter().any(u8::is_ascii_uppercase) { Bytes::from(name.to_ascii_lowercase()) } else { name }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_headers_stay_first_and_set_moves_regular_to_end() {
        let mut map = HeaderMap::default();
        map.add("x-a", "1");
        map.add(":path", "/");
        map.add("X-B", "2");
        map.add("x-a", "3");
        map.add(":method", "GET");
        let names: Vec<_> = map.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(names, [":path", ":method", "x-a", "x-b", "x-a"]);
        assert_eq!(map.get(b"x-a").unwrap(), "1");
        assert_eq!(map.get_all(b"x-a").count(), 2);
        map.set("x-a", "9");
        let names: Vec<_> = map.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(names, [":path", ":method", "x-b", "x-a"]);
        map.set(":path", "/new");
        assert_eq!(map.entries()[0], (Bytes::from(":path"), Bytes::from("/new")));
        assert!(map.remove(b"X-B"));
        assert!(!map.remove(b"x-b"));
    }
}
