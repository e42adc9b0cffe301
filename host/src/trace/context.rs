//! Trace context in request headers: read from W3C `traceparent` or B3 headers, written back
//! for the upstream with weir's span as the parent. Malformed headers are ignored (a new trace
//! starts), as the W3C specification asks.

use bytes::Bytes;
use weir_http::HeaderMap;

use crate::config::Propagation;

/// The trace a request arrived with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    /// Its trace id (never all zeros).
    pub trace_id: [u8; 16],
    /// The caller's span: the parent of weir's.
    pub span_id: [u8; 8],
    /// The caller's sampling decision, when it made one.
    pub sampled: Option<bool>,
    /// Read from a W3C `traceparent` (its `tracestate` then goes with it).
    pub w3c: bool,
}

/// Reads the first trace context found, in `order`.
pub fn extract(headers: &HeaderMap, order: &[Propagation]) -> Option<Incoming> {
    order.iter().find_map(|p| match p {
        Propagation::Tracecontext => traceparent(headers.get(b"traceparent")?),
        Propagation::B3 => b3_single(headers).or_else(|| b3_multi(headers)),
    })
}

/// A sampling decision sent without a trace (B3's `b3: 0`, or `x-b3-sampled` alone): a new
/// trace follows it.
pub fn decision_only(headers: &HeaderMap, order: &[Propagation]) -> Option<bool> {
    if !order.contains(&Propagation::B3) {
        return None;
    }
    let text = |name: &[u8]| headers.get(name).and_then(|v| std::str::from_utf8(v).ok());
    match text(b"b3") {
        Some(single) if !single.contains('-') => b3_sampled(single),
        _ if text(b"x-b3-flags") == Some("1") => Some(true),
        _ => text(b"x-b3-sampled").and_then(b3_sampled),
    }
}

/// A `traceparent`: `00-<32 hex>-<16 hex>-<2 hex>`, lower-case (a later version may add
/// fields after).
fn traceparent(value: &[u8]) -> Option<Incoming> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let mut parts = text.split('-');
    let (version, trace, span, flags) =
        (byte(parts.next()?)?, parts.next()?, parts.next()?, byte(parts.next()?)?);
    if version == 0xff || (version == 0 && parts.next().is_some()) {
        return None;
    }
    Some(Incoming { trace_id: id(trace)?, span_id: id(span)?, sampled: Some(flags & 1 == 1), w3c: true })
}

/// Two lower-case hex digits.
fn byte(text: &str) -> Option<u8> {
    let lower = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    (text.len() == 2 && text.bytes().all(lower)).then(|| u8::from_str_radix(text, 16).ok())?
}

/// The single `b3` header: `<trace>-<span>[-<sampled>[-<parent>]]` (a decision alone is
/// [`decision_only`]).
fn b3_single(headers: &HeaderMap) -> Option<Incoming> {
    let text = std::str::from_utf8(headers.get(b"b3")?).ok()?;
    let mut parts = text.split('-');
    let (trace, span) = (parts.next()?, parts.next()?);
    let sampled = parts.next().and_then(b3_sampled);
    Some(Incoming { trace_id: b3_trace(trace)?, span_id: id(span)?, sampled, w3c: false })
}

/// `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled` (or `x-b3-flags: 1`, debug).
fn b3_multi(headers: &HeaderMap) -> Option<Incoming> {
    let text = |name: &[u8]| headers.get(name).and_then(|v| std::str::from_utf8(v).ok());
    let trace_id = b3_trace(text(b"x-b3-traceid")?)?;
    let span_id = id(text(b"x-b3-spanid")?)?;
    let debug = text(b"x-b3-flags") == Some("1");
    let sampled = if debug { Some(true) } else { text(b"x-b3-sampled").and_then(b3_sampled) };
    Some(Incoming { trace_id, span_id, sampled, w3c: false })
}

/// A B3 trace id: 32 hex digits, or 16 (padded on the left with zeros).
fn b3_trace(text: &str) -> Option<[u8; 16]> {
    match text.len() {
        32 => id(text),
        16 => {
            let low: [u8; 8] = id(text)?;
            let mut out = [0; 16];
            out[8..].copy_from_slice(&low);
            Some(out)
        }
        _ => None,
    }
}

fn b3_sampled(text: &str) -> Option<bool> {
    match text {
        "1" | "d" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

/// Lower-case hex of exactly `N` bytes, not all zeros.
fn id<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    (out != [0; N]).then_some(out)
}

/// Writes weir's span as the upstream's parent in every format of `order`. `tracestate` goes
/// on as it came with the trace it belongs to (`keep_state`), else it is removed (W3C: it is
/// meaningless without its `traceparent`).
pub fn inject(
    headers: &mut HeaderMap,
    order: &[Propagation],
    (trace_id, span_id): ([u8; 16], [u8; 8]),
    sampled: bool,
    keep_state: bool,
) {
    if !keep_state {
        headers.remove(b"tracestate");
    }
    let (trace, span) = (hex::encode(trace_id), hex::encode(span_id));
    for propagation in order {
        match propagation {
            Propagation::Tracecontext => {
                let flags = if sampled { "01" } else { "00" };
                headers.set("traceparent", Bytes::from(format!("00-{trace}-{span}-{flags}")));
            }
            Propagation::B3 => {
                headers.remove(b"b3");
                // The caller's parent is not weir's span's parent.
                headers.remove(b"x-b3-parentspanid");
                headers.set("x-b3-traceid", Bytes::from(trace.clone()));
                headers.set("x-b3-spanid", Bytes::from(span.clone()));
                headers.set("x-b3-sampled", Bytes::from_static(if sampled { b"1" } else { b"0" }));
            }
        }
    }
}

#[cfg(test)]
#[path = "context_tests.rs"]
mod tests;
