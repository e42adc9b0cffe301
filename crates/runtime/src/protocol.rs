//! How a snapshot travels through proxy-wasm shared data, for every writer (weir's xDS client,
//! Envoy's `rtds-bridge`) and every reader (weir-sdk in a filter):
//!
//! - the writer puts the snapshot under [`SNAPSHOT_KEY`] first, then its version, as decimal
//!   text, under [`VERSION_KEY`] (unconditional writes: one writer per `vm_id`, versions only
//!   grow), so a reader that sees a new version finds the matching snapshot;
//! - a reader reads only the version key on each lookup, and the snapshot again only when the
//!   version moved; a snapshot it cannot parse is reported and the last good one kept.

use crate::{SNAPSHOT_KEY, Snapshot, VERSION_KEY};

/// One `vm_id`'s shared data, as the side at hand reaches it (hostcalls in a filter, the
/// host's own store in weir).
pub trait SharedStore {
    /// What reading or writing can fail with.
    type Error;
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Self::Error>;
    /// Writes `value` under `key`, unconditionally.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), Self::Error>;
}

/// Publishes `snapshot`: the snapshot, then its version.
pub fn publish<S: SharedStore>(store: &S, snapshot: &Snapshot) -> Result<(), S::Error> {
    store.set(SNAPSHOT_KEY, &snapshot.to_bytes())?;
    store.set(VERSION_KEY, snapshot.version.to_string().as_bytes())
}

/// A version as published: decimal text (surrounding space ignored).
pub fn parse_version(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

/// The published version: `None` when nothing is published; `Some(0)` when the key holds
/// something that is not a version (a snapshot of unknown content is there all the same, so a
/// writer starting up replaces it).
pub fn published_version<S: SharedStore>(store: &S) -> Result<Option<u64>, S::Error> {
    Ok(store.get(VERSION_KEY)?.map(|bytes| parse_version(&bytes).unwrap_or(0)))
}

/// What a reader holding the snapshot of `cached` version should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Refresh {
    /// Keep what it has: the version did not move, or nothing (readable) is published.
    Keep,
    /// A newer snapshot.
    Fresh(Snapshot),
    /// The published snapshot cannot be read: keep the last good one, and say why.
    Bad(String),
}

/// Reads the version and, when it moved from `cached`, the snapshot.
pub fn refresh<S: SharedStore>(store: &S, cached: Option<u64>) -> Refresh
where
    S::Error: std::fmt::Debug,
{
    let version = match store.get(VERSION_KEY) {
        Ok(Some(bytes)) => parse_version(&bytes),
        _ => None,
    };
    let Some(version) = version else { return Refresh::Keep };
    if cached == Some(version) {
        return Refresh::Keep;
    }
    match store.get(SNAPSHOT_KEY) {
        Ok(None) => Refresh::Keep,
        Ok(Some(bytes)) => match Snapshot::parse(&bytes) {
            Ok(snapshot) => Refresh::Fresh(snapshot),
            Err(e) => Refresh::Bad(e),
        },
        Err(e) => Refresh::Bad(format!("reading {SNAPSHOT_KEY}: {e:?}")),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::*;
    use crate::Layer;

    #[derive(Default)]
    struct Memory(RefCell<BTreeMap<String, Vec<u8>>>, RefCell<Vec<String>>);

    impl SharedStore for Memory {
        type Error = ();
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ()> {
            Ok(self.0.borrow().get(key).cloned())
        }
        fn set(&self, key: &str, value: &[u8]) -> Result<(), ()> {
            self.1.borrow_mut().push(key.to_string());
            self.0.borrow_mut().insert(key.to_string(), value.to_vec());
            Ok(())
        }
    }

    #[test]
    fn snapshot_first_then_version_and_readers_follow_the_version() {
        let store = Memory::default();
        assert_eq!(refresh(&store, None), Refresh::Keep);
        assert_eq!(published_version(&store), Ok(None));
        let snapshot = Snapshot::new(3, vec!["rtds".into()], Layer::from([("a".into(), 1.into())]));
        publish(&store, &snapshot).unwrap();
        assert_eq!(*store.1.borrow(), [SNAPSHOT_KEY, VERSION_KEY]);
        assert_eq!(published_version(&store), Ok(Some(3)));
        assert_eq!(refresh(&store, None), Refresh::Fresh(snapshot.clone()));
        assert_eq!(refresh(&store, Some(3)), Refresh::Keep);

        store.set(SNAPSHOT_KEY, b"{not json").unwrap();
        store.set(VERSION_KEY, b" 4\n").unwrap();
        assert!(matches!(refresh(&store, Some(3)), Refresh::Bad(e) if e.contains("runtime snapshot")));
        store.set(VERSION_KEY, b"garbage").unwrap();
        assert_eq!(published_version(&store), Ok(Some(0)));
        assert_eq!(refresh(&store, Some(3)), Refresh::Keep);
    }
}
