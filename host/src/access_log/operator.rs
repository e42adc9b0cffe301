//! Envoy's access log command operators (`%RESPONSE_CODE%`, `%REQ(X?Y):N%`, ...): parsed once
//! when a config is loaded, evaluated for every line against the finished exchange.

use std::borrow::Cow;
use std::time::{Duration, UNIX_EPOCH};

use weir_http::{HeaderMap, HttpStream};

/// A format that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// `%NAME%` is not an operator weir knows.
    #[error(
        "unknown command operator `%{0}%` (see docs/config.md#access-log-formats for those weir supports)"
    )]
    Unknown(String),
    /// The operator exists but not with this argument or length.
    #[error("`%{name}%`: {reason}")]
    Argument {
        /// The operator as written.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `%` that opens no operator.
    #[error(
        "unterminated command operator at byte {0} (a `%` opens `%NAME%`, `%NAME(ARG)%` or `%NAME(ARG):N%`)"
    )]
    Unterminated(usize),
    /// A JSON value weir does not format.
    #[error("`{0}`: only strings, numbers, booleans, null and objects are allowed")]
    JsonValue(String),
}

/// The exchange a line is written for.
pub struct Record<'a> {
    /// The request, response and facts of the exchange.
    pub stream: &'a HttpStream,
    /// How it ended (`response_code_details`).
    pub details: &'a str,
    /// From the request's start to now.
    pub duration: Duration,
}

/// One operator's value for one exchange.
#[derive(Debug, PartialEq)]
pub enum Value<'a> {
    /// Not known for this exchange: `-` in text, `null` in a JSON value of its own.
    Absent,
    /// Text.
    Text(Cow<'a, str>),
    /// A number (a JSON number when the operator is a value of its own).
    Number(u64),
}

/// Which header map `%REQ%`, `%RESP%` and `%TRAILER%` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Map {
    Request,
    Response,
    ResponseTrailers,
}

/// A header read by an operator: `name`, else `fallback`, cut to `max` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Header {
    map: Map,
    name: String,
    fallback: Option<String>,
    max: Option<usize>,
}

/// One command operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    /// `%START_TIME%` (RFC 3339, milliseconds, UTC) or `%START_TIME(%s)%` (Unix seconds).
    StartTime { unix_seconds: bool },
    /// `%REQ(..)%`, `%RESP(..)%`, `%TRAILER(..)%`.
    Header(Header),
    /// `%RESPONSE_CODE%` (0 when no response was sent).
    ResponseCode,
    /// `%RESPONSE_CODE_DETAILS%`.
    ResponseCodeDetails,
    /// `%RESPONSE_FLAGS%` (Envoy's short flags: `NR`, `NC`, `UH`, `UF`, `UO`, `UC`, `UT`, `SI`).
    ResponseFlags,
    /// `%BYTES_RECEIVED%`: request body bytes.
    BytesReceived,
    /// `%BYTES_SENT%`: response body bytes.
    BytesSent,
    /// `%DURATION%`: milliseconds from the request's start to the line.
    Duration,
    /// `%PROTOCOL%`.
    Protocol,
    /// `%UPSTREAM_HOST%`.
    UpstreamHost,
    /// `%UPSTREAM_CLUSTER%`.
    UpstreamCluster,
    /// `%ROUTE_NAME%`.
    RouteName,
    /// `%DOWNSTREAM_REMOTE_ADDRESS%` and its `_WITHOUT_PORT` form.
    DownstreamRemote { port: bool },
    /// `%DOWNSTREAM_LOCAL_ADDRESS%` and its `_WITHOUT_PORT` form.
    DownstreamLocal { port: bool },
    /// `%CONNECTION_ID%`.
    ConnectionId,
    /// `%REQUESTED_SERVER_NAME%`: the SNI of a TLS connection.
    RequestedServerName,
    /// `%DOWNSTREAM_TLS_VERSION%`.
    DownstreamTlsVersion,
    /// `%HOSTNAME%`.
    Hostname(String),
}

impl Operator {
    /// The operator `name` with its optional `(argument)` and `:max` length.
    pub fn parse(name: &str, argument: Option<&str>, max: Option<usize>) -> Result<Operator, FormatError> {
        let refuse = |reason| FormatError::Argument { name: name.to_string(), reason };
        let header = |map| {
            let Some(argument) = argument.filter(|a| !a.is_empty()) else {
                return Err(refuse("needs a header name: `%REQ(NAME)%` or `%REQ(NAME?FALLBACK)%`"));
            };
            let (name, fallback) = match argument.split_once('?') {
                Some((name, fallback)) => (name, Some(fallback.to_ascii_lowercase())),
                None => (argument, None),
            };
            Ok(Operator::Header(Header { map, name: name.to_ascii_lowercase(), fallback, max }))
        };
        match name {
            "REQ" => return header(Map::Request),
            "RESP" => return header(Map::Response),
            "TRAILER" => return header(Map::ResponseTrailers),
            _ => {}
        }
        if max.is_some() {
            return Err(refuse("a `:N` length is only taken by REQ, RESP and TRAILER"));
        }
        if name == "START_TIME" {
            return match argument {
                None => Ok(Operator::StartTime { unix_seconds: false }),
                Some("%s") => Ok(Operator::StartTime { unix_seconds: true }),
                Some(_) => Err(refuse("weir supports `%START_TIME%` and `%START_TIME(%s)%` only")),
            };
        }
        if argument.is_some() {
            return Err(refuse("takes no argument"));
        }
        Ok(match name {
            "RESPONSE_CODE" => Operator::ResponseCode,
            "RESPONSE_CODE_DETAILS" => Operator::ResponseCodeDetails,
            "RESPONSE_FLAGS" => Operator::ResponseFlags,
            "BYTES_RECEIVED" => Operator::BytesReceived,
            "BYTES_SENT" => Operator::BytesSent,
            "DURATION" => Operator::Duration,
            "PROTOCOL" => Operator::Protocol,
            "UPSTREAM_HOST" => Operator::UpstreamHost,
            "UPSTREAM_CLUSTER" => Operator::UpstreamCluster,
            "ROUTE_NAME" => Operator::RouteName,
            "DOWNSTREAM_REMOTE_ADDRESS" => Operator::DownstreamRemote { port: true },
            "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT" => Operator::DownstreamRemote { port: false },
            "DOWNSTREAM_LOCAL_ADDRESS" => Operator::DownstreamLocal { port: true },
            "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT" => Operator::DownstreamLocal { port: false },
            "CONNECTION_ID" => Operator::ConnectionId,
            "REQUESTED_SERVER_NAME" => Operator::RequestedServerName,
            "DOWNSTREAM_TLS_VERSION" => Operator::DownstreamTlsVersion,
            "HOSTNAME" => Operator::Hostname(hostname()),
            other => return Err(FormatError::Unknown(other.to_string())),
        })
    }

    /// The value for `record`.
    pub fn eval<'a>(&'a self, record: &Record<'a>) -> Value<'a> {
        let info = &record.stream.info;
        let text = |s: &'a str| if s.is_empty() { Value::Absent } else { Value::Text(Cow::Borrowed(s)) };
        let owned = |s: String| Value::Text(Cow::Owned(s));
        match self {
            Operator::StartTime { unix_seconds: false } => {
                owned(humantime::format_rfc3339_millis(info.start_time).to_string())
            }
            Operator::StartTime { unix_seconds: true } => {
                owned(info.start_time.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs().to_string())
            }
            Operator::Header(header) => header.eval(record.stream),
            Operator::ResponseCode => Value::Number(u64::from(info.response_code.unwrap_or(0))),
            Operator::ResponseCodeDetails => text(record.details),
            // `-` when none, in JSON too (Envoy 1.40 writes `"flags":"-"`, not null).
            Operator::ResponseFlags => {
                Value::Text(Cow::Borrowed(response_flags(info.response_flags, record.details)))
            }
            Operator::BytesReceived => Value::Number(info.request_body_bytes),
            Operator::BytesSent => Value::Number(info.response_body_bytes),
            Operator::Duration => Value::Number(record.duration.as_millis() as u64),
            Operator::Protocol => text(info.protocol),
            Operator::UpstreamHost => info.upstream_address.map_or(Value::Absent, |a| owned(a.to_string())),
            Operator::UpstreamCluster => info.cluster_name.as_deref().map_or(Value::Absent, text),
            Operator::RouteName => text(&info.route_name),
            Operator::DownstreamRemote { port } => address(info.downstream_remote, *port),
            Operator::DownstreamLocal { port } => address(info.downstream_local, *port),
            Operator::ConnectionId => Value::Number(info.connection_id),
            Operator::RequestedServerName => info
                .downstream_tls
                .as_ref()
                .and_then(|t| t.server_name.as_deref())
                .map_or(Value::Absent, text),
            Operator::DownstreamTlsVersion => {
                info.downstream_tls.as_ref().map_or(Value::Absent, |t| text(t.version))
            }
            Operator::Hostname(name) => text(name),
        }
    }
}

impl Header {
    fn eval<'a>(&'a self, stream: &'a HttpStream) -> Value<'a> {
        let map: Option<&HeaderMap> = match self.map {
            Map::Request => Some(&stream.request_headers),
            Map::Response => stream.response_headers.as_ref(),
            Map::ResponseTrailers => stream.response_trailers.as_ref(),
        };
        let Some(map) = map else { return Value::Absent };
        let value = map
            .get(self.name.as_bytes())
            .or_else(|| self.fallback.as_deref().and_then(|f| map.get(f.as_bytes())));
        let Some(value) = value else { return Value::Absent };
        let value = String::from_utf8_lossy(value);
        match self.max {
            Some(max) if value.chars().count() > max => {
                Value::Text(Cow::Owned(value.chars().take(max).collect()))
            }
            _ => Value::Text(Cow::Owned(value.into_owned())),
        }
    }
}

fn address<'a>(address: std::net::SocketAddr, port: bool) -> Value<'a> {
    Value::Text(Cow::Owned(if port { address.to_string() } else { address.ip().to_string() }))
}

/// Envoy's response flags (`-` for none): those recorded when the upstream failed, else those
/// the reply's details imply.
pub fn response_flags(recorded: &'static str, details: &str) -> &'static str {
    if !recorded.is_empty() {
        return recorded;
    }
    match details {
        "route_not_found" => "NR",
        "cluster_not_found" => "NC",
        "stream_idle_timeout" => "SI",
        _ => "-",
    }
}

/// This machine's name, read once per compiled format.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}
