//! Request and response bodies flowing through the plugin chain: [`FilteredBody`] wraps the
//! source body and runs every data and trailers frame through the plugins' body callbacks,
//! honouring `StopIterationAndBuffer` (the plugin then sees everything buffered so far), pauses
//! at end of stream, and the buffer limit.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use weir_abi::{DataStatus, HttpCallbacks, TrailersStatus};

use super::chain::{Chain, Direction, Halt};
use weir_http::Chunk;
use weir_http::convert::{header_map_from_http, http_trailers_from_map};
use weir_http::{BoxBody, BoxError, LocalReply};

/// A body over the listener's buffer limit: the local reply Envoy sends for it (request 413,
/// response 500), recorded in the stream.
pub(crate) fn too_large(chain: &Chain, direction: Direction) -> Halt {
    let (status, body, details) = match direction {
        Direction::Request => (413, "Payload Too Large", "request_payload_too_large"),
        Direction::Response => (500, "Internal Server Error", "response_payload_too_large"),
    };
    chain.stream.data.borrow_mut().local_reply = Some(LocalReply {
        status,
        body: Bytes::from_static(body.as_bytes()),
        headers: Vec::new(),
        grpc_status: -1,
        details: details.to_string(),
    });
    Halt::LocalReply(0)
}

/// Why a filtered body ended early.
#[derive(Debug, thiserror::Error)]
#[error("stream stopped by a plugin: {0:?}")]
pub struct BodyHalted(pub Halt);

enum Wait {
    None,
    /// The plugin at this position holds the end of the data and must continue the stream.
    Data(usize),
    /// The plugin at this position paused trailers.
    Trailers(usize),
}

/// A body passed through the plugin chain in one direction.
pub struct FilteredBody {
    inner: BoxBody,
    chain: Rc<Chain>,
    direction: Direction,
    order: Vec<usize>,
    limit: usize,
    out: VecDeque<Frame<Bytes>>,
    wait: Wait,
    inner_done: bool,
    /// The source is HTTP/1: end of stream arrives as its own empty chunk (as Envoy's HTTP/1
    /// codec delivers it), never on the last data chunk.
    split_eos: bool,
    ended: bool,
    waiter: Option<Pin<Box<dyn Future<Output = ()>>>>,
    /// A plugin added trailers in its end-of-stream body callback (the source had none): the
    /// plugins from this position get them (their trailers callbacks) after the data, and
    /// they go out after it.
    trailers_from: Option<usize>,
}

impl FilteredBody {
    /// Wraps `inner`; plugins are called in `order` (chain indices). `split_eos`: see the field.
    pub fn new(
        inner: BoxBody,
        chain: Rc<Chain>,
        direction: Direction,
        order: Vec<usize>,
        limit: usize,
        split_eos: bool,
    ) -> Self {
        FilteredBody {
            split_eos,
            inner,
            chain,
            direction,
            order,
            limit,
            out: VecDeque::new(),
            wait: Wait::None,
            inner_done: false,
            ended: false,
            waiter: None,
            trailers_from: None,
        }
    }

    fn slot_index(&self, pos: usize) -> usize {
        self.order[pos]
    }

    /// Runs `chunk` through the plugins from position `from`; returns it if it got through all.
    fn run_data(&mut self, from: usize, mut chunk: Chunk, mut eos: bool) -> Result<Option<Chunk>, Halt> {
        let dir = self.direction as usize;
        let callback = match self.direction {
            Direction::Request => HttpCallbacks::REQUEST_BODY,
            Direction::Response => HttpCallbacks::RESPONSE_BODY,
        };
        for pos in from..self.order.len() {
            let index = self.slot_index(pos);
            let slot = &self.chain.slots[index];
            // A plugin without body callbacks never buffers: the chunk passes it as it is.
            if slot.ctx.get().is_none() || slot.failed.get() || !self.chain.implements(index, callback) {
                continue;
            }
            let view = {
                let mut state = slot.body[dir].borrow_mut();
                if state.buffering {
                    state.buffer.append(chunk);
                    std::mem::take(&mut state.buffer)
                } else {
                    chunk
                }
            };
            let size = view.len();
            self.set_view(view);
            let had_trailers = eos && self.has_trailers();
            let status = self.chain.call(index, callback, |vm, ctx| match self.direction {
                Direction::Request => vm.on_request_body(ctx, size, eos),
                Direction::Response => vm.on_response_body(ctx, size, eos),
            });
            let view = self.take_view();
            let status = status?.unwrap_or(0);
            self.chain.check(self.direction, index)?;
            if eos && !had_trailers && self.has_trailers() {
                // Envoy's addDecodedTrailers/addEncodedTrailers: the body no longer ends with
                // this chunk for the plugins after it; the trailers do.
                eos = false;
                self.trailers_from = Some(pos + 1);
            }
            let mut state = slot.body[dir].borrow_mut();
            match DataStatus::from_raw(status) {
                Some(DataStatus::Continue) | None => {
                    state.buffering = false;
                    chunk = view;
                }
                Some(DataStatus::StopIterationAndBuffer | DataStatus::StopIterationAndWatermark) => {
                    if view.len() > self.limit {
                        drop(state);
                        return Err(self.too_large());
                    }
                    state.buffering = true;
                    // Room for the rest of a body of known length, so buffering it copies each
                    // byte once instead of regrowing (and copying) the buffer.
                    let rest = usize::try_from(self.inner.size_hint().lower()).unwrap_or(usize::MAX);
                    let room = self.limit.saturating_sub(view.len());
                    state.buffer = view.into_buffer(rest.min(room));
                    if eos {
                        self.wait = Wait::Data(pos);
                    }
                    return Ok(None);
                }
                Some(DataStatus::StopIterationNoBuffer) => {
                    state.buffering = false;
                    if eos {
                        self.wait = Wait::Data(pos);
                    }
                    return Ok(None);
                }
            }
        }
        Ok(Some(chunk))
    }

    fn set_view(&self, view: Chunk) {
        let mut data = self.chain.stream.data.borrow_mut();
        match self.direction {
            Direction::Request => {
                data.request_body = view;
                data.continue_request = false;
            }
            Direction::Response => {
                data.response_body = view;
                data.continue_response = false;
            }
        }
    }

    fn take_view(&self) -> Chunk {
        let mut data = self.chain.stream.data.borrow_mut();
        match self.direction {
            Direction::Request => std::mem::take(&mut data.request_body),
            Direction::Response => std::mem::take(&mut data.response_body),
        }
    }

    fn too_large(&self) -> Halt {
        too_large(&self.chain, self.direction)
    }

    /// Runs trailers through the plugins from position `from`, flushing buffered data first.
    fn run_trailers(&mut self, from: usize) -> Result<bool, Halt> {
        let dir = self.direction as usize;
        for pos in from..self.order.len() {
            let index = self.slot_index(pos);
            let slot = &self.chain.slots[index];
            if slot.ctx.get().is_none() || slot.failed.get() {
                continue;
            }
            let buffered = {
                let mut state = slot.body[dir].borrow_mut();
                state.buffering = false;
                std::mem::take(&mut state.buffer)
            };
            let count = self.trailer_count();
            self.clear_continue();
            let callback = match self.direction {
                Direction::Request => HttpCallbacks::REQUEST_TRAILERS,
                Direction::Response => HttpCallbacks::RESPONSE_TRAILERS,
            };
            let status = self.chain.call(index, callback, |vm, ctx| match self.direction {
                Direction::Request => vm.on_request_trailers(ctx, count),
                Direction::Response => vm.on_response_trailers(ctx, count),
            })?;
            self.chain.check(self.direction, index)?;
            if !buffered.is_empty()
                && let Some(chunk) = self.run_data(pos + 1, buffered, false)?
            {
                self.out.push_back(Frame::data(chunk.freeze()));
            }
            if status.is_some_and(|s| TrailersStatus::from_raw(s) != Some(TrailersStatus::Continue)) {
                self.wait = Wait::Trailers(pos);
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn trailer_count(&self) -> usize {
        let data = self.chain.stream.data.borrow();
        let map = match self.direction {
            Direction::Request => data.request_trailers.as_ref(),
            Direction::Response => data.response_trailers.as_ref(),
        };
        map.map_or(0, |m| m.len())
    }

    fn clear_continue(&self) {
        let mut data = self.chain.stream.data.borrow_mut();
        match self.direction {
            Direction::Request => data.continue_request = false,
            Direction::Response => data.continue_response = false,
        }
    }

    fn emit_trailers(&mut self) {
        let data = self.chain.stream.data.borrow();
        let map = match self.direction {
            Direction::Request => data.request_trailers.as_ref(),
            Direction::Response => data.response_trailers.as_ref(),
        };
        if let Some(map) = map {
            self.out.push_back(Frame::trailers(http_trailers_from_map(map)));
        }
    }

    /// Checks whether a paused plugin continued; `Ok(true)` if it did.
    fn take_continue(&self) -> Result<bool, Halt> {
        let mut data = self.chain.stream.data.borrow_mut();
        if data.local_reply.is_some() {
            return Err(Halt::LocalReply(0));
        }
        if data.close_requested {
            return Err(Halt::Reset);
        }
        let flag = match self.direction {
            Direction::Request => &mut data.continue_request,
            Direction::Response => &mut data.continue_response,
        };
        Ok(std::mem::take(flag))
    }

    fn resume(&mut self) -> Result<(), Halt> {
        match std::mem::replace(&mut self.wait, Wait::None) {
            Wait::None => Ok(()),
            Wait::Data(pos) => {
                let index = self.slot_index(pos);
                let held = {
                    let mut state = self.chain.slots[index].body[self.direction as usize].borrow_mut();
                    state.buffering = false;
                    std::mem::take(&mut state.buffer)
                };
                let eos = self.inner_done;
                if let Some(chunk) = self.run_data(pos + 1, held, eos)?
                    && (!chunk.is_empty() || eos)
                {
                    self.out.push_back(Frame::data(chunk.freeze()));
                }
                self.flush_added_trailers()
            }
            Wait::Trailers(pos) => {
                if self.run_trailers(pos + 1)? {
                    self.emit_trailers();
                }
                Ok(())
            }
        }
    }

    fn halt(&mut self, halt: Halt) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.ended = true;
        self.chain.set_halt(halt.clone());
        if self.direction == Direction::Response {
            self.chain.finish();
        }
        Poll::Ready(Some(Err(Box::new(BodyHalted(halt)))))
    }

    fn end(&mut self) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.ended = true;
        match self.direction {
            Direction::Response => self.chain.finish(),
            // All of the request is upstream now.
            Direction::Request => self.chain.stream.data.borrow_mut().request_timer_disarmed = true,
        }
        Poll::Ready(None)
    }

    /// The source has no more: for a request, all of it arrived from downstream.
    fn downstream_done(&self) {
        if self.direction == Direction::Request {
            self.chain.stream.data.borrow_mut().downstream_complete = true;
        }
    }
}

impl Body for FilteredBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.chain.stream.activity.killed() && !self.ended {
            // Stopped by the connection's watchdog (`stream_idle_timeout`).
            self.ended = true;
            if self.direction == Direction::Response {
                self.chain.finish();
            }
            return Poll::Ready(Some(Err("stream idle timeout".into())));
        }
        // The callbacks of one poll are one run (see `Chain::end_run`).
        self.chain.end_run();
        let frame = self.as_mut().poll_frame_run(cx);
        self.chain.end_run();
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.out.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl FilteredBody {
    fn poll_frame_run(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if let Some(frame) = this.out.pop_front() {
                return Poll::Ready(Some(Ok(frame)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            if !matches!(this.wait, Wait::None) {
                match this.take_continue() {
                    Err(halt) => return this.halt(halt),
                    Ok(true) => {
                        this.waiter = None;
                        if let Err(halt) = this.resume() {
                            return this.halt(halt);
                        }
                        continue;
                    }
                    Ok(false) => {}
                }
                let shared = this.chain.stream.clone();
                let waiter =
                    this.waiter.get_or_insert_with(|| Box::pin(async move { shared.wake.notified().await }));
                match waiter.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.waiter = None;
                        continue;
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            if this.inner_done {
                return this.end();
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => {
                    this.ended = true;
                    if this.direction == Direction::Response {
                        this.chain.finish();
                    }
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    this.chain.stream.activity.touch();
                    let frame = match frame.into_data() {
                        Ok(data) => {
                            let last = this.inner.is_end_stream();
                            this.inner_done = last;
                            if last {
                                this.downstream_done();
                            }
                            this.count(data.len());
                            // With `split_eos` the end of stream follows as an empty chunk, run
                            // at once: the sink may stop polling once the declared length is
                            // written, and plugins must still see end of stream.
                            let chunks: &[(bool, bool)] = match (last, this.split_eos) {
                                (true, true) => &[(true, false), (false, true)],
                                (last, _) => &[(true, last)],
                            };
                            let mut data = Some(data);
                            for &(with_data, eos) in chunks {
                                let chunk = match with_data {
                                    true => data.take().map_or_else(Chunk::empty, Chunk::Arrived),
                                    false => Chunk::empty(),
                                };
                                match this.run_data(0, chunk, eos) {
                                    Ok(Some(chunk)) if !chunk.is_empty() || eos => {
                                        this.out.push_back(Frame::data(chunk.freeze()));
                                    }
                                    Ok(_) => {}
                                    Err(halt) => return this.halt(halt),
                                }
                                if let Err(halt) = this.flush_added_trailers() {
                                    return this.halt(halt);
                                }
                                if !matches!(this.wait, Wait::None) {
                                    break;
                                }
                            }
                            continue;
                        }
                        Err(frame) => frame,
                    };
                    if let Ok(trailers) = frame.into_trailers() {
                        this.inner_done = true;
                        this.downstream_done();
                        this.set_trailers(header_map_from_http(trailers));
                        match this.run_trailers(0) {
                            Ok(true) => this.emit_trailers(),
                            Ok(false) => {}
                            Err(halt) => return this.halt(halt),
                        }
                    }
                }
                Poll::Ready(None) => {
                    this.inner_done = true;
                    this.downstream_done();
                    // The source ended without flagging its last chunk: deliver end of stream
                    // as an empty chunk, as Envoy does for chunked bodies.
                    if this.any_context() {
                        match this.run_data(0, Chunk::empty(), true) {
                            Ok(Some(chunk)) if !chunk.is_empty() => {
                                this.out.push_back(Frame::data(chunk.freeze()))
                            }
                            Ok(_) => {}
                            Err(halt) => return this.halt(halt),
                        }
                        if let Err(halt) = this.flush_added_trailers() {
                            return this.halt(halt);
                        }
                    }
                }
            }
        }
    }
}

impl FilteredBody {
    fn count(&self, n: usize) {
        let mut data = self.chain.stream.data.borrow_mut();
        match self.direction {
            Direction::Request => data.info.request_body_bytes += n as u64,
            Direction::Response => data.info.response_body_bytes += n as u64,
        }
    }

    fn set_trailers(&self, map: weir_http::HeaderMap) {
        let mut data = self.chain.stream.data.borrow_mut();
        match self.direction {
            Direction::Request => data.request_trailers = Some(map),
            Direction::Response => data.response_trailers = Some(map),
        }
    }

    /// Whether the stream has trailers in this direction.
    fn has_trailers(&self) -> bool {
        let data = self.chain.stream.data.borrow();
        match self.direction {
            Direction::Request => data.request_trailers.is_some(),
            Direction::Response => data.response_trailers.is_some(),
        }
    }

    /// After the last data: trailers a plugin added go through the plugins after it, then out.
    fn flush_added_trailers(&mut self) -> Result<(), Halt> {
        if let Some(from) = self.trailers_from.take()
            && self.run_trailers(from)?
        {
            self.emit_trailers();
        }
        Ok(())
    }

    fn any_context(&self) -> bool {
        self.order.iter().any(|i| self.chain.slots[*i].ctx.get().is_some())
    }
}

impl Drop for FilteredBody {
    fn drop(&mut self) {
        if self.direction == Direction::Response {
            self.chain.finish();
        }
    }
}
