//! # weir-http
//!
//! The vocabulary of weir's data path, shared by the request driver, the router, the upstream
//! pools and the proxy-wasm core (none of which it knows about):
//!
//! - [`HeaderMap`] (ordered, duplicate-keeping, with pseudo-headers) and interned [`Name`]s;
//! - [`Chunk`] and [`ByteView`]: body bytes as plugins see and edit them;
//! - [`HttpStream`]/[`StreamShared`]: the state of one exchange as plugins see it, with its
//!   [`Activity`];
//! - conversions between hyper's heads and header maps ([`convert`]);
//! - [`LocalReply`]: responses weir makes itself, shaped as Envoy shapes them;
//! - [`UpstreamError`]: a failure talking to an upstream, in Envoy's words;
//! - [`BoxBody`] and its constructors; gRPC status tables ([`grpc_status`]).

mod activity;
mod body;
mod byte_view;
mod chunk;
pub mod convert;
pub mod grpc_status;
pub mod h1_trailers;
mod header_name;
mod headers;
mod local_reply;
mod stream;
mod tls_info;
mod upstream_error;

pub use activity::Activity;
pub use body::{BoxBody, BoxError, LocalExec, boxed, empty_body, full_body};
pub use byte_view::ByteView;
pub use chunk::Chunk;
pub use convert::{
    add_service_time, header_map_from_http, http_trailers_from_map, request_map, response_map,
    upstream_request,
};
pub use headers::{HeaderMap, Name, NameCache};
pub use local_reply::{LocalReply, local_reply_response};
pub use stream::{HttpStream, Phase, StreamInfo, StreamShared, XdsMetadata};
pub use tls_info::{CertSummary, TlsInfo};
pub use upstream_error::{UpstreamError, error_chain};
