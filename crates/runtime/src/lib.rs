//! The runtime-values contract shared by every party: `weir-cp` (which validates layers),
//! weir's xDS client and Envoy's `rtds-bridge` (which flatten layers and publish snapshots), and
//! filters (which read snapshots through weir-sdk). See `docs/runtime-values.md`.
//!
//! - [`flatten`]/[`merge`]: Envoy's layer flattening and precedence;
//! - [`struct_number`]: how a `Struct` number becomes JSON;
//! - [`Snapshot`]: the format published in shared data;
//! - [`protocol`]: how it is written and read there.
//!
//! Builds for `wasm32-wasip1` and natively; depends only on serde.

mod flatten;
mod number;
pub mod protocol;
mod snapshot;

pub use flatten::{FlattenError, Layer, flatten, merge};
pub use number::struct_number;
pub use snapshot::Snapshot;
pub use weir_abi::runtime::{FORMAT, SNAPSHOT_KEY, VERSION_KEY};
