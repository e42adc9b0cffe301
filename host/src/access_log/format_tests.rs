#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use weir_http::{HeaderMap, HttpStream};

use super::*;

fn stream() -> HttpStream {
    let mut stream = HttpStream::default();
    for (k, v) in
        [(":method", "GET"), (":path", "/a?b=1"), (":authority", "example.com"), ("user-agent", "curl/8.0")]
    {
        stream.request_headers.add(k, Bytes::from(v));
    }
    let mut response = HeaderMap::default();
    response.add(":status", Bytes::from_static(b"200"));
    response.add("content-type", Bytes::from_static(b"text/plain"));
    stream.response_headers = Some(response);
    stream.info.start_time = UNIX_EPOCH + Duration::from_millis(1_796_659_026_722);
    stream.info.response_code = Some(200);
    stream.info.response_code_details = "via_upstream".into();
    stream.info.response_body_bytes = 12;
    stream.info.upstream_address = Some("127.0.0.1:8080".parse().unwrap());
    stream.info.cluster_name = Some("backends".into());
    stream.info.downstream_remote = "10.0.0.1:5555".parse().unwrap();
    stream
}

fn render(config: AccessLogConfig, stream: &HttpStream) -> String {
    let format = Format::compile(&config).unwrap();
    let details = stream.info.response_code_details.clone();
    format.render(&Record { stream, details: &details, duration: Duration::from_millis(7) })
}

fn text(format: &str) -> AccessLogConfig {
    AccessLogConfig { format: Some(format.into()), ..AccessLogConfig::path("-") }
}

#[test]
fn text_operators_write_values_and_a_dash_for_what_is_unknown() {
    let line = render(
        text(
            "A %RESPONSE_CODE% %REQ(X-MISSING)% %REQ(X-MISSING?USER-AGENT):5% [%START_TIME%] %DURATION% %RESPONSE_FLAGS% %UPSTREAM_HOST% %PROTOCOL% %ROUTE_NAME% %START_TIME(%s)% %UPSTREAM_CLUSTER% %REQ(:PATH)% %RESP(content-type)% %TRAILER(grpc-status)% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
        ),
        &stream(),
    );
    // Envoy 1.40 wrote the same for the same exchange (no newline unless the format has one).
    assert_eq!(
        line,
        "A 200 - curl/ [2026-12-07T15:57:06.722Z] 7 - 127.0.0.1:8080 HTTP/1.1 - 1796659026 backends /a?b=1 text/plain - 10.0.0.1"
    );
}

#[test]
fn envoy_default_format_is_envoys_line() {
    let line = render(text(ENVOY_DEFAULT), &stream());
    assert_eq!(
        line,
        "[2026-12-07T15:57:06.722Z] \"GET /a?b=1 HTTP/1.1\" 200 - 0 12 7 - \"-\" \"curl/8.0\" \"-\" \"example.com\" \"127.0.0.1:8080\"\n"
    );
}

#[test]
fn json_values_keep_their_type_and_unknown_ones_are_null() {
    let object = serde_json::json!({
        "code": "%RESPONSE_CODE%", "missing": "%REQ(X-MISSING)%", "mixed": "c=%RESPONSE_CODE% m=%REQ(X-MISSING)%",
        "bytes": "%BYTES_SENT%", "nested": {"p": "%REQ(:PATH)%"}, "lit": "x", "num": 5, "flag": true,
        "route": "%ROUTE_NAME%",
    });
    let config = AccessLogConfig { json_format: object.as_object().cloned(), ..AccessLogConfig::path("-") };
    let line = render(config, &stream());
    // Keys sorted and types as Envoy 1.40 writes them.
    assert_eq!(
        line,
        "{\"bytes\":12,\"code\":200,\"flag\":true,\"lit\":\"x\",\"missing\":null,\"mixed\":\"c=200 m=-\",\"nested\":{\"p\":\"/a?b=1\"},\"num\":5,\"route\":null}\n"
    );
}

#[test]
fn header_values_are_escaped_in_json() {
    let mut stream = stream();
    stream.request_headers.add("x-evil", Bytes::from_static(b"a\"b\\c\x01"));
    let object = serde_json::json!({"v": "%REQ(X-EVIL)%"});
    let config = AccessLogConfig { json_format: object.as_object().cloned(), ..AccessLogConfig::path("-") };
    let line = render(config, &stream);
    let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(parsed["v"], "a\"b\\c\u{1}");
}

#[test]
fn the_default_is_weirs_json_line() {
    let line = render(AccessLogConfig::path("-"), &stream());
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["response_code"], 200);
    assert_eq!(entry["duration_ms"], 7);
    assert_eq!(entry["upstream_host"], "127.0.0.1:8080");
    assert_eq!(entry["request_id"], serde_json::Value::Null);
    assert_eq!(entry["start_time"], "2026-12-07T15:57:06.722Z");
}

#[test]
fn upstream_failures_and_missing_routes_have_envoys_flags() {
    let mut stream = stream();
    stream.info.response_flags = "UF";
    assert_eq!(render(text("%RESPONSE_FLAGS%"), &stream), "UF");
    stream.info.response_flags = "";
    stream.info.response_code_details = "route_not_found".into();
    assert_eq!(render(text("%RESPONSE_FLAGS%"), &stream), "NR");
}

#[test]
fn bad_formats_are_refused_with_the_reason() {
    for (format, expected) in [
        ("%NOPE%", "unknown command operator `%NOPE%`"),
        ("100% sure", "unterminated command operator at byte 3"),
        ("%REQ%", "needs a header name"),
        ("%RESPONSE_CODE:3%", "only taken by REQ, RESP and TRAILER"),
        ("%START_TIME(%Y)%", "`%START_TIME%` and `%START_TIME(%s)%` only"),
        ("%DURATION(x)%", "takes no argument"),
    ] {
        let e = Format::compile(&text(format)).unwrap_err().to_string();
        assert!(e.contains(expected), "{format}: {e}");
    }
    let list = serde_json::json!({"a": ["%RESPONSE_CODE%"]});
    let config = AccessLogConfig { json_format: list.as_object().cloned(), ..AccessLogConfig::path("-") };
    assert!(Format::compile(&config).unwrap_err().to_string().contains("`a`: only strings"));
    let both = AccessLogConfig { json_format: Some(Default::default()), ..text("x") };
    assert!(Format::compile(&both).is_err());
}

#[test]
fn control_characters_a_plugin_set_cannot_forge_a_text_line() {
    let mut stream = stream();
    stream.request_headers.add("x-evil", Bytes::from_static(b"a\nGET /forged 200\r\x1b[31m\tb"));
    assert_eq!(render(text("%REQ(X-EVIL)%\n"), &stream), "a\\nGET /forged 200\\r\\u{1b}[31m\tb\n");
}

#[test]
fn reply_details_a_plugin_chose_cannot_forge_a_text_line_either() {
    let mut stream = stream();
    stream.info.response_code_details = "x\nGET /forged".into();
    assert_eq!(render(text("%RESPONSE_CODE_DETAILS%\n"), &stream), "x\\nGET /forged\n");
}

#[test]
fn a_double_percent_is_a_percent() {
    assert_eq!(render(text("100%% %RESPONSE_CODE%%%"), &stream()), "100% 200%");
}
