//! The HTTP callbacks a module declares it implements: weir's `weir_http_callbacks` export.
//!
//! A module built with weir-sdk declares which of its HTTP context callbacks do something
//! (`weir_sdk::set_http_callbacks`); the SDK never passes the others to the filter, in any
//! host. weir reads the declaration when the VM starts and does not call the undeclared ones
//! at all (no crossing into the VM); Envoy does not know the export and calls them, and the
//! SDK answers them itself. A module without the export gets every callback.

/// A set of HTTP context callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpCallbacks(u32);

impl HttpCallbacks {
    /// `proxy_on_request_headers`.
    pub const REQUEST_HEADERS: HttpCallbacks = HttpCallbacks(1);
    /// `proxy_on_request_body`.
    pub const REQUEST_BODY: HttpCallbacks = HttpCallbacks(1 << 1);
    /// `proxy_on_request_trailers`.
    pub const REQUEST_TRAILERS: HttpCallbacks = HttpCallbacks(1 << 2);
    /// `proxy_on_response_headers`.
    pub const RESPONSE_HEADERS: HttpCallbacks = HttpCallbacks(1 << 3);
    /// `proxy_on_response_body`.
    pub const RESPONSE_BODY: HttpCallbacks = HttpCallbacks(1 << 4);
    /// `proxy_on_response_trailers`.
    pub const RESPONSE_TRAILERS: HttpCallbacks = HttpCallbacks(1 << 5);
    /// `proxy_on_log` for HTTP contexts.
    pub const LOG: HttpCallbacks = HttpCallbacks(1 << 6);
    /// `proxy_on_done` for HTTP contexts (undeclared: the context is done at once).
    pub const DONE: HttpCallbacks = HttpCallbacks(1 << 7);
    /// Every callback (what a module without the declaration gets).
    pub const ALL: HttpCallbacks = HttpCallbacks(0xff);
    /// None.
    pub const NONE: HttpCallbacks = HttpCallbacks(0);

    /// From the export's value (unknown bits ignored).
    pub const fn from_raw(raw: u32) -> HttpCallbacks {
        HttpCallbacks(raw & Self::ALL.0)
    }

    /// The export's value.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Whether every callback of `other` is in the set.
    pub const fn contains(self, other: HttpCallbacks) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for HttpCallbacks {
    type Output = HttpCallbacks;

    fn bitor(self, other: HttpCallbacks) -> HttpCallbacks {
        HttpCallbacks(self.0 | other.0)
    }
}

/// The name of the export.
pub const EXPORT: &str = "weir_http_callbacks";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_combine_and_ignore_unknown_bits() {
        let set = HttpCallbacks::REQUEST_HEADERS | HttpCallbacks::DONE;
        assert!(set.contains(HttpCallbacks::REQUEST_HEADERS) && set.contains(HttpCallbacks::DONE));
        assert!(!set.contains(HttpCallbacks::RESPONSE_BODY));
        assert_eq!(HttpCallbacks::from_raw(set.raw() | 1 << 20), set);
        assert!(HttpCallbacks::ALL.contains(set) && !HttpCallbacks::NONE.contains(set));
    }
}
