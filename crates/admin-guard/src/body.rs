//! Request bodies: the endpoint's media types only, and a size limit.

use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::guard::Refusal;

/// JSON bodies.
pub const JSON: &[&str] = &["application/json"];
/// YAML bodies (JSON is YAML too).
pub const YAML: &[&str] = &["application/yaml", "application/x-yaml", "text/yaml", "application/json"];
/// A Wasm module.
pub const WASM: &[&str] = &["application/wasm"];

/// The request's media type (`type/subtype`, lower case, parameters dropped), if any.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    (!essence.is_empty()).then_some(essence)
}

/// Refuses (`415`) a request whose `Content-Type` is not one of `accepted`, or is missing. The
/// types a browser form can send without a preflight (`text/plain`, urlencoded, multipart) are
/// never in an admin endpoint's list.
pub fn require_content_type(headers: &HeaderMap, accepted: &[&str]) -> Result<(), Refusal> {
    match media_type(headers) {
        Some(t) if accepted.contains(&t.as_str()) => Ok(()),
        found => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type {} is not accepted here; send {}",
                found.map_or("(none)".to_string(), |t| format!("`{t}`")),
                accepted.join(" or ")
            ),
        )),
    }
}

fn too_large(limit: usize) -> Refusal {
    Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, format!("the request body is larger than {limit} bytes"))
}

/// Reads a body of at most `limit` bytes: a larger `Content-Length` is refused before reading,
/// and reading stops (`413`) as soon as more arrives.
pub async fn read_body<B>(headers: &HeaderMap, body: B, limit: usize) -> Result<Bytes, Refusal>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(too_large(limit)),
        Err(e) => Err(Refusal::new(StatusCode::BAD_REQUEST, format!("cannot read the request body: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::Full;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), v.parse().unwrap())).collect()
    }

    #[test]
    fn content_types() {
        assert!(require_content_type(&headers(&[("content-type", "application/json")]), JSON).is_ok());
        assert!(
            require_content_type(&headers(&[("content-type", "Application/JSON; charset=utf-8")]), JSON)
                .is_ok()
        );
        for browser in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
        {
            let r = require_content_type(&headers(&[("content-type", browser)]), YAML).unwrap_err();
            assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{browser}");
        }
        let none = require_content_type(&headers(&[]), WASM).unwrap_err();
        assert!(
            none.message.contains("(none)") && none.message.contains("application/wasm"),
            "{}",
            none.message
        );
    }

    #[tokio::test]
    async fn bodies_are_capped() {
        let small = read_body(&HeaderMap::new(), Full::new(Bytes::from_static(b"1234")), 4).await;
        assert_eq!(small.unwrap(), Bytes::from_static(b"1234"));
        let big = read_body(&HeaderMap::new(), Full::new(Bytes::from_static(b"12345")), 4).await;
        assert_eq!(big.unwrap_err().status, StatusCode::PAYLOAD_TOO_LARGE);
        let declared = read_body(&headers(&[("content-length", "99999")]), Full::new(Bytes::new()), 4).await;
        assert_eq!(declared.unwrap_err().status, StatusCode::PAYLOAD_TOO_LARGE);
        // A streamed body stops being read once past the limit, however long it would be.
        let chunks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let r = read_body(&HeaderMap::new(), Endless(chunks.clone()), 4096).await;
        assert_eq!(r.unwrap_err().status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(chunks.load(std::sync::atomic::Ordering::Relaxed), 5);
    }

    /// A body that never ends: 1 KiB chunks, counted.
    struct Endless(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl Body for Endless {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![b'x'; 1024])))))
        }
    }
}
