//! The request driver: listeners and connections, the per-exchange plugin chain, bodies,
//! forwarding and local replies. Its vocabulary (header maps, streams, body helpers) is the
//! `weir-http` crate.

mod body;
mod chain;
mod exchange;
mod forward;
mod forwarded;
mod io;
mod listener;
mod path;
mod prefetch;
mod request_phase;
mod server;
mod tunnel;
mod upgrade;
mod watchdog;

pub use body::{BodyHalted, FilteredBody};
pub use chain::{Chain, Direction, Halt};
pub use exchange::Exchange;
pub use listener::{ConnectionInfo, ConnectionLimits, ListenerContext};
pub use server::{ConnectionTracker, ListenerHandle, serve_listener};
pub use watchdog::{ConnWatch, Timeouts, Verdict};
