//! The checks every Weir admin API runs before it looks at a request: `weir`'s admin port and
//! `weir-cp`'s admin API share this one definition. The threat is a local user who can reach a
//! loopback port, and a web page in a browser on the same machine (cross-site requests, DNS
//! rebinding); `docs/security.md` ("Admin APIs") is the operator's guide.
//!
//! - [`Guard::admit`]: a request with an `Origin` header is refused (browsers send it, admin
//!   clients do not); over TCP, a `Host` that is not the server's own address is refused (DNS
//!   rebinding); a request that changes state (any method but `GET`/`HEAD`) needs
//!   `Authorization: Bearer <token>` ([`Token`], compared in constant time) or must arrive over
//!   the admin unix socket ([`unix`]); with neither configured it is refused with a message
//!   saying how to enable changes.
//! - [`require_content_type`]: the endpoint's media types only (`415`), so that a browser form
//!   (`text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`) never reaches it.
//! - [`read_body`]: bodies read with a limit (`413`), never collected unbounded.
//! - [`reply`], [`challenged`]: replies built the same way by both APIs.
//! - [`redacted`]: what a secret (a plugin configuration) is shown as: its size and SHA-256.

mod body;
mod guard;
mod host;
mod redact;
mod reply;
mod token;
pub mod unix;

pub use body::{JSON, WASM, YAML, read_body, require_content_type};
pub use guard::{Access, Guard, GuardConfig, Refusal, Transport};
pub use host::HostPolicy;
pub use redact::redacted;
pub use reply::{Reply, challenged, reply};
pub use token::{MIN_TOKEN_BYTES, Token, TokenError};
