//! The clusters as plugin callouts see them: the proxy-wasm core asks for a cluster by name
//! and sends a request; the pools and balancing are the data path's own.

use std::rc::Rc;

use http::{Request, Response};
use http_body_util::BodyExt;
use weir_http::{BoxBody, BoxError, boxed};
use weir_proxy_wasm::embedder::{CalloutCluster, CalloutClusters, LocalFuture, UpstreamResult};

use super::{Cluster, Connection, UpstreamBody, Upstreams};

impl CalloutClusters for Upstreams {
    fn cluster(&self, name: &str) -> Option<Rc<dyn CalloutCluster>> {
        self.get(name).map(|cluster| cluster.clone() as Rc<dyn CalloutCluster>)
    }
}

impl CalloutCluster for Cluster {
    fn name(&self) -> &str {
        Cluster::name(self)
    }

    fn http2(&self) -> bool {
        Cluster::http2(self)
    }

    fn tls(&self) -> bool {
        self.state().tls_required()
    }

    fn send(&self, request: Request<BoxBody>) -> LocalFuture<'_, UpstreamResult> {
        Box::pin(async move {
            let (_, connection) = self.connect().await?;
            send(connection, request).await
        })
    }

    fn send_h2(&self, request: Request<BoxBody>) -> LocalFuture<'_, UpstreamResult> {
        Box::pin(async move {
            let (_, connection) = self.connect_h2().await?;
            send(connection, request).await
        })
    }
}

async fn send(connection: Connection, request: Request<BoxBody>) -> UpstreamResult {
    let response: Response<UpstreamBody> = connection.send(request).await?;
    Ok(response.map(|body| boxed(body.map_err(|e| Box::new(e) as BoxError))))
}
