//! Sending a request upstream: circuit breakers, endpoint choice (with the route's hash key),
//! per-try timeouts, retries with jittered back-off, outlier detection and cluster stats.

use std::rc::Rc;
use std::time::Instant;

use http::{Request, Response};

use crate::router::{Retry, Route};
use crate::upstream::{Cluster, UpstreamBody, UpstreamError};
use weir_http::{BoxBody, StreamShared, empty_body};

/// A response from the upstream and when the successful attempt started.
pub(super) struct Forwarded {
    pub response: Response<UpstreamBody>,
    pub started: Instant,
}

/// Forwards the request. `body` is `None` for a request without a body: only those are
/// retried (a streamed body cannot be replayed).
/// `head` is the request without its body; `key` the load balancer's hash key.
pub(super) async fn forward(
    cluster: &Rc<Cluster>,
    route: &Route,
    head: Request<()>,
    key: Option<u64>,
    mut body: Option<BoxBody>,
    stream: &StreamShared,
) -> Result<Forwarded, UpstreamError> {
    let state = cluster.state();
    let mut head = Some(head);
    let retry = route.retry.clone().unwrap_or_default();
    let attempts = if body.is_none() { 1 + retry.num_retries } else { 1 };
    let mut last_error = UpstreamError::NoHealthyUpstream;
    for attempt in 1..=attempts {
        if attempt > 1 {
            state.stats.retries.inc();
            tokio::time::sleep(Retry::backoff(attempt - 1)).await;
        }
        let _request = state.breakers.request()?;
        let endpoint = cluster.pick(key)?;
        let _active = endpoint.begin();
        stream.data.borrow_mut().info.upstream_address = Some(endpoint.addr);
        // The last attempt takes the head; earlier ones send a copy.
        let this_head = if attempt < attempts { head.as_ref().map(copy_head) } else { head.take() };
        let (parts, ()) = this_head.ok_or(UpstreamError::NoHealthyUpstream)?.into_parts();
        let request = Request::from_parts(parts, body.take().unwrap_or_else(empty_body));
        let started = Instant::now();
        let exchange = async {
            let connection = cluster.connect_to(&endpoint).await;
            stream.data.borrow_mut().info.upstream_tls = connection.as_ref().ok().and_then(|c| c.tls());
            connection?.send(request).await
        };
        let result = match retry.per_try_timeout {
            Some(limit) => tokio::time::timeout(limit, exchange).await.unwrap_or(Err(UpstreamError::Timeout)),
            None => exchange.await,
        };
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                state.record_outcome(&endpoint, Some(status));
                state.stats.requests.record(status);
                state.stats.observe(started.elapsed());
                endpoint.stats.requests.record(status);
                if attempt < attempts && retry.on_status(status) {
                    continue;
                }
                return Ok(Forwarded { response, started });
            }
            Err(error) => {
                if !matches!(error, UpstreamError::Overflow) {
                    state.record_outcome(&endpoint, None);
                    // A per-try timeout is a 504 upstream, as Envoy counts it.
                    let status = if matches!(error, UpstreamError::Timeout) { 504 } else { 503 };
                    state.stats.requests.record(status);
                    endpoint.stats.requests.record(status);
                    if status == 504 {
                        state.stats.timeouts.inc();
                    }
                }
                if attempt < attempts && retry.on_error(&error) {
                    last_error = error;
                    continue;
                }
                return Err(error);
            }
        }
    }
    Err(last_error)
}

/// A copy of a request head (`http::Request` is not `Clone`: its extensions may not be).
fn copy_head(head: &Request<()>) -> Request<()> {
    let mut copy = Request::new(());
    *copy.method_mut() = head.method().clone();
    *copy.uri_mut() = head.uri().clone();
    *copy.version_mut() = head.version();
    *copy.headers_mut() = head.headers().clone();
    copy
}
