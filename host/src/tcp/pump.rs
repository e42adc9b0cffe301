//! One proxied TCP connection: the filters hear of it, a cluster is chosen (a filter's
//! `envoy.tcp_proxy.cluster`, else the listener's), an endpoint is connected, and bytes flow
//! both ways through the filters until both sides are done, a filter closes the connection,
//! or it stays idle past `idle_timeout`. Each direction holds at most the listener's
//! `buffer_limit_bytes` (reading stops at it until the data moves on), and an end of stream
//! (FIN) is passed on as Envoy's `tcp_proxy` passes it (half-close).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_abi::PeerType;
use weir_http::{HttpStream, StreamInfo, StreamShared};

use super::filters::{Filters, Step};
use super::{Accepted, TcpProxy};

/// Bytes read at once from either side.
const READ_CHUNK: usize = 16 * 1024;

/// Why the pump stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A filter closed the connection (or failed).
    Filter,
    /// No data either way for `idle_timeout`.
    Idle,
    /// A read or write failed (reset).
    Broken,
}

/// Serves one accepted connection of a TCP listener, and writes its access log line.
pub async fn serve(downstream: TcpStream, conn: Accepted, tcp: Rc<TcpProxy>) {
    let info = StreamInfo {
        downstream_remote: conn.remote,
        downstream_local: conn.local,
        connection_id: conn.id,
        start_time: SystemTime::now(),
        protocol: "TCP",
        listener_name: tcp.name.clone(),
        metadata: weir_http::XdsMetadata { listener: tcp.metadata.clone(), ..Default::default() },
        body_limit: tcp.buffer_limit,
        ..StreamInfo::default()
    };
    let stream = Rc::new(StreamShared::new(HttpStream { info, ..HttpStream::default() }));
    let details = proxy(downstream, &stream, &tcp).await;
    if let Some(sink) = &tcp.access_log {
        super::log::write(sink, &stream.data.borrow(), details);
    }
}

/// Proxies the connection; returns how it ended (the access log's `response_code_details`).
async fn proxy(downstream: TcpStream, stream: &Rc<StreamShared>, tcp: &TcpProxy) -> &'static str {
    let Some(filters) = Filters::new(stream.clone(), &tcp.filters) else { return "wasm_fail_connection" };
    let mut step = filters.new_connection(0);
    while let Step::Paused(index) = step {
        // Reading stays off until the filter continues (a callout answered, a timer fired).
        step = match wait_continue(stream, tcp.config.idle_timeout).await {
            true => filters.new_connection(index + 1),
            false => Step::Close,
        };
    }
    if step == Step::Close {
        filters.end(PeerType::Local);
        return "wasm_close_connection";
    }
    let picked = stream.data.borrow().tcp_proxy_cluster.clone();
    let name = picked.as_deref().or_else(|| tcp.config.pick()).unwrap_or_default().to_string();
    let Some(cluster) = tcp.upstreams.get(&name) else {
        tracing::debug!(listener = %tcp.name, cluster = %name, "no such cluster: closing the connection");
        filters.end(PeerType::Local);
        return "cluster_not_found";
    };
    let (addr, upstream) = match cluster.open_stream().await {
        Ok(opened) => opened,
        Err(e) => {
            tracing::debug!(listener = %tcp.name, cluster = %name, "upstream connect failed: {e}");
            filters.end(PeerType::Local);
            return "upstream_connect_failure";
        }
    };
    {
        let mut data = stream.data.borrow_mut();
        data.info.cluster_name = Some(name);
        data.info.upstream_address = Some(addr);
        data.info.upstream_tls = upstream.tls.clone();
    }
    let pump = Pump {
        filters,
        limit: tcp.buffer_limit.max(READ_CHUNK),
        activity: Activity::new(),
        resumed: tokio::sync::Notify::new(),
    };
    let (down_read, down_write) = downstream.into_split();
    let (up_read, up_write) = tokio::io::split(upstream.stream);
    let outcome = tokio::select! {
        (down, up) = async {
            tokio::join!(
                pump.direction(Side::Downstream, down_read, up_write),
                pump.direction(Side::Upstream, up_read, down_write),
            )
        } => {
            down.and(up).map(|()| if pump.activity.client_last.get() { PeerType::Remote } else { PeerType::Local })
        }
        stop = pump.stopped() => Err(stop),
        () = pump.activity.idle(tcp.config.idle_timeout) => Err(Stop::Idle),
    };
    let (peer, details) = match outcome {
        Ok(peer) => (peer, "via_upstream"),
        Err(stop) => {
            tracing::debug!(listener = %tcp.name, ?stop, "closing the TCP connection");
            let details = match stop {
                Stop::Filter => "wasm_close_connection",
                Stop::Idle => "idle_timeout",
                Stop::Broken => "connection_broken",
            };
            (PeerType::Local, details)
        }
    };
    pump.filters.end(peer);
    details
}

/// Waits until the filters' connection is continued (`true`) or closed, or `idle` passes.
async fn wait_continue(stream: &StreamShared, idle: Duration) -> bool {
    let wait = async {
        loop {
            {
                let data = stream.data.borrow();
                if data.close_requested {
                    return false;
                }
                if data.continue_request {
                    return true;
                }
            }
            stream.wake.notified().await;
        }
    };
    match idle.is_zero() {
        true => wait.await,
        false => tokio::time::timeout(idle, wait).await.unwrap_or(false),
    }
}

/// When data last moved, and which side ended last.
struct Activity {
    last: Cell<Instant>,
    /// The client's end of stream came last (so the client closed the connection).
    client_last: Cell<bool>,
}

impl Activity {
    fn new() -> Activity {
        Activity { last: Cell::new(Instant::now()), client_last: Cell::new(false) }
    }

    fn touch(&self) {
        self.last.set(Instant::now());
    }

    /// Returns once no data moved for `timeout` (never when it is zero).
    async fn idle(&self, timeout: Duration) {
        if timeout.is_zero() {
            return std::future::pending().await;
        }
        loop {
            let deadline = self.last.get() + timeout;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

struct Pump {
    filters: Filters,
    limit: usize,
    activity: Activity,
    /// A downstream filter continued (`proxy_continue_stream(Downstream)`). The hostcalls wake
    /// the stream's `Notify` with `notify_one`, so [`Pump::stopped`] is its only waiter and
    /// passes a continue on here, to the downstream direction (the only one that waits for
    /// it).
    resumed: tokio::sync::Notify,
}

/// One direction's half of the connection data in [`StreamShared`].
#[derive(Clone, Copy)]
enum Side {
    Downstream,
    Upstream,
}

impl Side {
    /// This direction's bytes held for the filters, and its count of bytes received.
    fn held(self, data: &mut HttpStream) -> (&mut weir_http::Chunk, &mut u64) {
        match self {
            Side::Downstream => (&mut data.request_body, &mut data.info.request_body_bytes),
            Side::Upstream => (&mut data.response_body, &mut data.info.response_body_bytes),
        }
    }
}

impl Pump {
    /// Moves one direction's bytes through the filters until its end of stream.
    async fn direction(
        &self,
        side: Side,
        mut from: impl AsyncRead + Unpin,
        mut to: impl AsyncWrite + Unpin,
    ) -> Result<(), Stop> {
        let stream = self.filters.stream();
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        let mut paused: Option<usize> = None;
        let mut eos = false;
        loop {
            let held = self.held(side);
            let step = if held < self.limit && !eos {
                buf.clear();
                // Only a downstream filter can continue by itself (Envoy refuses
                // `proxy_continue_stream(Upstream)`).
                let resumable = paused.is_some() && matches!(side, Side::Downstream);
                let read = tokio::select! {
                    read = from.read_buf(&mut buf) => Some(read),
                    () = self.resumed.notified(), if resumable => None,
                };
                match read {
                    Some(Ok(0)) => eos = true,
                    Some(Ok(_)) => self.hold(side, &buf),
                    Some(Err(_)) => return Err(Stop::Broken),
                    None => {}
                }
                if read.is_some() {
                    self.activity.touch();
                }
                if stream.data.borrow().close_requested {
                    return Err(Stop::Filter);
                }
                match (read.is_none(), paused) {
                    // Woken: the paused filter may have continued.
                    (true, Some(index)) if stream.data.borrow().continue_request => {
                        self.run(side, index + 1, eos)
                    }
                    (true, _) => continue,
                    // New data: every filter sees all that is held, from the first.
                    (false, _) => self.run(side, 0, eos),
                }
            } else {
                // Full, or at the end: only the paused filter continuing moves the data on.
                let Some(index) = paused else { return Err(Stop::Filter) };
                loop {
                    if stream.data.borrow().close_requested {
                        return Err(Stop::Filter);
                    }
                    if stream.data.borrow().continue_request {
                        break;
                    }
                    self.resumed.notified().await;
                }
                self.run(side, index + 1, eos)
            };
            match step {
                Step::Close => return Err(Stop::Filter),
                Step::Paused(index) => paused = Some(index),
                Step::Continue => {
                    paused = None;
                    let out = self.take(side);
                    if !out.is_empty() {
                        to.write_all(&out).await.map_err(|_| Stop::Broken)?;
                    }
                    if eos {
                        let _ = to.shutdown().await;
                        self.activity.client_last.set(matches!(side, Side::Downstream));
                        return Ok(());
                    }
                }
            }
        }
    }

    fn run(&self, side: Side, from: usize, eos: bool) -> Step {
        match side {
            Side::Downstream => self.filters.downstream_data(from, eos),
            // Write filters run as one pass, last to first.
            Side::Upstream => self.filters.upstream_data(eos),
        }
    }

    fn held(&self, side: Side) -> usize {
        side.held(&mut self.filters.stream().data.borrow_mut()).0.len()
    }

    fn hold(&self, side: Side, bytes: &[u8]) {
        let mut data = self.filters.stream().data.borrow_mut();
        let (held, received) = side.held(&mut data);
        let end = held.len();
        held.splice(end, 0, bytes);
        *received += bytes.len() as u64;
    }

    fn take(&self, side: Side) -> bytes::Bytes {
        std::mem::take(side.held(&mut self.filters.stream().data.borrow_mut()).0).into_mut().freeze()
    }

    /// Returns when a filter asks to close the connection; passes a continue on to the
    /// downstream direction ([`Pump::resumed`]).
    async fn stopped(&self) -> Stop {
        let stream = self.filters.stream();
        loop {
            let (close, resume) = {
                let data = stream.data.borrow();
                (data.close_requested, data.continue_request)
            };
            if close {
                return Stop::Filter;
            }
            if resume {
                self.resumed.notify_one();
            }
            stream.wake.notified().await;
        }
    }
}
