//! proxy-wasm shared data: a process-wide key/value store scoped by `vm_id`, with
//! compare-and-swap versions, as in Envoy.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;
use weir_abi::Status;

/// Keys are chosen by guests (and may carry request data, as rate-limit bucket keys do), so
/// the hash is keyed per process; foldhash is several times cheaper than SipHash on them.
type Keys = HashMap<Vec<u8>, (Bytes, u32), foldhash::fast::RandomState>;

/// Every VM's shared data: a [`Scope`](crate::services::SharedDataScope) per `vm_id`.
#[derive(Debug, Default)]
pub struct SharedData {
    scopes: RwLock<HashMap<String, Arc<Scope>>>,
    /// CAS versions come from one counter for the whole process, as in Envoy.
    next_cas: Arc<AtomicU32>,
}

/// One `vm_id`'s data: key → (value, CAS version). A VM resolves its scope once and then
/// works on it directly.
#[derive(Debug)]
pub struct Scope {
    keys: RwLock<Keys>,
    next_cas: Arc<AtomicU32>,
}

impl SharedData {
    /// The scope of `vm_id` (created empty on first use).
    pub fn scope(&self, vm_id: &str) -> Arc<Scope> {
        if let Some(scope) = self.scopes.read().get(vm_id) {
            return scope.clone();
        }
        self.scopes
            .write()
            .entry(vm_id.to_string())
            .or_insert_with(|| {
                Arc::new(Scope { keys: RwLock::new(Keys::default()), next_cas: self.next_cas.clone() })
            })
            .clone()
    }

    /// The value and its CAS version, or `NotFound`.
    pub fn get(&self, vm_id: &str, key: &[u8]) -> Result<(Bytes, u32), Status> {
        match self.scopes.read().get(vm_id) {
            Some(scope) => scope.get(key),
            None => Err(Status::NotFound),
        }
    }

    /// [`Scope::set`](crate::services::SharedDataScope::set) in the scope of `vm_id`.
    pub fn set(&self, vm_id: &str, key: &[u8], value: Bytes, cas: u32) -> Result<(), Status> {
        self.scope(vm_id).set(key, value, cas)
    }

    /// Every key of a scope (for the admin API and the SDK's key listing).
    pub fn keys(&self, vm_id: &str) -> Vec<Vec<u8>> {
        self.scopes
            .read()
            .get(vm_id)
            .map(|scope| scope.keys.read().keys().cloned().collect())
            .unwrap_or_default()
    }
}

impl Scope {
    fn next_cas(&self) -> u32 {
        loop {
            let cas = self.next_cas.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            if cas != 0 {
                return cas;
            }
        }
    }

    /// The value and its CAS version, or `NotFound`.
    pub fn get(&self, key: &[u8]) -> Result<(Bytes, u32), Status> {
        self.keys.read().get(key).cloned().ok_or(Status::NotFound)
    }

    /// Stores a value. `cas == 0` writes unconditionally; otherwise the key's current version
    /// must equal `cas` (`CasMismatch` if not). Writing a new key ignores `cas`, as Envoy does.
    pub fn set(&self, key: &[u8], value: Bytes, cas: u32) -> Result<(), Status> {
        let mut keys = self.keys.write();
        match keys.get_mut(key) {
            Some(entry) => {
                if cas != 0 && cas != entry.1 {
                    return Err(Status::CasMismatch);
                }
                *entry = (value, self.next_cas());
            }
            None => {
                keys.insert(key.to_vec(), (value, self.next_cas()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_semantics_follow_envoy() {
        let data = SharedData::default();
        assert_eq!(data.get("vm", b"k"), Err(Status::NotFound));
        data.set("vm", b"k", Bytes::from("a"), 12345).unwrap();
        let (value, cas) = data.get("vm", b"k").unwrap();
        assert_eq!(value, "a");
        assert_eq!(data.set("vm", b"k", Bytes::from("b"), cas + 1), Err(Status::CasMismatch));
        data.set("vm", b"k", Bytes::from("b"), cas).unwrap();
        assert_eq!(data.set("vm", b"k", Bytes::from("c"), cas), Err(Status::CasMismatch));
        data.set("vm", b"k", Bytes::from("c"), 0).unwrap();
        assert_eq!(data.get("vm", b"k").unwrap().0, "c");
        assert_eq!(data.get("other", b"k"), Err(Status::NotFound));
    }
}
