//! Runtime values: the merged RTDS snapshot, the same way in Envoy and in weir.
//!
//! Envoy gives Wasm filters no access to its runtime, so both hosts publish the merged runtime
//! snapshot into proxy-wasm shared data (weir from its own xDS client; Envoy through the
//! `rtds-bridge` singleton service, with the filters' `vm_id`). The snapshot is JSON:
//!
//! ```json
//! {"format": 1, "version": 7, "layers": ["base", "overrides"],
//!  "values": {"shuffle_sharding.total_hosts": 10, "feature.enabled": true}}
//! ```
//!
//! and [`weir_abi::runtime::VERSION_KEY`] holds `version` as text. Lookups read only the
//! version key; the snapshot is parsed again only when the version moved, and kept per VM.
//! See `docs/runtime-values.md`.

use std::cell::RefCell;
use std::rc::Rc;

use weir_runtime::protocol::{self, Refresh, SharedStore};

use crate::{Status, host};

pub use weir_runtime::Snapshot;

thread_local! {
    static CACHE: RefCell<Option<Rc<Snapshot>>> = const { RefCell::new(None) };
}

/// This VM's shared data (its `vm_id`'s), as the runtime-values protocol reads and writes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedData;

impl SharedStore for SharedData {
    type Error = Status;

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Status> {
        Ok(host::shared_get(key)?.map(|(value, _cas)| value.0))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), Status> {
        host::shared_set(key, value, 0)
    }
}

/// The current snapshot, re-read only when its version moved. `None` when the host has not
/// published one (no control plane yet) and none was seen before; a malformed snapshot is
/// logged and the last good one kept.
pub fn snapshot() -> Option<Rc<Snapshot>> {
    let cached = CACHE.with(|c| c.borrow().clone());
    match protocol::refresh(&SharedData, cached.as_ref().map(|s| s.version)) {
        Refresh::Keep => cached,
        Refresh::Fresh(snapshot) => {
            let snapshot = Rc::new(snapshot);
            CACHE.with(|c| *c.borrow_mut() = Some(snapshot.clone()));
            Some(snapshot)
        }
        Refresh::Bad(e) => {
            log::error!("weir-sdk: {e}; keeping the previous runtime values");
            cached
        }
    }
}

/// An unsigned integer runtime value.
pub fn get_u64(key: &str) -> Option<u64> {
    snapshot()?.u64(key)
}

/// A string runtime value.
pub fn get_str(key: &str) -> Option<String> {
    snapshot()?.str(key)
}

/// A boolean runtime value.
pub fn get_bool(key: &str) -> Option<bool> {
    snapshot()?.bool(key)
}

/// The version of the snapshot in use, if any.
pub fn version() -> Option<u64> {
    snapshot().map(|s| s.version)
}
