//! The request path as routing and plugins see it: normalized with the listener's options
//! (`normalize_path`, `merge_slashes`, `path_with_escaped_slashes_action`, see `weir-path`)
//! before anything reads it, or the request refused or redirected as Envoy does.

use bytes::Bytes;
use http::Response;
use weir_path::{Outcome, Rejection};

use super::listener::ListenerContext;
use weir_http::Name;
use weir_http::local_reply_response;
use weir_http::{BoxBody, HeaderMap, LocalReply};

/// gRPC's INTERNAL, which Envoy answers gRPC clients whose path it refuses or would redirect.
const GRPC_INTERNAL: i32 = 13;

/// Normalizes `:path` in place. `Some` is the answer to send instead: 400 for a path that is
/// refused, 307 to the normalized path for escaped slashes under `UNESCAPE_AND_REDIRECT`
/// (gRPC clients get `grpc-status: 13` for both).
pub(crate) fn normalize(listener: &ListenerContext, headers: &mut HeaderMap) -> Option<Response<BoxBody>> {
    let path = headers.get_str(":path")?;
    let stats = &listener.stats;
    let reply = match weir_path::normalize(path, &listener.path_options) {
        Outcome::Unchanged => return None,
        Outcome::Forward(normalized) => {
            headers.set(Name::pseudo(":path"), Bytes::from(normalized));
            return None;
        }
        Outcome::Redirect(location) => {
            stats.path_redirected.inc();
            let mut reply = LocalReply::host(307, Bytes::new(), "path_normalization_redirect");
            reply.headers.push((Bytes::from_static(b"location"), Bytes::from(location)));
            reply
        }
        Outcome::Reject(why) => {
            stats.path_rejected.inc();
            let details = match why {
                Rejection::EscapedSlashes => "path_with_escaped_slashes_rejected",
                Rejection::Fragment | Rejection::Invalid => "path_normalization_failed",
            };
            let mut reply = LocalReply::host(400, Bytes::new(), details);
            // Envoy closes the connection after refusing a path.
            reply.headers.push((Bytes::from_static(b"connection"), Bytes::from_static(b"close")));
            reply
        }
    };
    let grpc = headers.get(b"content-type").is_some_and(|v| v.starts_with(b"application/grpc"));
    let reply = match grpc {
        // No redirect for gRPC: only the status.
        true => LocalReply { grpc_status: GRPC_INTERNAL, headers: Vec::new(), ..reply }.into_grpc(),
        false => reply,
    };
    stats.requests.record(u16::try_from(reply.status).unwrap_or(500));
    Some(local_reply_response(&reply))
}
