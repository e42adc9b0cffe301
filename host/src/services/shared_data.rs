//! proxy-wasm shared data: a process-wide key/value store scoped by `vm_id`, with
//! compare-and-swap versions, as in Envoy.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;
use weir_abi::Status;

/// One `vm_id`'s data: key → (value, CAS version).
type Scope = HashMap<Vec<u8>, (Bytes, u32)>;

/// Every VM's shared data, keyed by `vm_id` then by key.
#[derive(Debug, Default)]
pub struct SharedData {
    scopes: RwLock<HashMap<String, Scope>>,
    next_cas: AtomicU32,
}

impl SharedData {
    fn next_cas(&self) -> u32 {
        loop {
            let cas = self.next_cas.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            if cas != 0 {
                return cas;
            }
        }
    }

    /// The value and its CAS version, or `NotFound`.
    pub fn get(&self, vm_id: &str, key: &[u8]) -> Result<(Bytes, u32), Status> {
        self.scopes.read().get(vm_id).and_then(|scope| scope.get(key)).cloned().ok_or(Status::NotFound)
    }

    /// Stores a value. `cas == 0` writes unconditionally; otherwise the key's current version
    /// must equal `cas` (`CasMismatch` if not). Writing a new key ignores `cas`, as Envoy does.
    pub fn set(&self, vm_id: &str, key: &[u8], value: Bytes, cas: u32) -> Result<(), Status> {
        let mut scopes = self.scopes.write();
        let scope = match scopes.get_mut(vm_id) {
            Some(scope) => scope,
            None => scopes.entry(vm_id.to_string()).or_default(),
        };
        let next = self.next_cas();
        match scope.get_mut(key) {
            Some(entry) => {
                if cas != 0 && cas != entry.1 {
                    return Err(Status::CasMismatch);
                }
                *entry = (value, next);
            }
            None => {
                scope.insert(key.to_vec(), (value, next));
            }
        }
        Ok(())
    }

    /// Every key of a scope (for the admin API and the SDK's key listing).
    pub fn keys(&self, vm_id: &str) -> Vec<Vec<u8>> {
        self.scopes.read().get(vm_id).map(|scope| scope.keys().cloned().collect()).unwrap_or_default()
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
