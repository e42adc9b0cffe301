//! The OTLP exporter: finished spans wait in a bounded queue (full: dropped and counted), a
//! thread of its own batches them and sends each batch to the collector over gRPC with a
//! timeout. Workers never wait for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use tokio::sync::mpsc;

use crate::config::TracingConfig;

/// What the exporter counted.
#[derive(Debug, Default)]
pub struct Counters {
    /// Spans the collector accepted.
    pub exported: AtomicU64,
    /// Spans dropped: the queue was full, or their export failed.
    pub dropped: AtomicU64,
    /// Export requests that failed or timed out.
    pub failures: AtomicU64,
}

/// The sending side; the thread ends (after one last export) when it is dropped.
#[derive(Debug)]
pub struct Exporter {
    tx: mpsc::Sender<Span>,
    /// Shared with the thread.
    pub counters: Arc<Counters>,
}

impl Exporter {
    /// Starts the export thread for `config` (already checked), counting in `counters`.
    pub fn start(config: &TracingConfig, counters: Arc<Counters>) -> std::io::Result<Exporter> {
        let (tx, rx) = mpsc::channel(config.max_queued_spans);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let worker = Worker { config: config.clone(), counters: counters.clone() };
        std::thread::Builder::new()
            .name("weir-otlp".into())
            .spawn(move || runtime.block_on(worker.run(rx)))?;
        Ok(Exporter { tx, counters })
    }

    /// Queues a finished span, or drops and counts it if the queue is full.
    pub fn send(&self, span: Span) {
        if self.tx.try_send(span).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Worker {
    config: TracingConfig,
    counters: Arc<Counters>,
}

impl Worker {
    async fn run(self, mut rx: mpsc::Receiver<Span>) {
        let endpoint = match tonic::transport::Endpoint::from_shared(self.config.otlp_endpoint.clone()) {
            Ok(endpoint) => endpoint.connect_timeout(self.config.export_timeout),
            Err(e) => {
                tracing::error!(endpoint = %self.config.otlp_endpoint, "tracing: bad OTLP endpoint: {e}");
                return;
            }
        };
        let mut client = TraceServiceClient::new(endpoint.connect_lazy());
        let resource = Resource {
            attributes: vec![text("service.name", &self.config.service_name)],
            ..Resource::default()
        };
        let mut batch = Vec::with_capacity(self.config.max_export_batch);
        loop {
            let Some(first) = rx.recv().await else { return };
            batch.push(first);
            let deadline = tokio::time::Instant::now() + self.config.export_interval;
            let mut open = true;
            while open && batch.len() < self.config.max_export_batch {
                let room = self.config.max_export_batch - batch.len();
                match tokio::time::timeout_at(deadline, rx.recv_many(&mut batch, room)).await {
                    Ok(0) => open = false,
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            self.export(&mut client, &resource, std::mem::take(&mut batch)).await;
            if !open {
                return;
            }
        }
    }

    async fn export(
        &self,
        client: &mut TraceServiceClient<tonic::transport::Channel>,
        resource: &Resource,
        spans: Vec<Span>,
    ) {
        let count = spans.len() as u64;
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "weir".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..InstrumentationScope::default()
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        let sent = tokio::time::timeout(self.config.export_timeout, client.export(request)).await;
        match sent {
            Ok(Ok(_)) => {
                self.counters.exported.fetch_add(count, Ordering::Relaxed);
            }
            Ok(Err(status)) => self.failed(count, &status.to_string()),
            Err(_) => self.failed(count, "timed out"),
        }
    }

    fn failed(&self, count: u64, why: &str) {
        // Dropped first: a reader that sees the failure sees its spans counted.
        self.counters.dropped.fetch_add(count, Ordering::Release);
        self.counters.failures.fetch_add(1, Ordering::Release);
        tracing::warn!(endpoint = %self.config.otlp_endpoint, spans = count, "tracing: export failed: {why}");
    }
}

/// A string attribute.
pub fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..KeyValue::default()
    }
}

/// An integer attribute.
pub fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::IntValue(value)) }),
        ..KeyValue::default()
    }
}
