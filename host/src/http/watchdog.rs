//! How long a downstream connection, and each exchange on it, may stay without progress:
//! the rules that keep a client from holding a connection (a file descriptor, memory, an
//! upstream connection, a circuit-breaker slot) for nothing.
//!
//! - The first request's head must arrive within `request_headers_timeout` of the accept
//!   (a client that sends nothing, or half an HTTP/2 preface, is closed).
//! - On HTTP/1, a request's head must arrive within `request_headers_timeout` of its first
//!   byte (408, as Envoy); an idle keep-alive connection is not "late" with a head.
//! - A connection without any exchange for `idle_timeout` is closed (HTTP/2: GOAWAY first).
//! - An exchange without any progress (body data either way) for `stream_idle_timeout` is
//!   stopped: 408 if its response has not begun, else reset; its upstream resources go.
//!
//! The watchdog sleeps until the earliest deadline and re-checks: progress is a counter the
//! bodies bump, not a timer reset per frame, so an idle exchange is stopped between one and
//! two `stream_idle_timeout`s after its last progress.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use weir_http::StreamShared;

/// The timeouts a listener gives its connections (`None`: off).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// `request_headers_timeout`.
    pub headers: Option<Duration>,
    /// `idle_timeout`.
    pub idle: Option<Duration>,
    /// `stream_idle_timeout`.
    pub stream_idle: Option<Duration>,
}

/// Why the watchdog ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A request head did not arrive in time; bytes of it did (HTTP/1: answer 408).
    HeadersTimeout,
    /// Nothing usable arrived in time (no bytes, or an HTTP/2 preface that never ended).
    Silent,
    /// No exchange for `idle_timeout`.
    Idle,
    /// An exchange stopped for making no progress still holds the connection a
    /// `stream_idle_timeout` later (its client does not read): the connection goes.
    Stuck,
}

/// What the watchdog knows of one exchange.
struct Tracked {
    stream: Weak<StreamShared>,
    seen: u64,
    since: Instant,
    /// The route's `idle_timeout` in place of the listener's (`Some(None)`: none).
    limit: Option<Option<Duration>>,
}

/// The state of one downstream connection, shared by its socket, its exchanges and its
/// watchdog (all on one worker).
#[derive(Default)]
pub struct ConnWatch {
    accepted: Cell<Option<Instant>>,
    bytes: Cell<u64>,
    h2: Cell<bool>,
    requests: Cell<u64>,
    head_since: Cell<Option<Instant>>,
    idle_since: Cell<Option<Instant>>,
    streams: RefCell<Vec<Tracked>>,
    changed: Notify,
    /// An exchange answered an upgrade with 101: the upstream's side of the connection, which
    /// the driver splices to the client's once hyper let go of it.
    upgrade: RefCell<Option<hyper::upgrade::OnUpgrade>>,
}

impl std::fmt::Debug for ConnWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnWatch").field("requests", &self.requests.get()).finish_non_exhaustive()
    }
}

impl ConnWatch {
    /// A connection accepted now.
    pub fn new() -> ConnWatch {
        let now = Instant::now();
        ConnWatch { accepted: Cell::new(Some(now)), idle_since: Cell::new(Some(now)), ..ConnWatch::default() }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes.get()
    }

    /// The client spoke the HTTP/2 preface.
    pub fn set_h2(&self) {
        self.h2.set(true);
    }

    /// `n` bytes arrived. On HTTP/1, bytes on a connection without an exchange start a
    /// request head, which then has `request_headers_timeout` to complete.
    pub fn on_read(&self, n: usize) {
        self.bytes.set(self.bytes.get() + n as u64);
        if !self.h2.get() && self.head_since.get().is_none() && !self.busy() {
            self.head_since.set(Some(Instant::now()));
            self.changed.notify_one();
        }
    }

    /// The connection switches protocols after this response: `upstream` is the other side.
    pub fn set_upgrade(&self, upstream: hyper::upgrade::OnUpgrade) {
        *self.upgrade.borrow_mut() = Some(upstream);
    }

    /// The upstream side of an upgrade, if an exchange answered one.
    pub fn take_upgrade(&self) -> Option<hyper::upgrade::OnUpgrade> {
        self.upgrade.borrow_mut().take()
    }

    /// A request's head arrived.
    pub fn on_request(&self) {
        self.requests.set(self.requests.get() + 1);
        self.head_since.set(None);
    }

    /// An exchange is watched from now on (its progress, `stream_idle_timeout`, or its route's
    /// `idle_timeout` when `limit` is set: `Some(None)` for none); when it is over the
    /// watchdog looks again (the connection may be idle from then on).
    pub fn track(self: &Rc<Self>, stream: &Rc<StreamShared>, limit: Option<Option<Duration>>) {
        let mut streams = self.streams.borrow_mut();
        streams.retain(|t| t.stream.strong_count() > 0);
        streams.push(Tracked { stream: Rc::downgrade(stream), seen: 0, since: Instant::now(), limit });
        let watch = Rc::downgrade(self);
        stream.activity.on_end(Box::new(move || {
            if let Some(watch) = watch.upgrade() {
                watch.changed.notify_one();
            }
        }));
    }

    /// Whether an exchange is under way.
    fn busy(&self) -> bool {
        self.streams.borrow().iter().any(|t| t.stream.strong_count() > 0)
    }

    /// Runs until the connection must end; stops idle exchanges on the way.
    pub async fn run(&self, timeouts: Timeouts) -> Verdict {
        loop {
            let changed = self.changed.notified();
            match self.check(timeouts, Instant::now()) {
                Err(verdict) => return verdict,
                Ok(Some(next)) => tokio::select! {
                    () = tokio::time::sleep_until(next) => {}
                    () = changed => {}
                },
                Ok(None) => changed.await,
            }
        }
    }

    /// The verdict due at `now`, or when to look again (`None`: only when something changes).
    fn check(&self, timeouts: Timeouts, now: Instant) -> Result<Option<Instant>, Verdict> {
        let mut next: Option<Instant> = None;
        let mut due = |at: Instant, verdict: Verdict| -> Result<(), Verdict> {
            if now >= at {
                return Err(verdict);
            }
            next = Some(next.map_or(at, |n| n.min(at)));
            Ok(())
        };
        let stream_deadline = self.check_streams(timeouts.stream_idle, now)?;
        let busy = self.busy();
        if busy {
            self.idle_since.set(None);
        } else if self.idle_since.get().is_none() {
            self.idle_since.set(Some(now));
        }
        if let Some(limit) = timeouts.headers {
            let late = if self.bytes.get() > 0 && !self.h2.get() {
                Verdict::HeadersTimeout
            } else {
                Verdict::Silent
            };
            if self.requests.get() == 0
                && let Some(accepted) = self.accepted.get()
            {
                due(accepted + limit, late)?;
            }
            if let Some(since) = self.head_since.get().filter(|_| !busy) {
                due(since + limit, Verdict::HeadersTimeout)?;
            }
        }
        if let (Some(limit), Some(since), false) = (timeouts.idle, self.idle_since.get(), busy) {
            due(since + limit, Verdict::Idle)?;
        }
        if let Some(at) = stream_deadline {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
        Ok(next)
    }

    /// Stops exchanges that made no progress for `limit`; returns when to look again, or
    /// [`Verdict::Stuck`] when one was stopped a `limit` ago and is still there.
    fn check_streams(&self, listener: Option<Duration>, now: Instant) -> Result<Option<Instant>, Verdict> {
        let mut next = None;
        let mut streams = self.streams.borrow_mut();
        streams.retain(|t| t.stream.strong_count() > 0);
        for tracked in streams.iter_mut() {
            let Some(limit) = tracked.limit.unwrap_or(listener) else { continue };
            let Some(stream) = tracked.stream.upgrade() else { continue };
            let progress = stream.activity.progress();
            if progress != tracked.seen {
                (tracked.seen, tracked.since) = (progress, now);
            } else if now >= tracked.since + limit {
                if stream.activity.killed() {
                    return Err(Verdict::Stuck);
                }
                stream.activity.kill();
                tracked.since = now;
            }
            let at = tracked.since + limit;
            next = Some(next.map_or(at, |n: Instant| n.min(at)));
        }
        Ok(next)
    }
}

/// An upstream response body the watchdog can drop (and so release its upstream connection)
/// when its exchange is stopped, even while the client reads nothing and nobody polls it.
pub struct ReleasableBody {
    inner: Rc<RefCell<Option<weir_http::BoxBody>>>,
}

impl ReleasableBody {
    /// Wraps `body`, released by `activity`'s [`Activity::kill`].
    pub fn new(body: weir_http::BoxBody, activity: &weir_http::Activity) -> ReleasableBody {
        let inner = Rc::new(RefCell::new(Some(body)));
        let weak = Rc::downgrade(&inner);
        activity.on_kill(Box::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.borrow_mut().take();
            }
        }));
        ReleasableBody { inner }
    }
}

impl http_body::Body for ReleasableBody {
    type Data = bytes::Bytes;
    type Error = weir_http::BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, weir_http::BoxError>>> {
        match self.inner.borrow_mut().as_mut() {
            Some(body) => body.as_mut().poll_frame(cx),
            None => {
                std::task::Poll::Ready(Some(Err("stream idle timeout: upstream response dropped".into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.borrow().as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.borrow().as_ref().map(|b| b.size_hint()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idle_clock_starts_when_the_last_exchange_ends() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(async {
            let watch = Rc::new(ConnWatch::new());
            watch.on_request();
            let stream = Rc::new(StreamShared::default());
            watch.track(&stream, None);
            let timeouts = Timeouts {
                headers: None,
                idle: Some(Duration::from_millis(100)),
                stream_idle: Some(Duration::from_secs(3600)),
            };
            let ended = async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                drop(stream);
                std::future::pending::<()>().await;
            };
            // Without the exchange's end waking the watchdog, it would sleep until the
            // stream-idle deadline (an hour).
            let verdict = tokio::select! {
                verdict = watch.run(timeouts) => Some(verdict),
                () = ended => None,
                () = tokio::time::sleep(Duration::from_secs(30)) => None,
            };
            assert_eq!(verdict, Some(Verdict::Idle));
        });
    }
}
