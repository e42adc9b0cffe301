//! Conversions between hyper's request/response heads and the [`HeaderMap`] plugins see.
//!
//! Like Envoy: `Host` becomes `:authority`, hop-by-hop headers are dropped on the way in, and
//! pseudo-headers become the request line / status line on the way out.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};

use super::HeaderMap;

const HOP_BY_HOP: [&str; 6] =
    ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"];

fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.contains(&name)
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

/// Request head → plugin header map (`:authority`, `:path`, `:method`, `:scheme` first).
pub fn request_map(parts: &http::request::Parts) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(parts.headers.len() + 6);
    let authority = parts
        .uri
        .authority()
        .map(|a| Bytes::copy_from_slice(a.as_str().as_bytes()))
        .or_else(|| parts.headers.get(http::header::HOST).map(|h| Bytes::copy_from_slice(h.as_bytes())))
        .unwrap_or_default();
    map.add(Bytes::from_static(b":authority"), authority);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    map.add(Bytes::from_static(b":path"), Bytes::copy_from_slice(path.as_bytes()));
    map.add(Bytes::from_static(b":method"), Bytes::copy_from_slice(parts.method.as_str().as_bytes()));
    let scheme = parts.uri.scheme_str().unwrap_or("http");
    map.add(Bytes::from_static(b":scheme"), Bytes::copy_from_slice(scheme.as_bytes()));
    let te_trailers =
        parts.headers.get(http::header::TE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    for (name, value) in &parts.headers {
        let name = name.as_str();
        if name == "host" || is_hop_by_hop(name) {
            continue;
        }
        map.add(Bytes::copy_from_slice(name.as_bytes()), Bytes::copy_from_slice(value.as_bytes()));
    }
    if te_trailers {
        map.add(Bytes::from_static(b"te"), Bytes::from_static(b"trailers"));
    }
    map
}

/// Response head → plugin header map (`:status` first).
pub fn response_map(parts: &http::response::Parts) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(parts.headers.len() + 1);
    map.add(Bytes::from_static(b":status"), Bytes::copy_from_slice(parts.status.as_str().as_bytes()));
    for (name, value) in &parts.headers {
        if is_hop_by_hop(name.as_str()) {
            continue;
        }
        map.add(Bytes::copy_from_slice(name.as_str().as_bytes()), Bytes::copy_from_slice(value.as_bytes()));
    }
    map
}

/// Adds `x-envoy-upstream-service-time` (milliseconds since `started`), which Envoy's router
/// adds to upstream responses and plugins may read.
pub fn add_service_time(map: &mut HeaderMap, started: std::time::Instant) {
    let ms = started.elapsed().as_millis().to_string();
    map.add(Bytes::from_static(b"x-envoy-upstream-service-time"), Bytes::from(ms));
}

/// Trailers (an `http::HeaderMap`) → plugin header map.
pub fn header_map_from_http(headers: &http::HeaderMap) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        map.add(Bytes::copy_from_slice(name.as_str().as_bytes()), Bytes::copy_from_slice(value.as_bytes()));
    }
    map
}

/// Plugin header map → trailers. Invalid names or values are dropped with a debug log.
pub fn http_trailers_from_map(map: &HeaderMap) -> http::HeaderMap {
    let mut out = http::HeaderMap::with_capacity(map.len());
    append_regular(map, &mut out);
    out
}

fn append_regular(map: &HeaderMap, out: &mut http::HeaderMap) {
    for (name, value) in map.iter() {
        if name.starts_with(b":") {
            continue;
        }
        match (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            (Ok(n), Ok(v)) => {
                out.append(n, v);
            }
            _ => {
                tracing::debug!(name = %String::from_utf8_lossy(name), "dropping header that HTTP cannot carry")
            }
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
    fn host_becomes_authority_and_hop_by_hop_is_dropped() {
        let request = Request::builder()
            .uri("/a?b=1")
            .header("host", "example.com")
            .header("connection", "keep-alive")
            .header("x-a", "1")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let map = request_map(&parts);
        let names: Vec<_> = map.iter().map(|(k, _)| String::from_utf8_lossy(k).into_owned()).collect();
        assert_eq!(names, [":authority", ":path", ":method", ":scheme", "x-a"]);
        assert_eq!(map.get(b":path").unwrap(), "/a?b=1");
        let up = upstream_request(&map, (), false).unwrap();
        assert_eq!(up.headers()["host"], "example.com");
        assert_eq!(up.uri(), "/a?b=1");
        assert!(!up.headers().contains_key(":path"));
    }
}
