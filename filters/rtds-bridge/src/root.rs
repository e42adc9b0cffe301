//! The root context: holds the RTDS stream to the control plane, hands every response to the
//! [`Session`], publishes changed layers, and reconnects with backoff through the tick timer.
//!
//! Nothing happens in `on_configure` beyond parsing: the first connection is made on the first
//! tick, so a VM that Envoy configures only to check the configuration (and then discards)
//! opens no stream and writes nothing.

use std::time::Duration;

use prost::Message;
use weir_runtime::protocol;
use weir_sdk::Status as SdkStatus;
use weir_sdk::host::callout;
use weir_sdk::prelude::*;
use weir_sdk::runtime::SharedData;

use crate::backoff::Backoff;
use crate::config::Config;
use crate::layers::Layers;
use crate::metrics::Metrics;
use crate::proto::DiscoveryRequest;
use crate::session::{Outcome, Session};

/// Delay of the first connection after `on_configure`.
const FIRST_CONNECT: Duration = Duration::from_millis(1);

/// A tick this early is taken as on time (the timer and the clock may disagree slightly).
const TICK_SLACK_NANOS: u64 = 20_000_000;

/// What `on_configure` set up.
struct Running {
    config: Config,
    session: Session,
    layers: Layers,
}

/// The bridge's root context.
pub struct Bridge {
    running: Option<Running>,
    /// The open stream's token.
    stream: Option<u32>,
    /// Whether a response arrived on the open stream.
    received: bool,
    /// When the next connection is due (nanoseconds since the epoch), while disconnected.
    reconnect_at: Option<u64>,
    /// Whether the first connection was attempted.
    started: bool,
    backoff: Backoff,
    metrics: Metrics,
}

impl Default for Bridge {
    fn default() -> Self {
        Bridge {
            running: None,
            stream: None,
            received: false,
            reconnect_at: None,
            started: false,
            backoff: Backoff::new(0),
            metrics: Metrics::default(),
        }
    }
}

fn now_nanos() -> u64 {
    host::now_nanos().unwrap_or(0)
}

impl Context for Bridge {
    fn on_grpc_stream_message(&mut self, token: u32, size: usize) {
        if self.stream != Some(token) {
            return;
        }
        let bytes = match host::buffer(BufferType::GrpcReceiveBuffer, 0, size) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(status) => return self.restart(&format!("cannot read a response: {status:?}")),
        };
        if !self.received {
            self.received = true;
            self.backoff.reset();
            self.metrics.connected.set(1);
        }
        let Some(run) = self.running.as_mut() else { return };
        let request = match run.session.handle_bytes(bytes.as_bytes()) {
            Err(reason) => return self.restart(&reason),
            Ok(Outcome::Ignored { type_url }) => {
                log::warn!(
                    "rtds-bridge: ignoring a response of type {type_url} (only Runtime is subscribed)"
                );
                return;
            }
            Ok(Outcome::Accepted { ack, layers }) => {
                let names: Vec<&str> = layers.iter().map(|(n, _)| n.as_str()).collect();
                log::info!("rtds-bridge: accepted version {} (layers {names:?})", ack.version_info);
                run.layers.apply(layers);
                self.metrics.accepted.inc();
                publish_changes(&mut run.layers);
                ack
            }
            Ok(Outcome::Rejected { nack, reason }) => {
                log::warn!(
                    "rtds-bridge: NACK of the response with nonce {}: {reason}; keeping version `{}` and the \
                     published values",
                    nack.response_nonce,
                    nack.version_info
                );
                self.metrics.rejected.inc();
                nack
            }
        };
        if let Err(status) = send(token, &request) {
            self.restart(&format!("cannot send the ACK/NACK: {status:?}"));
        }
    }

    fn on_grpc_stream_close(&mut self, token: u32, status_code: u32) {
        if self.stream != Some(token) {
            return;
        }
        self.stream = None;
        self.received = false;
        self.metrics.connected.set(0);
        let wait = self.backoff.next_wait();
        let (cluster, version) = self.describe();
        log::warn!(
            "rtds-bridge: the RTDS stream to cluster `{cluster}` closed with gRPC status {status_code} ({}); \
             keeping the published values (runtime version {version}); reconnecting in {wait:?}",
            grpc_code_name(status_code)
        );
        self.schedule(wait);
    }
}

impl RootContext for Bridge {
    fn on_configure(&mut self, _size: usize) -> bool {
        weir_sdk::host::follow_host_log_level();
        let bytes = match host::plugin_configuration() {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(status) => {
                log::error!("rtds-bridge: cannot read the plugin configuration: {status:?}");
                return false;
            }
        };
        let config = match Config::parse(bytes.as_bytes()) {
            Ok(config) => config,
            Err(e) => {
                log::error!("rtds-bridge: {e}");
                return false;
            }
        };
        let found = protocol::published_version(&SharedData).unwrap_or_else(|status| {
            log::warn!("rtds-bridge: cannot read the published runtime version: {status:?}");
            None
        });
        // Jitter seed: the clock and the node id (proxies started together still differ).
        let node_hash = config
            .node_id
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        self.backoff = Backoff::new(now_nanos() ^ node_hash);
        self.metrics = Metrics::define();
        let layers = Layers::new(&config, found);
        self.running = Some(Running { session: Session::new(&config), layers, config });
        self.schedule(FIRST_CONNECT);
        true
    }

    fn on_tick(&mut self) {
        let Some(due) = self.reconnect_at else {
            let _ = host::set_tick_period(Duration::ZERO);
            return;
        };
        let now = now_nanos();
        if now.saturating_add(TICK_SLACK_NANOS) < due {
            // Early: wait for the rest.
            self.schedule_at(due, Duration::from_nanos(due - now));
            return;
        }
        self.reconnect_at = None;
        let _ = host::set_tick_period(Duration::ZERO);
        self.connect();
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        // The bridge is a bootstrap service; as an HTTP filter by mistake it passes requests
        // through rather than trap (the Rust SDK traps on `None`).
        Some(Box::new(PassThrough))
    }
}

/// The HTTP context of a misplaced bridge: does nothing.
struct PassThrough;

impl Context for PassThrough {}

impl HttpContext for PassThrough {}

impl Bridge {
    /// Opens the stream and subscribes.
    fn connect(&mut self) {
        let Some(run) = self.running.as_mut() else { return };
        if self.started {
            self.metrics.reconnects.inc();
        } else {
            // Static values are published before anything arrives.
            self.started = true;
            publish_changes(&mut run.layers);
        }
        let api = run.config.api;
        let cluster = run.config.cluster.clone();
        let opened = self.open_grpc_stream(&cluster, api.service(), api.method(), Vec::new());
        let Some(run) = self.running.as_ref() else { return };
        let token = match opened {
            Ok(token) => token,
            Err(status) => {
                let wait = self.backoff.next_wait();
                let why = match status {
                    SdkStatus::ParseFailure => format!("Envoy has no cluster `{cluster}` (ParseFailure)"),
                    other => format!("{other:?}"),
                };
                log::error!(
                    "rtds-bridge: cannot open the RTDS stream ({}/{}): {why}; retrying in {wait:?}",
                    api.service(),
                    api.method()
                );
                self.schedule(wait);
                return;
            }
        };
        let request = run.session.initial_request();
        log::info!(
            "rtds-bridge: stream opened to cluster `{cluster}` ({}), node `{}`, layers {:?}, announcing \
             version `{}`",
            api.method(),
            run.config.node_id,
            run.config.layers,
            request.version_info
        );
        self.stream = Some(token);
        self.received = false;
        if let Err(status) = send(token, &request) {
            self.restart(&format!("cannot send the subscription: {status:?}"));
        }
    }

    /// Drops the current stream and reconnects after the next backoff.
    fn restart(&mut self, reason: &str) {
        if let Some(token) = self.stream.take() {
            let _ = callout::grpc_cancel(token);
        }
        self.received = false;
        self.metrics.connected.set(0);
        let wait = self.backoff.next_wait();
        log::error!(
            "rtds-bridge: restarting the RTDS stream: {reason}; keeping the published values; reconnecting in {wait:?}"
        );
        self.schedule(wait);
    }

    /// Schedules the next connection attempt `wait` from now.
    fn schedule(&mut self, wait: Duration) {
        let due = now_nanos().saturating_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX));
        self.schedule_at(due, wait);
    }

    fn schedule_at(&mut self, due: u64, wait: Duration) {
        self.reconnect_at = Some(due);
        if let Err(status) = host::set_tick_period(wait.max(Duration::from_millis(1))) {
            log::error!("rtds-bridge: the host refused a tick period ({status:?}); cannot reconnect");
        }
    }

    fn describe(&self) -> (String, u64) {
        self.running.as_ref().map_or((String::new(), 0), |r| (r.config.cluster.clone(), r.layers.version()))
    }
}

/// Publishes the merged layers if they changed.
fn publish_changes(layers: &mut Layers) {
    let shared = protocol::published_version(&SharedData).unwrap_or_else(|status| {
        log::warn!("rtds-bridge: cannot read the published runtime version: {status:?}");
        None
    });
    let Some(snapshot) = layers.next_snapshot(shared) else { return };
    match protocol::publish(&SharedData, &snapshot) {
        Ok(()) => {
            log::info!(
                "rtds-bridge: published runtime version {} ({} values)",
                snapshot.version,
                snapshot.values.len()
            );
            layers.written(&snapshot);
        }
        Err(status) => {
            log::error!("rtds-bridge: cannot write the runtime snapshot into shared data: {status:?}")
        }
    }
}

fn send(token: u32, request: &DiscoveryRequest) -> Result<(), SdkStatus> {
    callout::grpc_send(token, Some(&request.encode_to_vec()), false)
}

/// The name of a gRPC status code.
fn grpc_code_name(code: u32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code).ok().and_then(|i| NAMES.get(i)).copied().unwrap_or("unknown code")
}
