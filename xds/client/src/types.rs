//! Resource type URLs.

/// RTDS: `envoy.service.runtime.v3.Runtime` (one resource per runtime layer).
pub const RUNTIME: &str = "type.googleapis.com/envoy.service.runtime.v3.Runtime";

/// ECDS: `envoy.config.core.v3.TypedExtensionConfig` (a filter's configuration by name).
pub const EXTENSION_CONFIG: &str = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig";

/// The Wasm HTTP filter configuration carried in ECDS resources.
pub const WASM_FILTER: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";

/// SDS: `envoy.extensions.transport_sockets.tls.v3.Secret` (TLS certificates and CA bundles
/// by name).
pub const SECRET: &str = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
