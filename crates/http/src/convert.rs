//! Conversions between hyper's request/response heads and the [`HeaderMap`] plugins see.
//!
//! Like Envoy: `Host` becomes `:authority`, hop-by-hop headers are dropped on the way in, and
//! pseudo-headers become the request line / status line on the way out.

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};

use super::HeaderMap;
use super::headers::Name;

static HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::TE,
];

fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name)
}

/// The protocol string of a version, as the `request.protocol` property spells it.
pub fn protocol_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

/// A method's name, without a copy for the standard ones.
fn method_bytes(method: &Method) -> Bytes {
    let known = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::PATCH,
        Method::CONNECT,
        Method::TRACE,
    ];
    const NAMES: [&str; 9] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"];
    match known.iter().position(|m| m == method) {
        Some(i) => Bytes::from_static(NAMES[i].as_bytes()),
        None => Bytes::copy_from_slice(method.as_str().as_bytes()),
    }
}

/// Request head → plugin header map (`:authority`, `:path`, `:method`, `:scheme` first). The
/// head's headers are moved into the map. `:scheme` is the request's own (HTTP/2) or the
/// connection's (`tls`: `https`), as Envoy sets it.
pub fn request_map(parts: &mut http::request::Parts, tls: bool) -> HeaderMap {
    request_map_with(parts, tls, is_hop_by_hop)
}

/// [`request_map`] for an upgrade that is proxied: `connection` and `upgrade` stay, where the
/// client put them (as Envoy keeps them for plugins and the upstream).
pub fn upgrade_request_map(parts: &mut http::request::Parts, tls: bool) -> HeaderMap {
    request_map_with(parts, tls, is_hop_by_hop_but_upgrade)
}

/// [`response_map`] for the answer to a proxied upgrade: `connection` and `upgrade` stay.
pub fn upgrade_response_map(parts: &mut http::response::Parts) -> HeaderMap {
    response_map_with(parts, is_hop_by_hop_but_upgrade)
}

fn is_hop_by_hop_but_upgrade(name: &HeaderName) -> bool {
    is_hop_by_hop(name) && name != header::CONNECTION && name != header::UPGRADE
}

fn request_map_with(
    parts: &mut http::request::Parts,
    tls: bool,
    hop_by_hop: fn(&HeaderName) -> bool,
) -> HeaderMap {
    let headers = std::mem::take(&mut parts.headers);
    // Room for the pseudo-headers and for what plugins usually add.
    let mut map = HeaderMap::with_capacity(headers.len() + 12);
    // Read, not removed: `http::HeaderMap::remove` moves its last header into the gap, and
    // plugins see headers in the order the client sent them.
    let host = headers.get(header::HOST).map(|h| Bytes::copy_from_slice(h.as_bytes()));
    let authority = match parts.uri.authority() {
        Some(a) => Bytes::copy_from_slice(a.as_str().as_bytes()),
        None => host.unwrap_or_default(),
    };
    map.add(Name::pseudo(":authority"), authority);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    map.add(Name::pseudo(":path"), Bytes::copy_from_slice(path.as_bytes()));
    map.add(Name::pseudo(":method"), method_bytes(&parts.method));
    let scheme = match parts.uri.scheme_str() {
        None if tls => Bytes::from_static(b"https"),
        None | Some("http") => Bytes::from_static(b"http"),
        Some("https") => Bytes::from_static(b"https"),
        Some(other) => Bytes::copy_from_slice(other.as_bytes()),
    };
    map.add(Name::pseudo(":scheme"), scheme);
    let te_trailers = headers.get(header::TE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    map.extend_from_http(headers, |name| name == header::HOST || hop_by_hop(name));
    if te_trailers {
        map.add(header::TE, Bytes::from_static(b"trailers"));
    }
    map
}

/// Response head → plugin header map (`:status` first). The head's headers are moved into the
/// map.
pub fn response_map(parts: &mut http::response::Parts) -> HeaderMap {
    response_map_with(parts, is_hop_by_hop)
}

fn response_map_with(parts: &mut http::response::Parts, hop_by_hop: fn(&HeaderName) -> bool) -> HeaderMap {
    let headers = std::mem::take(&mut parts.headers);
    let mut map = HeaderMap::with_capacity(headers.len() + 8);
    map.add(Name::pseudo(":status"), status_bytes(parts.status));
    map.extend_from_http(headers, hop_by_hop);
    map
}

/// A status code as text, without a copy for the usual ones.
fn status_bytes(status: StatusCode) -> Bytes {
    match status.as_u16() {
        200 => Bytes::from_static(b"200"),
        204 => Bytes::from_static(b"204"),
        304 => Bytes::from_static(b"304"),
        404 => Bytes::from_static(b"404"),
        _ => Bytes::copy_from_slice(status.as_str().as_bytes()),
    }
}

/// Adds `x-envoy-upstream-service-time` (milliseconds since `started`), which Envoy's router
/// adds to upstream responses and plugins may read.
pub fn add_service_time(map: &mut HeaderMap, started: std::time::Instant) {
    const SERVICE_TIME: HeaderName = HeaderName::from_static("x-envoy-upstream-service-time");
    let ms = started.elapsed().as_millis().to_string();
    map.add(SERVICE_TIME, Bytes::from(ms));
}

/// Trailers (an `http::HeaderMap`) → plugin header map.
pub fn header_map_from_http(headers: http::HeaderMap) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(headers.len());
    map.extend_from_http(headers, |_| false);
    map
}

/// Plugin header map → trailers. Invalid names or values are dropped with a debug log.
pub fn http_trailers_from_map(map: &HeaderMap) -> http::HeaderMap {
    let mut out = http::HeaderMap::with_capacity(map.len());
    append_regular(map, &mut out);
    out
}

/// The map's regular headers (names and values shared, not copied); pseudo-headers are left
/// out, and what HTTP cannot carry is dropped with a debug log.
fn append_regular(map: &HeaderMap, out: &mut http::HeaderMap) {
    for (name, value) in map.iter() {
        let valid = match name.http() {
            Some(name) => HeaderValue::from_maybe_shared(value.clone()).ok().map(|v| (name.clone(), v)),
            None if name.is_pseudo() => continue,
            None => None,
        };
        match valid {
            Some((name, value)) => {
                out.append(name, value);
            }
            None => tracing::debug!(
                name = %String::from_utf8_lossy(name.as_bytes()),
                "dropping header that HTTP cannot carry"
            ),
        }
    }
}

/// Plugin header map → upstream request head. `http2` puts `:authority` into the URI instead of
/// a `Host` header.
pub fn upstream_request<B>(map: &HeaderMap, body: B, http2: bool) -> Result<Request<B>, String> {
    let method = map
        .get(b":method")
        .ok_or("request has no :method")
        .and_then(|m| Method::from_bytes(m).map_err(|_| "invalid :method"))?;
    let path = map.get(b":path").map_or(&b"/"[..], |p| p.as_ref());
    let authority = map.get(b":authority").cloned().unwrap_or_default();
    let uri = if http2 {
        let scheme = map.get_str(":scheme").unwrap_or("http");
        let mut text = Vec::with_capacity(scheme.len() + 3 + authority.len() + path.len());
        text.extend_from_slice(scheme.as_bytes());
        text.extend_from_slice(b"://");
        text.extend_from_slice(&authority);
        text.extend_from_slice(path);
        Uri::try_from(text).map_err(|e| format!("invalid request URI: {e}"))?
    } else {
        Uri::try_from(path).map_err(|e| format!("invalid :path: {e}"))?
    };
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    if http2 {
        *request.version_mut() = Version::HTTP_2;
    }
    let headers = request.headers_mut();
    headers.reserve(map.len());
    if !http2
        && !authority.is_empty()
        && let Ok(host) = HeaderValue::from_maybe_shared(authority)
    {
        headers.insert(http::header::HOST, host);
    }
    append_regular(map, headers);
    Ok(request)
}

/// Plugin header map → downstream response head. A missing or invalid `:status` is a 502.
pub fn downstream_response<B>(map: &HeaderMap, body: B) -> Response<B> {
    let status = map
        .get_str(":status")
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = Response::new(body);
    *response.status_mut() = status;
    append_regular(map, response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgrade_keeps_connection_and_upgrade_in_place() {
        let request = Request::get("/ws")
            .header("host", "h")
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("keep-alive", "timeout=5")
            .header("x", "1")
            .body(())
            .unwrap();
        let (mut parts, ()) = request.into_parts();
        let map = upgrade_request_map(&mut parts, false);
        let names: Vec<&[u8]> =
            map.iter().filter(|(k, _)| !k.is_pseudo()).map(|(k, _)| k.as_bytes()).collect();
        assert_eq!(names, [&b"connection"[..], b"upgrade", b"x"]);
    }

    #[test]
    fn host_becomes_authority_and_hop_by_hop_is_dropped() {
        let request = Request::builder()
            .uri("/a?b=1")
            .header("host", "example.com")
            .header("connection", "keep-alive")
            .header("x-a", "1")
            .body(())
            .unwrap();
        let (mut parts, ()) = request.into_parts();
        let map = request_map(&mut parts, false);
        let names: Vec<_> =
            map.iter().map(|(k, _)| String::from_utf8_lossy(k.as_bytes()).into_owned()).collect();
        assert_eq!(names, [":authority", ":path", ":method", ":scheme", "x-a"]);
        assert_eq!(map.get(b":path").unwrap(), "/a?b=1");
        let up = upstream_request(&map, (), false).unwrap();
        assert_eq!(up.headers()["host"], "example.com");
        assert_eq!(up.uri(), "/a?b=1");
        assert!(!up.headers().contains_key(":path"));
    }
}
