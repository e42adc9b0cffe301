//! # weir-proxy-wasm
//!
//! The proxy-wasm core of weir, independent of the proxy around it:
//!
//! - [`wasm`]: engines (one per guest stack size), compiled modules, per-worker VMs under
//!   limits (memory, callback time, stack, bytes held on the guest's behalf);
//! - [`abi`]: every proxy-wasm hostcall (0.2.1, 0.2.0, 0.1.0) and the WASI imports Envoy
//!   provides, one file per spec area, with Envoy's semantics and status codes;
//! - [`services`]: what guests share (shared data and queues per `vm_id`, plugin metrics,
//!   execution counters, the node identity) and each worker's VM registry;
//! - [`callout`]: HTTP and gRPC callouts: tokens, budgets, framing, Envoy's wording;
//! - [`plugin`]: a plugin's life: loaded once, a VM and root context per worker, failure
//!   policies and recovery; module files read under the configured rules.
//!
//! It reaches the proxy only through the seams in [`embedder`]: the clusters callouts may use
//! and the events the proxy counts; and it shares the exchange state plugins see
//! ([`weir_http::StreamShared`]) with the request driver as vocabulary. `docs/architecture.md` draws the layers.

pub mod abi;
pub mod callout;
pub mod embedder;
pub mod plugin;
pub mod services;
pub mod wasm;
