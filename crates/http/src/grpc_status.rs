//! gRPC statuses as the proxy and its callouts use them: the codes weir answers with, and
//! gRPC's HTTP-to-gRPC mapping for a response that is not a gRPC one.

/// gRPC status codes weir produces itself.
pub mod code {
    /// OK.
    pub const OK: u32 = 0;
    /// INTERNAL.
    pub const INTERNAL: u32 = 13;
    /// UNAVAILABLE.
    pub const UNAVAILABLE: u32 = 14;
}

/// The gRPC status for a non-200 HTTP response (gRPC's HTTP-to-gRPC mapping).
pub fn status_for_http(status: u16) -> u32 {
    match status {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => 14,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_map_as_grpc_specifies() {
        assert_eq!(status_for_http(503), code::UNAVAILABLE);
        assert_eq!(status_for_http(400), code::INTERNAL);
        assert_eq!(status_for_http(418), 2);
    }
}
