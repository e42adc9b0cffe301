//! A small HTTP/1.1 client for the admin API (a fresh connection per request, 10 s limit), over
//! TCP, TLS (`https://`) or the admin unix socket, with the admin token.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::DeserializeOwned;
use weir_admin_guard::Token;

use super::error::CliError;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Characters kept as they are in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encodes one path segment (a layer, key or resource name).
pub fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// Where the admin API listens.
#[derive(Debug, Clone)]
enum Endpoint {
    /// `host:port` over TCP.
    Tcp(String),
    /// `host:port` over TLS, verified for `host`.
    Tls {
        /// `host:port`.
        authority: String,
        /// The name the certificate must hold.
        host: String,
    },
    /// The admin unix socket.
    Unix(PathBuf),
}

/// The admin API at a base URL (`http://host:port`, or `unix:PATH`), with the token to send.
#[derive(Debug, Clone)]
pub struct AdminClient {
    url: String,
    endpoint: Endpoint,
    token: Option<Token>,
    tls: Option<Arc<weir_tls::ClientTls>>,
}

impl AdminClient {
    /// Parses the base URL.
    pub fn new(url: &str) -> Result<AdminClient, CliError> {
        let bad = |why: &str| CliError::Argument(format!("bad admin URL `{url}`: {why}"));
        if let Some(path) = url.strip_prefix("unix:") {
            let path = path.trim_start_matches("//");
            if path.is_empty() {
                return Err(bad("no socket path after `unix:`"));
            }
            return Ok(AdminClient {
                url: url.to_string(),
                endpoint: Endpoint::Unix(path.into()),
                token: None,
                tls: None,
            });
        }
        let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let host = authority.host();
        let endpoint = match uri.scheme_str() {
            Some("http") => Endpoint::Tcp(format!("{host}:{}", authority.port_u16().unwrap_or(80))),
            Some("https") => Endpoint::Tls {
                authority: format!("{host}:{}", authority.port_u16().unwrap_or(443)),
                host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
            },
            _ => return Err(bad("only http://, https:// and unix: are supported")),
        };
        Ok(AdminClient { url: url.trim_end_matches('/').to_string(), endpoint, token: None, tls: None })
    }

    /// Reaches an `https://` admin URL with `settings` (trusted CAs, client certificate).
    pub fn with_tls(mut self, settings: &weir_tls::UpstreamTls) -> Result<AdminClient, CliError> {
        if matches!(self.endpoint, Endpoint::Tls { .. }) {
            let tls = weir_tls::ClientTls::new(settings, false, "--admin-ca/--admin-client-cert")
                .map_err(|e| CliError::Argument(e.to_string()))?;
            self.tls = Some(Arc::new(tls));
        }
        Ok(self)
    }

    /// Sends `token` (`Authorization: Bearer`) with every request.
    pub fn with_token(mut self, token: Option<Token>) -> AdminClient {
        self.token = token;
        self
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

    /// Sends a request (a body as `application/json`); returns the body of a 2xx answer, or
    /// the API's error.
    pub async fn raw(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Result<Bytes, CliError> {
        self.typed(method, path, body, "application/json").await
    }

    /// Sends a request with a body of `content_type`; returns the JSON of a 2xx answer.
    pub async fn call_with<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<T, CliError> {
        let bytes = self.typed(method, path, Some(body), content_type).await?;
        serde_json::from_slice(&bytes).map_err(|e| CliError::BadReply(format!("{path}: {e}")))
    }

    async fn typed(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> Result<Bytes, CliError> {
        let host = match &self.endpoint {
            Endpoint::Tcp(authority) | Endpoint::Tls { authority, .. } => authority.as_str(),
            Endpoint::Unix(_) => "localhost",
        };
        let mut request = Request::builder().method(method).uri(path).header(http::header::HOST, host);
        if body.is_some() {
            request = request.header(http::header::CONTENT_TYPE, content_type);
        }
        if let Some(token) = &self.token {
            request = request.header(http::header::AUTHORIZATION, token.authorization());
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| CliError::Argument(format!("cannot build a request for {path}: {e}")))?;
        let (status, bytes) = tokio::time::timeout(TIMEOUT, self.send(request))
            .await
            .map_err(|_| self.unreachable(format!("no answer within {}s", TIMEOUT.as_secs())))??;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        let mut message = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_string());
        if status == 401 {
            message.push_str(" (the CLI sends the token of --token-file or WEIR_CP_ADMIN_TOKEN)");
        }
        Err(CliError::Refused { status, message })
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> Result<(u16, Bytes), CliError> {
        match &self.endpoint {
            Endpoint::Tcp(authority) => {
                let stream = tokio::net::TcpStream::connect(authority)
                    .await
                    .map_err(|e| self.unreachable(e.to_string()))?;
                self.exchange(TokioIo::new(stream), request).await
            }
            Endpoint::Tls { authority, host } => {
                let tls = self.tls.as_ref().ok_or_else(|| self.unreachable("TLS is not set up".into()))?;
                let stream = tokio::net::TcpStream::connect(authority)
                    .await
                    .map_err(|e| self.unreachable(e.to_string()))?;
                let ip = stream.peer_addr().map_err(|e| self.unreachable(e.to_string()))?.ip();
                let name = tls.server_name(Some(host), ip);
                let (stream, _) =
                    tls.connect(name, stream).await.map_err(|e| self.unreachable(format!("TLS: {e}")))?;
                self.exchange(TokioIo::new(stream), request).await
            }
            Endpoint::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| self.unreachable(e.to_string()))?;
                self.exchange(TokioIo::new(stream), request).await
            }
        }
    }

    async fn exchange<I>(&self, io: I, request: Request<Full<Bytes>>) -> Result<(u16, Bytes), CliError>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(io).await.map_err(|e| self.unreachable(chain(&e)))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let response = sender.send_request(request).await.map_err(|e| self.unreachable(chain(&e)))?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(|e| self.unreachable(chain(&e)))?;
        Ok((status, body.to_bytes()))
    }

    fn unreachable(&self, reason: String) -> CliError {
        CliError::Unreachable { url: self.url.clone(), reason }
    }
}

/// An error with its causes (`connection error: received fatal alert: CertificateRequired`).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_segments() {
        let tcp = |url: &str| match AdminClient::new(url).unwrap().endpoint {
            Endpoint::Tcp(a) => a,
            other => panic!("{other:?}"),
        };
        assert_eq!(tcp("http://127.0.0.1:18001/"), "127.0.0.1:18001");
        assert_eq!(tcp("http://localhost"), "localhost:80");
        let unix = AdminClient::new("unix:/run/weir-cp/admin.sock").unwrap();
        assert!(
            matches!(unix.endpoint, Endpoint::Unix(p) if p == std::path::Path::new("/run/weir-cp/admin.sock"))
        );
        assert!(AdminClient::new("unix:").is_err());
        assert!(matches!(
            AdminClient::new("https://cp.example:8443").unwrap().endpoint,
            Endpoint::Tls { authority, host } if authority == "cp.example:8443" && host == "cp.example"
        ));
        assert!(AdminClient::new("ftp://x:1").is_err());
        assert!(AdminClient::new("not a url").is_err());
        assert_eq!(segment("a.b-c_d"), "a.b-c_d");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
