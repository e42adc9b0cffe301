//! The fault suite (`tests/tests/faults.rs`): each fault runs against the `weir` binary and
//! against real Envoy with the same `.wasm` and an equivalent config, two listeners each — one
//! with the fault, one healthy — under bounded load. What must still hold for weir afterwards
//! is checked (healthy side unaffected, memory bounded, metrics tell what happened); what
//! Envoy did is only recorded. Results go to a markdown table (`target/fault-report.md`,
//! summarised in `docs/reliability.md`).

pub mod attack;
pub mod clients;
pub mod config;
pub mod garbage;
pub mod handle;
pub mod hang;
pub mod load;
pub mod network;
pub mod observe;
pub mod plugin;
pub mod process;
pub mod report;
pub mod request;
pub mod scenario;
pub mod suite;
pub mod upstream;

pub use report::{Observed, Row};
pub use scenario::{Checks, Env};
