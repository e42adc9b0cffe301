//! The request's headers through the plugin chain, and what becomes of its body meanwhile.
//!
//! - While a plugin pauses on the headers, the body is read ahead and held (see `prefetch`).
//! - A plugin with `allow_on_headers_stop_iteration` that answers `StopIteration` keeps the
//!   headers while the body goes on to it (through the plugins before it, which saw the
//!   headers): the headers go on to the next plugins once it lets body data through (a body
//!   callback answered `Continue`) or continues the request. The body then reaches the later
//!   plugins through a layer of its own, so each plugin still sees every chunk once, in
//!   order.

use std::rc::Rc;

use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::chain::{Chain, Direction, Halt};
use super::prefetch::{Prefetch, Replay};
use super::{BodyHalted, FilteredBody};
use weir_http::{BoxBody, StreamShared};

/// The request body after the header phase.
pub(crate) struct Phased {
    /// The body as the plugins before `from` already see it (`None`: no body).
    pub(crate) body: Option<BoxBody>,
    /// The first plugin that has not seen the body yet.
    pub(crate) from: usize,
    /// The body arrived whole while the headers were held (it then reaches the next plugins
    /// as one chunk with end of stream).
    pub(crate) whole: bool,
}

/// Runs the request headers through `chain`.
pub(crate) async fn run(
    chain: &Rc<Chain>,
    stream: &StreamShared,
    body: Incoming,
    end_of_stream: bool,
    limit: usize,
    split_eos: bool,
) -> Result<Phased, Halt> {
    let mut prefetch = Prefetch::new(body, limit);
    let mut layered: Option<BoxBody> = None;
    let mut start = 0;
    loop {
        let held = {
            let headers = chain.request_headers(start, end_of_stream);
            tokio::pin!(headers);
            loop {
                tokio::select! {
                    biased;
                    outcome = &mut headers => break outcome?,
                    // Read ahead only before a plugin took the body (`layered`).
                    () = prefetch.fill(), if !end_of_stream && layered.is_none() && prefetch.wants_more() => {
                        if prefetch.ended() {
                            stream.data.borrow_mut().downstream_complete = true;
                        }
                    }
                }
            }
        };
        let Some(holder) = held else { break };
        let whole = prefetch.ended() && !prefetch.is_untouched();
        let source = match layered.take() {
            Some(body) => body,
            None => prefetch.take_body(),
        };
        let order = (start..=holder).collect();
        let mut through =
            FilteredBody::new(source, chain.clone(), Direction::Request, order, limit, split_eos && !whole);
        // Until the holder lets data through or continues the request.
        let first = tokio::select! {
            frame = through.frame() => match frame {
                Some(Err(e)) => return Err(halt_of(chain, &*e)),
                frame => frame.and_then(Result::ok),
            },
            waited = chain.wait(Direction::Request, holder) => {
                waited?;
                None
            }
        };
        layered = Some(weir_http::boxed(Replay::new(first, weir_http::boxed(through))));
        start = holder + 1;
    }
    let whole = layered.is_none() && prefetch.ended() && !prefetch.is_untouched();
    let body = match layered {
        Some(body) => Some(body),
        None => (!end_of_stream).then(|| prefetch.take_body()),
    };
    Ok(Phased { body, from: start, whole })
}

/// The halt a body stopped on (a local reply, a reset, a failed plugin).
fn halt_of(chain: &Chain, error: &(dyn std::error::Error + Send + Sync + 'static)) -> Halt {
    match error.downcast_ref::<BodyHalted>() {
        Some(BodyHalted(halt)) => halt.clone(),
        None => chain.take_halt().unwrap_or(Halt::Reset),
    }
}
