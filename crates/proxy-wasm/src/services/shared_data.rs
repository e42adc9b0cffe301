//! proxy-wasm shared data: a process-wide key/value store scoped by `vm_id`, with
//! compare-and-swap versions, as in Envoy.
//!
//! Guests cannot grow it without bound: each `vm_id` may hold at most its
//! `limits.max_shared_data_bytes` (keys, values, and [`ENTRY_OVERHEAD`] per key). A guest write
//! that would grow past it is refused ([`Refusal::Limit`]); writes that shrink or keep the
//! size always pass, and the host's own writes (runtime values) are never refused.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;
use weir_abi::Status;

use super::Refusal;

/// Keys are chosen by guests (and may carry request data, as rate-limit bucket keys do), so
/// the hash is keyed per process; foldhash is several times cheaper than SipHash on them.
type Keys = HashMap<Vec<u8>, (Bytes, u32), foldhash::fast::RandomState>;

/// Bytes charged per key on top of the key and the value (the map entry, its allocations).
pub const ENTRY_OVERHEAD: usize = 64;

/// The limit a `vm_id` gets until its plugins say otherwise (`PluginLimits` default).
pub const DEFAULT_LIMIT: usize = 64 * 1024 * 1024;

/// Every VM's shared data: a [`Scope`] per `vm_id`.
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
    data: RwLock<Data>,
    limit: AtomicUsize,
    next_cas: Arc<AtomicU32>,
}

#[derive(Debug, Default)]
struct Data {
    keys: Keys,
    /// What the keys hold, as charged against the limit.
    bytes: usize,
}

fn size(key: &[u8], value: &[u8]) -> usize {
    key.len() + value.len() + ENTRY_OVERHEAD
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
                Arc::new(Scope {
                    data: RwLock::new(Data::default()),
                    limit: AtomicUsize::new(DEFAULT_LIMIT),
                    next_cas: self.next_cas.clone(),
                })
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

    /// A host write (never refused for size): see [`Scope::set`].
    pub fn set(&self, vm_id: &str, key: &[u8], value: Bytes, cas: u32) -> Result<(), Status> {
        self.scope(vm_id).write(key, value, cas, false).map_err(|r| match r {
            Refusal::Status(s) => s,
            Refusal::Limit(_) => Status::InternalFailure,
        })
    }

    /// Sets the most bytes `vm_id` may hold (guest writes past it are refused).
    pub fn set_limit(&self, vm_id: &str, bytes: usize) {
        self.scope(vm_id).limit.store(bytes, Ordering::Relaxed);
    }

    /// Every key of a scope (for the admin API and the SDK's key listing).
    pub fn keys(&self, vm_id: &str) -> Vec<Vec<u8>> {
        self.scopes
            .read()
            .get(vm_id)
            .map(|scope| scope.data.read().keys.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// One `vm_id`'s shared data as the runtime-values protocol ([`weir_runtime::protocol`])
/// reads and writes it: host writes, never refused for size.
#[derive(Debug, Clone, Copy)]
pub struct VmShared<'a> {
    /// The process's shared data.
    pub data: &'a SharedData,
    /// The scope.
    pub vm_id: &'a str,
}

impl weir_runtime::protocol::SharedStore for VmShared<'_> {
    type Error = Status;

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Status> {
        match self.data.get(self.vm_id, key.as_bytes()) {
            Ok((value, _cas)) => Ok(Some(value.to_vec())),
            Err(Status::NotFound) => Ok(None),
            Err(status) => Err(status),
        }
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), Status> {
        self.data.set(self.vm_id, key.as_bytes(), Bytes::copy_from_slice(value), 0)
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
        self.data.read().keys.get(key).cloned().ok_or(Status::NotFound)
    }

    /// A guest's write. `cas == 0` writes unconditionally; otherwise the key's current version
    /// must equal `cas` (`CasMismatch` if not). Writing a new key ignores `cas`, as Envoy does.
    /// A write that would grow the scope past its limit is refused.
    pub fn set(&self, key: &[u8], value: Bytes, cas: u32) -> Result<(), Refusal> {
        self.write(key, value, cas, true)
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.data.read().bytes
    }

    fn write(&self, key: &[u8], value: Bytes, cas: u32, checked: bool) -> Result<(), Refusal> {
        let limit = self.limit.load(Ordering::Relaxed);
        let mut data = self.data.write();
        let Data { keys, bytes } = &mut *data;
        let new_size = size(key, &value);
        match keys.get_mut(key) {
            Some(entry) => {
                if cas != 0 && cas != entry.1 {
                    return Err(Refusal::Status(Status::CasMismatch));
                }
                let old_size = size(key, &entry.0);
                let after = bytes.saturating_sub(old_size) + new_size;
                if checked && new_size > old_size && after > limit {
                    return Err(Refusal::Limit("max_shared_data_bytes"));
                }
                *entry = (value, self.next_cas());
                *bytes = after;
            }
            None => {
                if checked && *bytes + new_size > limit {
                    return Err(Refusal::Limit("max_shared_data_bytes"));
                }
                *bytes += new_size;
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

    #[test]
    fn guests_cannot_grow_a_scope_past_its_limit() {
        let data = SharedData::default();
        data.set_limit("vm", 1000);
        let scope = data.scope("vm");
        let mut written = 0;
        for i in 0..100u32 {
            match scope.set(&i.to_le_bytes(), Bytes::from(vec![0u8; 100]), 0) {
                Ok(()) => written += 1,
                Err(refusal) => assert_eq!(refusal, Refusal::Limit("max_shared_data_bytes")),
            }
        }
        assert_eq!(written, 1000 / size(&[0; 4], &[0; 100]));
        assert!(scope.bytes() <= 1000);
        // Shrinking and same-size writes pass at the limit; the host's own writes always do.
        scope.set(&0u32.to_le_bytes(), Bytes::from(vec![1u8; 10]), 0).unwrap();
        scope.set(&0u32.to_le_bytes(), Bytes::from(vec![1u8; 10]), 0).unwrap();
        data.set("vm", b"weir.runtime", Bytes::from(vec![0u8; 5000]), 0).unwrap();
        assert!(scope.set(b"new", Bytes::new(), 0).is_err());
    }
}
