//! The xDS port: HTTP/2 connections (prior knowledge, or over TLS after the handshake), each
//! request routed by its gRPC service path to ADS or a per-type service (RTDS, ECDS, SDS, CDS,
//! EDS, LDS, RDS). On shutdown, listening stops, open streams end with `UNAVAILABLE`
//! and connections are closed with GOAWAY.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use envoy_types::pb::envoy::service::cluster::v3::cluster_discovery_service_server::ClusterDiscoveryServiceServer;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::AggregatedDiscoveryServiceServer;
use envoy_types::pb::envoy::service::endpoint::v3::endpoint_discovery_service_server::EndpointDiscoveryServiceServer;
use envoy_types::pb::envoy::service::extension::v3::extension_config_discovery_service_server::ExtensionConfigDiscoveryServiceServer;
use envoy_types::pb::envoy::service::listener::v3::listener_discovery_service_server::ListenerDiscoveryServiceServer;
use envoy_types::pb::envoy::service::route::v3::route_discovery_service_server::RouteDiscoveryServiceServer;
use envoy_types::pb::envoy::service::runtime::v3::runtime_discovery_service_server::RuntimeDiscoveryServiceServer;
use envoy_types::pb::envoy::service::secret::v3::secret_discovery_service_server::SecretDiscoveryServiceServer;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tonic::Status;
use tonic::codegen::Service;
use tracing::{debug, warn};
use weir_tls::ServerTls;

use super::identity::PeerTls;
use super::services::Services;
use super::session::PeerAddr;
use super::shared::stopped;

const ADS: &str = "/envoy.service.discovery.v3.AggregatedDiscoveryService/";
const RTDS: &str = "/envoy.service.runtime.v3.RuntimeDiscoveryService/";
const ECDS: &str = "/envoy.service.extension.v3.ExtensionConfigDiscoveryService/";
const SDS: &str = "/envoy.service.secret.v3.SecretDiscoveryService/";
const CDS: &str = "/envoy.service.cluster.v3.ClusterDiscoveryService/";
const EDS: &str = "/envoy.service.endpoint.v3.EndpointDiscoveryService/";
const LDS: &str = "/envoy.service.listener.v3.ListenerDiscoveryService/";
const RDS: &str = "/envoy.service.route.v3.RouteDiscoveryService/";

/// How long closing connections may take at shutdown.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The generated servers.
#[derive(Clone)]
struct Router {
    ads: AggregatedDiscoveryServiceServer<Services>,
    rtds: RuntimeDiscoveryServiceServer<Services>,
    ecds: ExtensionConfigDiscoveryServiceServer<Services>,
    sds: SecretDiscoveryServiceServer<Services>,
    cds: ClusterDiscoveryServiceServer<Services>,
    eds: EndpointDiscoveryServiceServer<Services>,
    lds: ListenerDiscoveryServiceServer<Services>,
    rds: RouteDiscoveryServiceServer<Services>,
}

impl Router {
    async fn route(
        mut self,
        request: http::Request<Incoming>,
    ) -> Result<http::Response<tonic::body::Body>, Infallible> {
        let path = request.uri().path();
        if path.starts_with(ADS) {
            self.ads.call(request).await
        } else if path.starts_with(RTDS) {
            self.rtds.call(request).await
        } else if path.starts_with(ECDS) {
            self.ecds.call(request).await
        } else if path.starts_with(SDS) {
            self.sds.call(request).await
        } else if path.starts_with(CDS) {
            self.cds.call(request).await
        } else if path.starts_with(EDS) {
            self.eds.call(request).await
        } else if path.starts_with(LDS) {
            self.lds.call(request).await
        } else if path.starts_with(RDS) {
            self.rds.call(request).await
        } else {
            let message =
                format!("weir-cp serves ADS, RTDS, ECDS, SDS, CDS, EDS, LDS and RDS; no service at {path}");
            Ok(Status::unimplemented(message).into_http())
        }
    }
}

/// Serves xDS on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerTls>>,
    services: Services,
    mut shutdown: watch::Receiver<bool>,
) {
    let router = Router {
        ads: AggregatedDiscoveryServiceServer::new(services.clone()),
        rtds: RuntimeDiscoveryServiceServer::new(services.clone()),
        ecds: ExtensionConfigDiscoveryServiceServer::new(services.clone()),
        sds: SecretDiscoveryServiceServer::new(services.clone()),
        cds: ClusterDiscoveryServiceServer::new(services.clone()),
        eds: EndpointDiscoveryServiceServer::new(services.clone()),
        lds: ListenerDiscoveryServiceServer::new(services.clone()),
        rds: RouteDiscoveryServiceServer::new(services),
    };
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(connection(stream, peer, tls.clone(), router.clone(), shutdown.clone()));
                }
                Err(e) => {
                    warn!(error = %e, "xDS accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = stopped(&mut shutdown) => break,
        }
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<Arc<ServerTls>>,
    router: Router,
    shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let Some(tls) = tls else {
        return serve_h2(TokioIo::new(stream), peer, None, router, shutdown).await;
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
        Ok(Ok((stream, info))) => {
            serve_h2(TokioIo::new(stream), peer, Some(PeerTls(Arc::new(info))), router, shutdown).await;
        }
        Ok(Err(e)) => debug!(%peer, error = %e, "xDS TLS handshake failed"),
        Err(_) => debug!(%peer, "xDS TLS handshake timed out"),
    }
}

async fn serve_h2<I>(
    io: TokioIo<I>,
    peer: SocketAddr,
    tls: Option<PeerTls>,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
        request.extensions_mut().insert(PeerAddr(peer));
        if let Some(tls) = &tls {
            request.extensions_mut().insert(tls.clone());
        }
        router.clone().route(request)
    });
    let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new()).serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                debug!(%peer, error = %e, "xDS connection ended");
            }
        }
        () = stopped(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(CLOSE_GRACE, conn).await;
        }
    }
}
