//! Request paths as a proxy should see them before it routes a request or runs a policy on it.
//!
//! A path can be spelled many ways that a server reads as one resource: `/admin`, `//admin`,
//! `/./admin`, `/%61dmin`, `/x/../admin`, `/x/..;/admin`, `/x%2f..%2fadmin`. A proxy that
//! routes or authorizes on the raw spelling while the upstream resolves it is open to path
//! confusion. This crate has two tools against it, both without dependencies so that the host
//! (`weir-host`) and the filter SDK (`weir-sdk`, `wasm32-wasip1`) share one definition:
//!
//! - [`normalize`]: what Envoy's HTTP connection manager does with `normalize_path`,
//!   `merge_slashes` and `path_with_escaped_slashes_action`, byte for byte (checked against
//!   Envoy 1.40 by the `path-normalization` conformance case). weir runs it on every request
//!   before routing and before plugins.
//! - [`views`]: the spellings a filter must match a policy against so that no server's reading
//!   of the path escapes it: the path normalized as above, and the path decoded as far as any
//!   lenient server would (percent-escapes decoded repeatedly, backslashes as slashes, `;`
//!   parameters dropped, dot segments resolved).
//!
//! Only the path is touched: the query (from the first `?`) is kept as it is.

mod canon;
mod policy;
mod slashes;

pub use canon::canonicalize;
pub use policy::{decoded, views};
pub use slashes::{merge_slashes, unescape_slashes};

/// What to do with a path holding escaped slashes (`%2F`, `%2f`, `%5C`, `%5c`), as Envoy's
/// `path_with_escaped_slashes_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EscapedSlashes {
    /// Leave them (Envoy's default).
    #[default]
    KeepUnchanged,
    /// Answer 400.
    RejectRequest,
    /// Unescape them, then redirect the client to the resulting path (307; gRPC requests get
    /// status 13 instead, as gRPC clients do not follow redirects).
    UnescapeAndRedirect,
    /// Unescape them and go on with the resulting path.
    UnescapeAndForward,
}

/// Envoy's path options of an HTTP connection manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// `normalize_path`: resolve dot segments, decode escaped unreserved characters, turn
    /// backslashes into slashes, escape characters that must be ([`canonicalize`]).
    pub normalize: bool,
    /// `merge_slashes`: `a//b` → `a/b` ([`merge_slashes`]).
    pub merge_slashes: bool,
    /// `path_with_escaped_slashes_action`.
    pub escaped_slashes: EscapedSlashes,
}

/// What [`normalize`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Go on with the path as it is.
    Unchanged,
    /// Go on with this path instead.
    Forward(String),
    /// Redirect the client to this path (escaped slashes under
    /// [`EscapedSlashes::UnescapeAndRedirect`]).
    Redirect(String),
    /// Refuse the request (400): escaped slashes under [`EscapedSlashes::RejectRequest`], a
    /// fragment (`#`), or a path that cannot be normalized (an escaped or raw NUL).
    Reject(Rejection),
}

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The path holds `%2F` or `%5C` and the action is `REJECT_REQUEST`.
    EscapedSlashes,
    /// The path holds a fragment (`#`), which a client must never send.
    Fragment,
    /// The path holds something normalization refuses (a NUL).
    Invalid,
}

/// Normalizes a request's `:path` (path and query) with Envoy's options and in Envoy's order:
/// escaped slashes first, then `normalize_path`, then `merge_slashes`. A path with a fragment
/// is refused whatever the options (Envoy 1.40 does the same).
pub fn normalize(path: &str, options: &Options) -> Outcome {
    if plain(path) {
        return Outcome::Unchanged;
    }
    if path.contains('#') {
        return Outcome::Reject(Rejection::Fragment);
    }
    let mut current = path.to_string();
    let mut redirect = false;
    if options.escaped_slashes != EscapedSlashes::KeepUnchanged
        && let Some(unescaped) = unescape_slashes(&current)
    {
        match options.escaped_slashes {
            EscapedSlashes::RejectRequest => return Outcome::Reject(Rejection::EscapedSlashes),
            EscapedSlashes::UnescapeAndRedirect => redirect = true,
            EscapedSlashes::UnescapeAndForward | EscapedSlashes::KeepUnchanged => {}
        }
        current = unescaped;
    }
    if options.normalize {
        match canonicalize(&current) {
            Some(canonical) => current = canonical,
            None => return Outcome::Reject(Rejection::Invalid),
        }
    }
    if options.merge_slashes
        && let Some(merged) = merge_slashes(&current)
    {
        current = merged;
    }
    if redirect {
        Outcome::Redirect(current)
    } else if current == path {
        Outcome::Unchanged
    } else {
        Outcome::Forward(current)
    }
}

/// Whether no option can change `path`: its path part has no `%`, backslash, `#`, `//` or
/// segment starting with a dot, and no byte that normalization escapes. Most paths are; they
/// cost one scan and no allocation.
pub(crate) fn plain(path: &str) -> bool {
    let (path, query) = split_query(path);
    if !path.starts_with('/') {
        return false;
    }
    let mut previous = 0u8;
    for &byte in path.as_bytes() {
        let ordinary = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+')
            || matches!(byte, b',' | b':' | b';' | b'=' | b'@' | b'[' | b']')
            || (byte == b'/' && previous != b'/')
            || (byte == b'.' && previous != b'/');
        if !ordinary {
            return false;
        }
        previous = byte;
    }
    !query.contains('#')
}

/// Splits `:path` into the path and the query (with its `?`, or empty).
pub(crate) fn split_query(path: &str) -> (&str, &str) {
    match path.find('?') {
        Some(at) => path.split_at(at),
        None => (path, ""),
    }
}

#[cfg(test)]
mod tests;
