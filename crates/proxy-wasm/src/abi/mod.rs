//! Every import a proxy-wasm module may use, one file per area of the spec. Semantics follow
//! Envoy (status codes included): see `docs/abi-conformance.md` for the table.

mod buffer;
mod clock;
mod context;
mod foreign;
mod grpc;
mod header_map;
mod http_call;
mod log;
mod metrics;
mod node;
mod properties;
mod proto;
mod shared_data;
mod shared_queue;
mod stream;
mod timer;
mod wasi;

use wasmtime::Linker;

use crate::wasm::HostState;

/// Registers every hostcall with the linker.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    log::add_to_linker(linker)?;
    clock::add_to_linker(linker)?;
    timer::add_to_linker(linker)?;
    context::add_to_linker(linker)?;
    buffer::add_to_linker(linker)?;
    header_map::add_to_linker(linker)?;
    stream::add_to_linker(linker)?;
    properties::add_to_linker(linker)?;
    shared_data::add_to_linker(linker)?;
    shared_queue::add_to_linker(linker)?;
    metrics::add_to_linker(linker)?;
    http_call::add_to_linker(linker)?;
    grpc::add_to_linker(linker)?;
    foreign::add_to_linker(linker)?;
    wasi::add_to_linker(linker)?;
    Ok(())
}

pub(crate) use log::LogBudget;
pub use log::MAX_LOG_LINE;

/// Module name of proxy-wasm imports.
pub(crate) const ENV: &str = "env";
