//! An HTTP/1.1 upgrade (WebSocket) towards an endpoint: a connection of its own, outside the
//! pool (it will not serve other requests), carrying the upgrade request; when the endpoint
//! switches protocols (101), the connection is handed over as a byte stream, with what the
//! endpoint already sent after its 101.

use http::{Request, Response};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use weir_http::{BoxBody, UpstreamError};

use super::{Cluster, UpstreamBody};

/// The endpoint's answer to an upgrade request, and, when it is a 101, the connection to come.
pub struct Upgrading {
    /// The response head (its body is empty for a 101).
    pub response: Response<UpstreamBody>,
    /// The upgraded connection (`None` unless the endpoint answered 101).
    pub upgrade: Option<OnUpgrade>,
}

impl Cluster {
    /// Sends the upgrade `request` to an endpoint (picked with `key`) on a new connection.
    pub async fn upgrade(
        &self,
        request: Request<BoxBody>,
        key: Option<u64>,
    ) -> Result<Upgrading, UpstreamError> {
        let state = self.state();
        let _permit = state.breakers.request()?;
        let endpoint = self.pick(key)?;
        let connected = self.open_to(&endpoint).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(connected.stream))
            .await
            .map_err(|e| UpstreamError::ConnectFailure(e.to_string()))?;
        // Driven on the worker until the upgrade takes the connection over (or it ends).
        tokio::task::spawn_local(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!("upstream upgrade connection ended: {e}");
            }
        });
        let mut response =
            sender.send_request(request).await.map_err(|e| UpstreamError::Reset(e.to_string()))?;
        let status = response.status().as_u16();
        state.record_outcome(&endpoint, Some(status));
        state.stats.requests.record(status);
        endpoint.stats.requests.record(status);
        let upgrade = (status == 101).then(|| hyper::upgrade::on(&mut response));
        Ok(Upgrading { response: response.map(|body| UpstreamBody::new(body, None)), upgrade })
    }
}
