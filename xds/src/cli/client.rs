//! A small HTTP/1.1 client for the admin API (a fresh connection per request, 10 s limit).

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::DeserializeOwned;

use super::error::CliError;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Characters kept as they are in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encodes one path segment (a layer, key or resource name).
pub fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// The admin API at a base URL (`http://host:port`).
#[derive(Debug, Clone)]
pub struct AdminClient {
    url: String,
    authority: String,
}

impl AdminClient {
    /// Parses the base URL.
    pub fn new(url: &str) -> Result<AdminClient, CliError> {
        let bad = |why: &str| CliError::Argument(format!("bad admin URL `{url}`: {why}"));
        let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad("only http:// is supported"));
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        Ok(AdminClient {
            url: url.trim_end_matches('/').to_string(),
            authority: format!("{}:{port}", authority.host()),
        })
    }

    /// Sends a request; returns the JSON body of a 2xx answer, or the API's error.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, CliError> {
        let bytes = self.raw(method, path, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| CliError::BadReply(format!("{path}: {e}")))
    }

    /// Sends a request; returns the body of a 2xx answer, or the API's error.
    pub async fn raw(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Result<Bytes, CliError> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, self.authority.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| CliError::Argument(format!("cannot build a request for {path}: {e}")))?;
        let (status, bytes) = tokio::time::timeout(TIMEOUT, self.send(request))
            .await
            .map_err(|_| self.unreachable(format!("no answer within {}s", TIMEOUT.as_secs())))??;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        let message = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_string());
        Err(CliError::Refused { status, message })
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> Result<(u16, Bytes), CliError> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| self.unreachable(e.to_string()))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.unreachable(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let response = sender.send_request(request).await.map_err(|e| self.unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(|e| self.unreachable(e.to_string()))?;
        Ok((status, body.to_bytes()))
    }

    fn unreachable(&self, reason: String) -> CliError {
        CliError::Unreachable { url: self.url.clone(), reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_segments() {
        assert_eq!(AdminClient::new("http://127.0.0.1:18001/").unwrap().authority, "127.0.0.1:18001");
        assert_eq!(AdminClient::new("http://localhost").unwrap().authority, "localhost:80");
        assert!(AdminClient::new("https://x:1").is_err());
        assert!(AdminClient::new("not a url").is_err());
        assert_eq!(segment("a.b-c_d"), "a.b-c_d");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
