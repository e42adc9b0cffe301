//! The runtime-values contract shared by hosts (weir's xDS client, Envoy's rtds-bridge) and
//! filters (weir-sdk): where the merged runtime snapshot lives in proxy-wasm shared data and how
//! it is encoded. See `docs/runtime-values.md`.

/// Shared-data key of the snapshot (in the filters' `vm_id`).
pub const SNAPSHOT_KEY: &str = "weir.runtime";

/// Shared-data key holding the snapshot's version as decimal text; filters read this small key
/// on every request and the snapshot only when it moved.
pub const VERSION_KEY: &str = "weir.runtime.version";

/// The encoding version written in the snapshot's `format` field.
pub const FORMAT: u32 = 1;
