//! The header map plugins see: ordered `(name, value)` byte pairs, names lower-case,
//! pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`, `:status`) first, as in Envoy.
//! Values are raw bytes (not necessarily UTF-8).
//!
//! Values cost no allocation of their own: those arriving together (from hyper) share one
//! buffer, and those plugins set are cut from a spare buffer the map keeps, so passing a
//! value on (to hyper, or to a plugin asking for it) costs a reference count.

use bytes::{Bytes, BytesMut};
use http::header::HeaderName;

pub use super::header_name::{Name, NameCache};

/// Spare room kept for the values plugins set, allocated with the values that arrive.
const SPARE: usize = 256;

/// An ordered multi-map of header names to values.
#[derive(Debug, Clone, Default)]
pub struct HeaderMap {
    entries: Vec<(Name, Bytes)>,
    /// Bit `len % 64` is set when a name of that length may be present: a lookup of a name
    /// that is absent (a plugin setting a header of its own) usually skips the scan.
    lens: u64,
    /// Room for values set by plugins ([`HeaderMap::copy_value`]); always empty (`len` 0).
    spare: BytesMut,
}

impl PartialEq for HeaderMap {
    fn eq(&self, other: &HeaderMap) -> bool {
        self.entries == other.entries
    }
}

impl Eq for HeaderMap {}

fn len_bit(len: usize) -> u64 {
    1 << (len % 64)
}

impl HeaderMap {
    /// An empty map with room for `n` headers.
    pub fn with_capacity(n: usize) -> HeaderMap {
        HeaderMap { entries: Vec::with_capacity(n), ..HeaderMap::default() }
    }

    /// Whether a name of `len` bytes may be present.
    fn may_hold(&self, len: usize) -> bool {
        self.lens & len_bit(len) != 0
    }

    fn push(&mut self, name: Name, value: Bytes) {
        self.lens |= len_bit(name.len());
        self.entries.push((name, value));
    }

    /// `value` as a value of this map: copied into the map's spare buffer, so it costs no
    /// allocation of its own (a new buffer is taken when the spare one is used up).
    pub fn copy_value(&mut self, value: &[u8]) -> Bytes {
        if value.is_empty() {
            return Bytes::new();
        }
        if self.spare.capacity() < value.len() {
            self.spare = BytesMut::with_capacity(value.len().max(SPARE));
        }
        self.spare.extend_from_slice(value);
        self.spare.split().freeze()
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
        if !self.may_hold(name.len()) {
            return None;
        }
        self.entries.iter().find(|(k, _)| k.is(name)).map(|(_, v)| v)
    }

    /// The first value of `name` as UTF-8, if it is.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name.as_bytes()).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name`.
    pub fn get_all<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'a Bytes> + 'a {
        let scan = if self.may_hold(name.len()) { &self.entries[..] } else { &[] };
        scan.iter().filter(move |(k, _)| k.is(name)).map(|(_, v)| v)
    }

    /// Appends a value (pseudo-headers go before regular headers).
    pub fn add(&mut self, name: impl Into<Name>, value: impl Into<Bytes>) {
        let name = name.into();
        let value = value.into();
        if name.is_pseudo() {
            let at = self.entries.iter().take_while(|(k, _)| k.is_pseudo()).count();
            self.lens |= len_bit(name.len());
            self.entries.insert(at, (name, value));
        } else {
            self.push(name, value);
        }
    }

    /// Replaces every value of `name` with one value (added if absent). A pseudo-header keeps
    /// its (first) position; a regular header moves to the end, as Envoy's `setCopy` does.
    pub fn set(&mut self, name: impl Into<Name>, value: impl Into<Bytes>) {
        let name = name.into();
        if name.is_pseudo() {
            return self.set_in_place(name, value);
        }
        self.remove(name.as_bytes());
        self.add(name, value);
    }

    /// Sets `name` to one value where its first entry is (later ones removed), or appends it
    /// when absent: how Envoy updates the headers it keeps in fixed slots (`x-forwarded-*`,
    /// `x-request-id`, ...).
    pub fn set_in_place(&mut self, name: impl Into<Name>, value: impl Into<Bytes>) {
        let name = name.into();
        let value = value.into();
        match self.entries.iter().position(|(k, _)| *k == name) {
            Some(first) => {
                self.entries[first].1 = value;
                let mut at = 0;
                self.entries.retain(|(k, _)| {
                    at += 1;
                    at <= first + 1 || *k != name
                });
            }
            None => self.add(name, value),
        }
    }

    /// Removes every value of `name`; returns whether any was present.
    pub fn remove(&mut self, name: &[u8]) -> bool {
        // Usually absent (a plugin setting a header of its own): no scan, or one.
        if !self.may_hold(name.len()) {
            return false;
        }
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
        self.lens = 0;
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
    /// clones that cost a reference count), which also holds the map's spare room.
    pub fn extend_from_http(&mut self, headers: http::HeaderMap, skip: impl Fn(&HeaderName) -> bool) {
        let total: usize = headers.values().map(|v| v.len()).sum();
        let mut buffer = BytesMut::with_capacity(total + SPARE);
        for value in headers.values() {
            buffer.extend_from_slice(value.as_bytes());
        }
        let values = buffer.split().freeze();
        if self.spare.capacity() < SPARE {
            self.spare = buffer;
        }
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
            self.push(name, values.slice(range));
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
        map.add("x-b", "4");
        map.set_in_place("x-b", "5");
        assert_eq!(names(&map), [":path", ":method", "x-b", "x-a"]);
        map.set_in_place("x-new", "6");
        assert_eq!(names(&map), [":path", ":method", "x-b", "x-a", "x-new"]);
        assert!(map.remove(b"x-new"));
        map.set(":PATH", "/new");
        assert_eq!(map.entries()[0], (Name::pseudo(":path"), Bytes::from("/new")));
        assert!(map.remove(b"X-B"));
        assert!(!map.remove(b"x-b"));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(usize, u8),
        Set(usize, u8),
        SetInPlace(usize, u8),
        Remove(usize),
    }

    const NAMES: [&str; 5] = [":path", "x-a", "X-B", "x-long-name", "y"];

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            (0..NAMES.len(), any::<u8>()).prop_map(|(n, v)| Op::Add(n, v)),
            (0..NAMES.len(), any::<u8>()).prop_map(|(n, v)| Op::Set(n, v)),
            (0..NAMES.len(), any::<u8>()).prop_map(|(n, v)| Op::SetInPlace(n, v)),
            (0..NAMES.len()).prop_map(Op::Remove),
        ]
    }

    /// The model's `add`: pseudo-headers go after the other pseudo-headers, others last.
    fn append(model: &mut Vec<(String, u8)>, name: String, v: u8) {
        let at = if name.starts_with(':') {
            model.iter().take_while(|(k, _)| k.starts_with(':')).count()
        } else {
            model.len()
        };
        model.insert(at, (name, v));
    }

    proptest::proptest! {
        /// The map against a plain list of pairs: same lookups, pseudo-headers first.
        #[test]
        fn behaves_as_a_list_of_pairs(ops in proptest::collection::vec(op(), 0..40)) {
            let mut map = HeaderMap::default();
            let mut model: Vec<(String, u8)> = Vec::new();
            for op in ops {
                match op {
                    Op::Add(n, v) => {
                        map.add(NAMES[n], vec![v]);
                        append(&mut model, NAMES[n].to_ascii_lowercase(), v);
                    }
                    Op::Set(n, v) | Op::SetInPlace(n, v) => {
                        let in_place = matches!(op, Op::SetInPlace(..));
                        if in_place { map.set_in_place(NAMES[n], vec![v]) } else { map.set(NAMES[n], vec![v]) }
                        let name = NAMES[n].to_ascii_lowercase();
                        match model.iter().position(|(k, _)| *k == name) {
                            Some(first) if in_place || name.starts_with(':') => {
                                model[first].1 = v;
                                let mut i = 0;
                                model.retain(|(k, _)| { i += 1; i <= first + 1 || *k != name });
                            }
                            _ => {
                                model.retain(|(k, _)| *k != name);
                                append(&mut model, name, v);
                            }
                        }
                    }
                    Op::Remove(n) => {
                        let name = NAMES[n].to_ascii_lowercase();
                        let had = model.iter().any(|(k, _)| *k == name);
                        model.retain(|(k, _)| *k != name);
                        proptest::prop_assert_eq!(map.remove(NAMES[n].as_bytes()), had);
                    }
                }
                let got: Vec<(String, u8)> =
                    map.iter().map(|(k, v)| (String::from_utf8_lossy(k.as_bytes()).into_owned(), v[0])).collect();
                proptest::prop_assert_eq!(&got, &model);
                for name in NAMES {
                    let want = model.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| *v);
                    proptest::prop_assert_eq!(map.get(name.as_bytes()).map(|v| v[0]), want);
                }
            }
        }
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

    #[test]
    fn set_values_share_spare_room_and_absent_lengths_skip_the_scan() {
        let mut headers = http::HeaderMap::new();
        headers.append("x-a", "1".parse().unwrap());
        let mut map = HeaderMap::default();
        map.extend_from_http(headers, |_| false);
        let long = vec![b'v'; 3 * SPARE];
        for (name, value) in [("x-b", &b"2"[..]), ("x-long", &long[..]), ("x-c", b""), ("x-d", b"4")] {
            let value = map.copy_value(value);
            map.set(name, value);
        }
        assert_eq!(names(&map), ["x-a", "x-b", "x-long", "x-c", "x-d"]);
        assert_eq!(map.get(b"x-b").unwrap(), "2");
        assert_eq!(map.get(b"x-long").unwrap(), &long[..]);
        assert_eq!((map.get(b"x-c").unwrap(), map.get(b"x-d").unwrap()), (&Bytes::new(), &Bytes::from("4")));
        assert_eq!(map.get(b"x-zzzz"), None, "a length that is present, a name that is not");
        assert_eq!(map.get(b"x-absent-name"), None);
        assert!(map.remove(b"X-A") && map.get(b"x-a").is_none() && !map.remove(b"x-a"));
        assert_eq!(map.get_all(b"x-absent-name").count(), 0);
        map.replace_all([(Name::from("x-zz"), Bytes::from("9"))]);
        assert_eq!((map.get(b"x-b"), map.get(b"x-zz").map(|v| &v[..])), (None, Some(&b"9"[..])));
    }
}
