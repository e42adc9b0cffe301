//! One HTTP(S) GET (a module, an OCI manifest or blob): HTTP/1.1, redirects followed (at most [`MAX_REDIRECTS`], never
//! from `https` to `http`), the whole attempt under one timeout, the body read with a cap.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use weir_tls::ClientTls;

/// Redirects followed before the fetch fails.
pub const MAX_REDIRECTS: usize = 5;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL cannot be fetched.
    #[error("{0}")]
    Url(String),
    /// Connecting, TLS or the exchange failed.
    #[error("{0}")]
    Transport(String),
    /// The server answered something other than 200.
    #[error("HTTP status {0}")]
    Status(StatusCode),
    /// The module is bigger than allowed.
    #[error("the module is over module_sources.max_module_bytes ({0} bytes)")]
    TooLarge(u64),
    /// The registry's answer is not a module (OCI).
    #[error("{0}")]
    Registry(String),
    /// The attempt took longer than its timeout.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
}

/// `work` within `timeout`.
pub async fn within<T>(
    timeout: Duration,
    work: impl std::future::Future<Output = Result<T, FetchError>>,
) -> Result<T, FetchError> {
    tokio::time::timeout(timeout, work).await.map_err(|_| FetchError::Timeout(timeout))?
}

/// How fetches are made: the TLS settings, and the URL prefixes a redirect may lead to when it
/// leaves the first URL's origin (`module_sources.url_prefixes`, or their default).
#[derive(Debug, Clone, Copy)]
pub struct Fetcher<'a> {
    /// TLS for `https`.
    pub tls: &'a ClientTls,
    /// Where a redirect to another origin may go.
    pub prefixes: &'a [String],
}

impl FetchError {
    /// Whether another attempt may go otherwise: not for a refused URL or redirect, a module
    /// too large, a registry's answer that is not a module, or a 4xx other than 408 and 429.
    pub fn worth_retrying(&self) -> bool {
        match self {
            FetchError::Transport(_) | FetchError::Timeout(_) => true,
            FetchError::Status(status) => {
                !status.is_client_error()
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || *status == StatusCode::TOO_MANY_REQUESTS
            }
            FetchError::Url(_) | FetchError::TooLarge(_) | FetchError::Registry(_) => false,
        }
    }
}

/// GETs `url` (`accept`: the `Accept` header), at most `max_bytes` of body.
pub async fn get(url: &str, accept: &str, max_bytes: u64, fetcher: Fetcher<'_>) -> Result<Bytes, FetchError> {
    let first: Uri = url.parse().map_err(|e| FetchError::Url(format!("{url:?}: {e}")))?;
    let mut uri = first.clone();
    for _ in 0..=MAX_REDIRECTS {
        match once(&uri, accept, max_bytes, fetcher.tls).await? {
            Answer::Body(body) => return Ok(body),
            Answer::Redirect(location) => {
                uri = next(&uri, &location)?;
                let target = uri.to_string();
                if origin(&uri) != origin(&first)
                    && !fetcher.prefixes.iter().any(|p| target.starts_with(p.as_str()))
                {
                    return Err(FetchError::Url(format!(
                        "redirect to {target} leaves {} and is not under module_sources.url_prefixes",
                        origin(&first)
                    )));
                }
            }
        }
    }
    Err(FetchError::Url(format!("{url:?}: more than {MAX_REDIRECTS} redirects")))
}

/// `scheme://authority` of a URL.
fn origin(uri: &Uri) -> String {
    format!(
        "{}://{}",
        uri.scheme_str().unwrap_or_default(),
        uri.authority().map(|a| a.as_str()).unwrap_or_default()
    )
}

/// Where a redirect from `from` to `location` goes; `https` to `http` is refused.
fn next(from: &Uri, location: &str) -> Result<Uri, FetchError> {
    let to: Uri = if location.starts_with('/') {
        let authority = from.authority().map(|a| a.as_str()).unwrap_or_default();
        format!("{}://{authority}{location}", from.scheme_str().unwrap_or("http")).parse()
    } else {
        location.parse()
    }
    .map_err(|e| FetchError::Url(format!("redirect to {location:?}: {e}")))?;
    if from.scheme_str() == Some("https") && to.scheme_str() != Some("https") {
        return Err(FetchError::Url(format!("redirect from https to {location:?} refused")));
    }
    Ok(to)
}

enum Answer {
    Body(Bytes),
    Redirect(String),
}

async fn once(uri: &Uri, accept: &str, max_bytes: u64, tls: &ClientTls) -> Result<Answer, FetchError> {
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(FetchError::Url(format!("{uri}: only http:// and https:// are fetched"))),
    };
    let host = uri.host().ok_or_else(|| FetchError::Url(format!("{uri}: no host")))?;
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    // `[::1]` in a URL is `::1` to the resolver.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((bare, port)).await.map_err(|e| transport(uri, "connect", e))?;
    if !https {
        return exchange(stream, uri, accept, max_bytes).await;
    }
    let ip = stream.peer_addr().map_err(|e| transport(uri, "connect", e))?.ip();
    let (stream, _) =
        tls.connect(tls.server_name(Some(bare), ip), stream).await.map_err(|e| transport(uri, "TLS", e))?;
    exchange(stream, uri, accept, max_bytes).await
}

fn transport(uri: &Uri, what: &str, e: impl std::fmt::Display) -> FetchError {
    FetchError::Transport(format!("{uri}: {what}: {e}"))
}

async fn exchange<IO>(io: IO, uri: &Uri, accept: &str, max_bytes: u64) -> Result<Answer, FetchError>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| transport(uri, "HTTP", e))?;
    let driver = tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = Request::get(path)
        .header(http::header::HOST, uri.authority().map(|a| a.as_str()).unwrap_or_default())
        .header(http::header::USER_AGENT, concat!("weir/", env!("CARGO_PKG_VERSION")))
        .header(http::header::ACCEPT, accept)
        .body(Empty::<Bytes>::new())
        .map_err(|e| FetchError::Url(format!("{uri}: {e}")))?;
    let response = sender.send_request(request).await.map_err(|e| transport(uri, "HTTP", e))?;
    let status = response.status();
    let answer = if status.is_redirection() {
        let location = response.headers().get(http::header::LOCATION).and_then(|v| v.to_str().ok());
        match location {
            Some(location) => Ok(Answer::Redirect(location.to_string())),
            None => Err(FetchError::Status(status)),
        }
    } else if status != StatusCode::OK {
        Err(FetchError::Status(status))
    } else {
        read_capped(response.into_body(), uri, max_bytes).await.map(Answer::Body)
    };
    driver.abort();
    answer
}

/// The body, failing as soon as it passes `max_bytes` (a `content-length` over it fails
/// before anything is read).
async fn read_capped(
    mut body: hyper::body::Incoming,
    uri: &Uri,
    max_bytes: u64,
) -> Result<Bytes, FetchError> {
    if http_body::Body::size_hint(&body).lower() > max_bytes {
        return Err(FetchError::TooLarge(max_bytes));
    }
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| transport(uri, "body", e))?;
        if let Ok(data) = frame.into_data() {
            if (out.len() + data.len()) as u64 > max_bytes {
                return Err(FetchError::TooLarge(max_bytes));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}
