//! The conformance suite (`tests/tests/conformance.rs`): data-driven cases
//! (`tests/conformance/<case>/case.yaml`), each run against real Envoy and against weir with
//! the same `.wasm` files and the same echo upstream; both must meet every expectation, and
//! their answers must agree with each other (see [`compare`]).

mod case;
mod config;
mod expect;
pub mod grpc;
mod run;

pub use case::{
    Case, ClusterSpec, ClusterTarget, PluginSpec, RequestSpec, StatValue, cases_dir, check_filters, load_all,
};
pub use config::{Targets, envoy_config, twin, weir_config};
pub use expect::{Expect, UpstreamExpect, check, compare};
pub use run::{Answers, run};
