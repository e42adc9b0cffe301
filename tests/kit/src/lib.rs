//! # weir-testkit
//!
//! What the test suites (`weir-tests`) and `cargo xtask` share, so each exists once:
//!
//! - [`paths`]: the workspace, the target directory, the built filters, the installed Envoy;
//! - [`bins`]: the project's binaries (`weir`, `weir-cp`, `weir-echo`), each from its
//!   `$WEIR_*_BIN` or built once per process with cargo;
//! - [`child`]: a child process stopped by PID on drop, its log in a file whose tail goes
//!   into errors, ready when its admin `/ready` answers `LIVE` (polled with [`http`], a small
//!   blocking HTTP/1.1 client); [`launch`] starts Envoy, `weir` and the echo upstream with it,
//!   [`cp`] `weir-cp`; [`procfs`] reads a process's memory and CPU time; [`redis`] runs a
//!   real `redis-server` on a unix socket;
//! - [`twin`]: one description of listeners, routes, clusters and a plugin chain, rendered as
//!   a `weir.yaml` and as the equivalent Envoy bootstrap; [`shard_pair`] templates the
//!   checked-in shuffle-shard pair.
//!
//! Light on purpose (no async runtime, no weir-host), so `cargo xtask` builds it in seconds;
//! async tests call its blocking parts through `spawn_blocking`. Servers it starts bind
//! `127.0.0.1`; processes are stopped by PID, never by name.

pub mod bins;
pub mod child;
pub mod cp;
pub mod http;
pub mod launch;
pub mod paths;
pub mod procfs;
pub mod redis;
pub mod shard_pair;
pub mod twin;

pub use child::{Child, Spawn};
pub use twin::Twin;
