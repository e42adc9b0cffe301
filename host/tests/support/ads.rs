//! A scripted ADS server: each stream a client opens is handed to the test, which reads the
//! client's requests and sends responses by hand.

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::{
    AggregatedDiscoveryService, AggregatedDiscoveryServiceServer,
};
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::google::protobuf::Any;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::{Request, Response, Status, Streaming};

type Responses<T> = Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

/// One client stream.
pub struct AdsStream {
    requests: mpsc::UnboundedReceiver<DiscoveryRequest>,
    responses: Option<mpsc::UnboundedSender<Result<DiscoveryResponse, Status>>>,
    nonce: u64,
}

impl AdsStream {
    /// The client's next request (panics after 10 s without one).
    pub fn request(&mut self, rt: &tokio::runtime::Runtime) -> DiscoveryRequest {
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), self.requests.recv()).await })
            .expect("a request within 10 s")
            .expect("the stream is open")
    }

    /// Whether a request arrives within `wait` (to check that none does).
    pub fn request_within(
        &mut self,
        rt: &tokio::runtime::Runtime,
        wait: Duration,
    ) -> Option<DiscoveryRequest> {
        rt.block_on(async { tokio::time::timeout(wait, self.requests.recv()).await }).ok().flatten()
    }

    /// Sends a response; returns its nonce.
    pub fn respond(&mut self, type_url: &str, version: &str, resources: Vec<Any>) -> String {
        self.nonce += 1;
        let nonce = format!("n{}", self.nonce);
        let response = DiscoveryResponse {
            version_info: version.into(),
            resources,
            type_url: type_url.into(),
            nonce: nonce.clone(),
            ..DiscoveryResponse::default()
        };
        self.responses.as_ref().expect("open").send(Ok(response)).expect("client connected");
        nonce
    }

    /// Ends the stream from the server side.
    pub fn close(&mut self) {
        self.responses.take();
    }
}

struct Service {
    streams: mpsc::UnboundedSender<AdsStream>,
}

#[tonic::async_trait]
impl AggregatedDiscoveryService for Service {
    type StreamAggregatedResourcesStream = Responses<DiscoveryResponse>;
    type DeltaAggregatedResourcesStream = Responses<DeltaDiscoveryResponse>;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<Self::StreamAggregatedResourcesStream>, Status> {
        let mut incoming = request.into_inner();
        let (req_tx, req_rx) = mpsc::unbounded_channel();
        let (resp_tx, resp_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(r)) = incoming.message().await {
                if req_tx.send(r).is_err() {
                    break;
                }
            }
        });
        let _ = self.streams.send(AdsStream { requests: req_rx, responses: Some(resp_tx), nonce: 0 });
        Ok(Response::new(Box::pin(UnboundedReceiverStream::new(resp_rx))))
    }

    async fn delta_aggregated_resources(
        &self,
        _: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<Self::DeltaAggregatedResourcesStream>, Status> {
        Err(Status::unimplemented("delta"))
    }
}

/// The server; stops when dropped.
pub struct ScriptedAds {
    pub rt: tokio::runtime::Runtime,
    pub addr: SocketAddr,
    streams: mpsc::UnboundedReceiver<AdsStream>,
}

impl ScriptedAds {
    pub fn start() -> ScriptedAds {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, streams) = mpsc::unbounded_channel();
        rt.spawn(
            tonic::transport::Server::builder()
                .add_service(AggregatedDiscoveryServiceServer::new(Service { streams: tx }))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        ScriptedAds { rt, addr, streams }
    }

    /// The next stream a client opens (panics after 10 s without one).
    pub fn stream(&mut self) -> AdsStream {
        self.rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), self.streams.recv()).await })
            .expect("a stream within 10 s")
            .expect("server running")
    }
}
