//! A TCP connection's access log line: the listener's `access_log` format, one line per
//! connection (`protocol` `TCP`, no method, path or status; `bytes_received` from the client,
//! `bytes_sent` from the upstream, `response_code_details` how it ended).

use crate::access_log::{Entry, Sink};
use weir_http::HttpStream;

/// Writes the line of the connection `stream` to `sink`.
pub fn write(sink: &Sink, stream: &HttpStream, details: &str) {
    let info = &stream.info;
    sink.write(&Entry {
        start_time: humantime::format_rfc3339_millis(info.start_time).to_string(),
        method: "",
        path: "",
        authority: "",
        protocol: info.protocol,
        response_code: 0,
        response_code_details: details,
        bytes_received: info.request_body_bytes,
        bytes_sent: info.response_body_bytes,
        duration_ms: info.start_time.elapsed().unwrap_or_default().as_millis() as u64,
        upstream_host: info.upstream_address.map(|a| a.to_string()),
        upstream_cluster: info.cluster_name.as_deref(),
        route_name: "",
        downstream_remote_address: info.downstream_remote.to_string(),
        request_id: "",
        user_agent: "",
    });
}
