//! A TCP connection's access log line: the listener's `access_log` format, one line per
//! connection (`protocol` `TCP`, no method, path or status; `bytes_received` from the client,
//! `bytes_sent` from the upstream, `response_code_details` how it ended).

use crate::access_log::{AccessLog, Record};
use weir_http::HttpStream;

/// Writes the line of the connection `stream`, which ended as `details` says.
pub fn write(log: &AccessLog, stream: &HttpStream, details: &str) {
    let duration = stream.info.start_time.elapsed().unwrap_or_default();
    log.write(&Record { stream, details, duration });
}
