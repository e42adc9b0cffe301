//! The Wasm runtime: one wasmtime [`Engine`](wasmtime::Engine) per process, modules compiled
//! once, and per-worker [`Vm`]s that run proxy-wasm callbacks under time and memory limits.

mod cache;
mod delivery;
mod engine;
mod engine_set;
mod error;
mod exports;
mod limiter;
mod limits;
pub(crate) mod memory;
mod module;
mod network;
mod state;
mod vm;

pub use engine::{DEFAULT_MAX_STACK, EPOCH_TICK, Engines, GUEST_THREAD_STACK, MAX_STACK};
pub(crate) use error::ProcExit;
pub use error::{LoadError, VmError};
pub use exports::GuestExports;
pub use limiter::VmLimiter;
pub use limits::{Charge, InFlight, VmLimits};
pub use module::CompiledModule;
pub use state::{Access, ContextEntry, HostState, RootContextInfo, Ticker, VmEnv};
pub use vm::Vm;
