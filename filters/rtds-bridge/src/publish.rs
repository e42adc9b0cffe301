//! The runtime-values contract's writer side: the merged snapshot goes into proxy-wasm shared
//! data (scoped by `vm_id`, so the bridge runs with the filters' `vm_id`) under
//! [`SNAPSHOT_KEY`], then its version under [`VERSION_KEY`], exactly as weir writes them: a
//! reader that sees the new version finds the matching snapshot. See `docs/runtime-values.md`.

use weir_runtime::{SNAPSHOT_KEY, Snapshot, VERSION_KEY};
use weir_sdk::{Status, host};

/// The version in shared data: `None` when nothing is published; `Some(0)` when the key holds
/// something that is not a number (a snapshot of unknown content is there all the same).
pub fn shared_version() -> Result<Option<u64>, Status> {
    Ok(host::shared_get(VERSION_KEY)?
        .map(|(value, _cas)| value.as_str().and_then(|text| text.trim().parse::<u64>().ok()).unwrap_or(0)))
}

/// Writes `snapshot`, then its version (unconditional writes: the bridge is the only writer of
/// its `vm_id` in Envoy, and versions only grow).
pub fn write(snapshot: &Snapshot) -> Result<(), Status> {
    host::shared_set(SNAPSHOT_KEY, &snapshot.to_bytes(), 0)?;
    host::shared_set(VERSION_KEY, snapshot.version.to_string().as_bytes(), 0)
}
