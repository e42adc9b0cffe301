//! The runtime-values contract shared by every party: `weir-cp` (which validates layers),
//! weir's xDS client and Envoy's `rtds-bridge` (which flatten layers and publish snapshots), and
//! filters (which read snapshots through weir-sdk). See `docs/runtime-values.md`.
//!
//! Builds for `wasm32-wasip1` and natively; depends only on serde.

mod flatten;
mod snapshot;

pub use flatten::{FlattenError, Layer, flatten, merge};
pub use snapshot::Snapshot;
pub use weir_abi::runtime::{FORMAT, SNAPSHOT_KEY, VERSION_KEY};
