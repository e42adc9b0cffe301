//! Packed resources of the types weir-cp builds on demand (RTDS layers, ECDS configs, SDS
//! secrets), built once per resource version and shared by every stream that selects them,
//! instead of converted and encoded again per stream and push. A kind's entries are dropped
//! as soon as the kind's version moves, so the cache never holds more than the current
//! resources of each kind.

use std::collections::HashMap;

use envoy_types::pb::google::protobuf::Any;
use parking_lot::Mutex;

use super::kind::Kind;

#[derive(Debug, Default)]
struct Packed {
    type_version: u64,
    by_name: HashMap<String, (u64, Any)>,
}

/// The cache.
#[derive(Debug, Default)]
pub struct PackCache {
    kinds: Mutex<HashMap<Kind, Packed>>,
}

impl PackCache {
    /// `name` of `kind` at `version` (its last change), the type being at `type_version`:
    /// the cached bytes, or `make()`'s, then cached.
    pub fn get(
        &self,
        kind: Kind,
        type_version: u64,
        name: &str,
        version: u64,
        make: impl FnOnce() -> Any,
    ) -> Any {
        let mut kinds = self.kinds.lock();
        let packed = kinds.entry(kind).or_default();
        if packed.type_version != type_version {
            packed.by_name.clear();
            packed.type_version = type_version;
        }
        if let Some((v, any)) = packed.by_name.get(name)
            && *v == version
        {
            return any.clone();
        }
        let any = make();
        packed.by_name.insert(name.to_string(), (version, any.clone()));
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(value: &[u8]) -> Any {
        Any { type_url: "t".into(), value: value.to_vec() }
    }

    #[test]
    fn built_once_per_version_and_dropped_when_the_kind_moves() {
        let cache = PackCache::default();
        let built = std::cell::Cell::new(0);
        let get = |type_version, version, value: &[u8]| {
            cache.get(Kind::Rtds, type_version, "a", version, || {
                built.set(built.get() + 1);
                any(value)
            })
        };
        assert_eq!(get(1, 1, b"one").value, b"one");
        assert_eq!(get(1, 1, b"ignored").value, b"one");
        assert_eq!(get(2, 2, b"two").value, b"two", "a new version is built");
        assert_eq!(get(3, 2, b"again").value, b"again", "the kind moved: rebuilt");
        assert_eq!(built.get(), 3);
        assert_eq!(cache.kinds.lock()[&Kind::Rtds].by_name.len(), 1);
    }
}
