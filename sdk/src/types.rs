//! The types the context traits use, with the names the `proxy-wasm` crate gives them.

pub use weir_abi::{
    Action, BufferType, ContextType, HttpCallbacks, LogLevel, MapType, MetricType, PeerType, Status,
    StreamType,
};

use crate::traits::{HttpContext, RootContext};

/// Bytes from the host (header values, bodies, properties).
pub type Bytes = Vec<u8>;

/// Makes the root context of a plugin (given its context id); see [`crate::set_root_context`].
pub type NewRootContext = fn(context_id: u32) -> Box<dyn RootContext>;

/// Makes the context of a request (given its id and its root context's id), instead of
/// [`RootContext::create_http_context`]; see [`crate::set_http_context`].
pub type NewHttpContext = fn(context_id: u32, root_context_id: u32) -> Box<dyn HttpContext>;
