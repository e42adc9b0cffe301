//! An OTLP trace receiver for tests: the OpenTelemetry collector's gRPC `TraceService`
//! (`opentelemetry.proto.collector.trace.v1`, the protos of `opentelemetry-proto`) on an
//! ephemeral loopback port, keeping every span it is sent. It can also refuse exports or
//! stop answering, to test what a tracer does with a broken collector.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;

/// How the receiver answers exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Keeps the spans and answers OK.
    Accept = 0,
    /// Answers `UNAVAILABLE` and keeps nothing.
    Refuse = 1,
    /// Never answers.
    Hang = 2,
}

/// One export request as received: the resource's `service.name` and its spans.
#[derive(Debug, Clone)]
pub struct Received {
    /// `service.name` of the resource.
    pub service: String,
    /// The spans.
    pub spans: Vec<Span>,
}

#[derive(Debug, Default)]
struct State {
    received: Mutex<Vec<Received>>,
    mode: AtomicU8,
}

struct Service(Arc<State>);

#[tonic::async_trait]
impl TraceService for Service {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        match self.0.mode.load(Ordering::Acquire) {
            1 => return Err(tonic::Status::unavailable("refusing, as told")),
            2 => std::future::pending::<()>().await,
            _ => {}
        }
        let mut received = self.0.received.lock().unwrap_or_else(PoisonError::into_inner);
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.as_ref())
                .map(|v| match v {
                    opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s) => s.clone(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            let spans = resource_spans.scope_spans.into_iter().flat_map(|s| s.spans).collect();
            received.push(Received { service, spans });
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// The receiver; stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Listens on an ephemeral loopback port, accepting every export.
    pub fn start() -> std::io::Result<Receiver> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let service = Service(state.clone());
        let thread = std::thread::Builder::new().name("otlp-receiver".into()).spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
                let _ = tonic::transport::Server::builder()
                    .add_service(TraceServiceServer::new(service))
                    .serve_with_incoming_shutdown(incoming, async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        })?;
        Ok(Receiver { addr, state, stop: Some(stop), thread: Some(thread) })
    }

    /// `http://127.0.0.1:<port>`, for `tracing.otlp_endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Changes how later exports are answered.
    pub fn set_mode(&self, mode: Mode) {
        self.state.mode.store(mode as u8, Ordering::Release);
    }

    /// Every export received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Span> {
        self.received().into_iter().flat_map(|r| r.spans).collect()
    }

    /// Waits until `n` spans have arrived or `timeout` passed; the spans received.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Span> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if spans.len() >= n || Instant::now() > deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // A hung export keeps the server from shutting down gracefully: do not wait for it.
        if self.state.mode.load(Ordering::Acquire) != Mode::Hang as u8
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}
