//! The conformance suite (`tests/tests/conformance.rs`): data-driven cases
//! (`tests/conformance/<case>/case.yaml`), each run against real Envoy and against weir with
//! the same `.wasm` files and the same echo upstream; both must meet every expectation, and
//! their answers must agree with each other (see [`compare`]). A case with `tls` runs its
//! listener over TLS with certificates generated for the run ([`CaseTls`]) and checks each
//! handshake too ([`TlsExpect`]).

mod case;
mod config;
mod exchange;
mod expect;
pub mod grpc;
mod run;
mod tls_case;
mod tls_client;
mod tls_expect;
mod tls_pki;
mod tls_recorder;
mod tls_upstream;
mod tls_verify;
mod xds_mode;

pub use case::{
    Case, ClusterSpec, ClusterTarget, PluginSpec, RequestSpec, StatValue, cases_dir, check_filters, load_all,
};
pub use config::{Targets, envoy_config, twin, weir_config};
pub use exchange::{Answer, Answers};
pub use expect::{Expect, UpstreamExpect, check, compare};
pub use run::{Mode, run};
pub use tls_case::{ClientAuthSpec, ClientCertSpec, RequestTls, ServerCertSpec, TlsSpec};
pub use tls_client::TlsSeen;
pub use tls_expect::{Handshake, TlsExpect};
pub use tls_pki::CaseTls;
pub use tls_upstream::{TlsUpstreams, UpstreamTlsSpec};
