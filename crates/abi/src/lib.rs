//! The proxy-wasm ABI, as plain data: the numeric enums both sides of the boundary agree on and
//! the wire codec for header maps.
//!
//! This crate has no dependencies and compiles for every target, so the filter SDK (`weir-sdk`,
//! `wasm32-wasip1`) and the host (`weir-host`, native) share one definition and cannot drift
//! apart. Values follow proxy-wasm ABI 0.2.1 and Envoy's `proxy-wasm-cpp-host`.

pub mod callbacks;
mod enums;
mod int_hash;
mod pairs;
pub mod runtime;

pub use callbacks::HttpCallbacks;
pub use enums::{
    AbiVersion, Action, BufferType, ContextType, DataStatus, HeadersStatus, LogLevel, MapType, MetricType,
    PeerType, Status, StreamType, TrailersStatus,
};
pub use int_hash::IntHasher;
pub use pairs::{Pair, PairsError, decode_pairs, encode_pairs, encoded_pairs_len};
