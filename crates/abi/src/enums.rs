//! Numeric enums of the proxy-wasm ABI.

/// Declares a `#[repr(u32)]` enum with a fallible conversion from its raw value.
macro_rules! abi_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:expr),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $value),+
        }

        impl $name {
            /// Converts a raw ABI value, or `None` when it is not a known variant.
            pub const fn from_raw(raw: u32) -> Option<Self> {
                match raw {
                    $($value => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The raw ABI value.
            pub const fn raw(self) -> u32 {
                self as u32
            }
        }
    };
}

abi_enum! {
    /// Result of a hostcall (`WasmResult` in Envoy).
    Status {
        Ok = 0,
        NotFound = 1,
        BadArgument = 2,
        SerializationFailure = 3,
        ParseFailure = 4,
        BadExpression = 5,
        InvalidMemoryAccess = 6,
        Empty = 7,
        CasMismatch = 8,
        ResultMismatch = 9,
        InternalFailure = 10,
        BrokenConnection = 11,
        Unimplemented = 12,
    }
}

abi_enum! {
    /// What the Rust SDK returns from stream callbacks.
    Action {
        Continue = 0,
        Pause = 1,
    }
}

abi_enum! {
    /// What a guest may return from `proxy_on_request_headers` / `proxy_on_response_headers`
    /// (Envoy's `FilterHeadersStatus`; the Rust SDK only uses the first two).
    HeadersStatus {
        Continue = 0,
        StopIteration = 1,
        ContinueAndEndStream = 2,
        StopAllIterationAndBuffer = 3,
        StopAllIterationAndWatermark = 4,
    }
}

abi_enum! {
    /// What a guest may return from body callbacks (Envoy's `FilterDataStatus`).
    DataStatus {
        Continue = 0,
        StopIterationAndBuffer = 1,
        StopIterationAndWatermark = 2,
        StopIterationNoBuffer = 3,
    }
}

abi_enum! {
    /// What a guest may return from trailer callbacks (Envoy's `FilterTrailersStatus`).
    TrailersStatus {
        Continue = 0,
        StopIteration = 1,
    }
}

abi_enum! {
    /// `proxy_log` levels.
    LogLevel {
        Trace = 0,
        Debug = 1,
        Info = 2,
        Warn = 3,
        Error = 4,
        Critical = 5,
    }
}

abi_enum! {
    /// Context kinds passed by the host (0.2.x `proxy_on_context_create` does not pass one; kept
    /// for SDKs that use it).
    ContextType {
        HttpContext = 0,
        StreamContext = 1,
    }
}

abi_enum! {
    /// Stream direction for `proxy_continue_stream` / `proxy_close_stream`.
    StreamType {
        Request = 0,
        Response = 1,
        Downstream = 2,
        Upstream = 3,
    }
}

abi_enum! {
    /// Buffers a guest can read or write.
    BufferType {
        HttpRequestBody = 0,
        HttpResponseBody = 1,
        DownstreamData = 2,
        UpstreamData = 3,
        HttpCallResponseBody = 4,
        GrpcReceiveBuffer = 5,
        VmConfiguration = 6,
        PluginConfiguration = 7,
        CallData = 8,
    }
}

abi_enum! {
    /// Header maps a guest can read or write.
    MapType {
        HttpRequestHeaders = 0,
        HttpRequestTrailers = 1,
        HttpResponseHeaders = 2,
        HttpResponseTrailers = 3,
        GrpcReceiveInitialMetadata = 4,
        GrpcReceiveTrailingMetadata = 5,
        HttpCallResponseHeaders = 6,
        HttpCallResponseTrailers = 7,
    }
}

abi_enum! {
    /// Which side closed a TCP stream (`proxy_on_downstream_connection_close`).
    PeerType {
        Unknown = 0,
        Local = 1,
        Remote = 2,
    }
}

abi_enum! {
    /// Metric kinds for `proxy_define_metric`.
    MetricType {
        Counter = 0,
        Gauge = 1,
        Histogram = 2,
    }
}

/// The ABI a module was compiled against, detected from its exported marker function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AbiVersion {
    /// `proxy_abi_version_0_1_0`.
    V0_1_0,
    /// `proxy_abi_version_0_2_0`.
    V0_2_0,
    /// `proxy_abi_version_0_2_1`.
    V0_2_1,
}

impl AbiVersion {
    /// Every version, newest first, with its marker export.
    pub const ALL: [(AbiVersion, &'static str); 3] = [
        (AbiVersion::V0_2_1, "proxy_abi_version_0_2_1"),
        (AbiVersion::V0_2_0, "proxy_abi_version_0_2_0"),
        (AbiVersion::V0_1_0, "proxy_abi_version_0_1_0"),
    ];

    /// The version string, e.g. `0.2.1`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AbiVersion::V0_1_0 => "0.1.0",
            AbiVersion::V0_2_0 => "0.2.0",
            AbiVersion::V0_2_1 => "0.2.1",
        }
    }

    /// Detects the version from a module's export names.
    pub fn detect<'a>(mut exports: impl Iterator<Item = &'a str>) -> Option<AbiVersion> {
        let mut found: Option<AbiVersion> = None;
        exports.try_for_each(|name| {
            if let Some((v, _)) = Self::ALL.iter().find(|(_, marker)| *marker == name) {
                found = Some(found.map_or(*v, |f| f.max(*v)));
            }
            Some(())
        });
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trip() {
        for raw in 0..=12 {
            let s = Status::from_raw(raw).unwrap();
            assert_eq!(s.raw(), raw);
        }
        assert_eq!(Status::from_raw(13), None);
        assert_eq!(MapType::from_raw(7), Some(MapType::HttpCallResponseTrailers));
        assert_eq!(BufferType::from_raw(9), None);
    }

    #[test]
    fn detects_newest_marker() {
        let exports = ["memory", "proxy_abi_version_0_1_0", "proxy_abi_version_0_2_1"];
        assert_eq!(AbiVersion::detect(exports.into_iter()), Some(AbiVersion::V0_2_1));
        assert_eq!(AbiVersion::detect(["memory"].into_iter()), None);
    }
}
