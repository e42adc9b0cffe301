#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::default();
    for (k, v) in pairs {
        headers.add(*k, Bytes::from(v.to_string()));
    }
    headers
}

const W3C: &[Propagation] = &[Propagation::Tracecontext];
const BOTH: &[Propagation] = &[Propagation::Tracecontext, Propagation::B3];

#[test]
fn a_w3c_traceparent_is_read() {
    let headers = map(&[("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]);
    let found = extract(&headers, W3C).unwrap();
    assert_eq!(hex::encode(found.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex::encode(found.span_id), "b7ad6b7169203331");
    assert_eq!(found.sampled, Some(true));
    let unsampled = map(&[("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")]);
    assert_eq!(extract(&unsampled, W3C).unwrap().sampled, Some(false));
}

#[test]
fn malformed_traceparents_start_a_new_trace() {
    for bad in [
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-+1",
        "+0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "0A-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0F",
        "garbage",
    ] {
        assert_eq!(extract(&map(&[("traceparent", bad)]), W3C), None, "{bad}");
    }
    // A later version may add fields.
    let later = map(&[("traceparent", "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more")]);
    assert!(extract(&later, W3C).is_some());
}

#[test]
fn b3_headers_are_read_when_configured() {
    let multi = map(&[
        ("x-b3-traceid", "463ac35c9f6413ad"),
        ("x-b3-spanid", "a2fb4a1d1a96d312"),
        ("x-b3-sampled", "1"),
    ]);
    assert_eq!(extract(&multi, W3C), None);
    let found = extract(&multi, BOTH).unwrap();
    assert_eq!(hex::encode(found.trace_id), "0000000000000000463ac35c9f6413ad");
    assert_eq!(found.sampled, Some(true));
    let single = map(&[("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0-05e3ac9a4f6e3b90")]);
    let found = extract(&single, BOTH).unwrap();
    assert_eq!(hex::encode(found.span_id), "e457b5a2e4d86bd1");
    assert_eq!(found.sampled, Some(false));
}

#[test]
fn traceparent_wins_over_b3_in_the_configured_order() {
    let headers = map(&[
        ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("x-b3-traceid", "463ac35c9f6413ad463ac35c9f6413ad"),
        ("x-b3-spanid", "a2fb4a1d1a96d312"),
    ]);
    assert_eq!(hex::encode(extract(&headers, BOTH).unwrap().span_id), "b7ad6b7169203331");
    let b3_first = [Propagation::B3, Propagation::Tracecontext];
    assert_eq!(hex::encode(extract(&headers, &b3_first).unwrap().span_id), "a2fb4a1d1a96d312");
}

#[test]
fn weirs_span_is_written_for_the_upstream() {
    let mut headers =
        map(&[("tracestate", "vendor=1"), ("b3", "x"), ("x-b3-parentspanid", "1111111111111111")]);
    inject(&mut headers, BOTH, ([0xab; 16], [0xcd; 8]), true, true);
    assert_eq!(
        headers.get_str("traceparent"),
        Some("00-abababababababababababababababab-cdcdcdcdcdcdcdcd-01")
    );
    assert_eq!(headers.get_str("tracestate"), Some("vendor=1"));
    assert_eq!(headers.get_str("x-b3-traceid"), Some("abababababababababababababababab"));
    assert_eq!(headers.get_str("x-b3-spanid"), Some("cdcdcdcdcdcdcdcd"));
    assert_eq!(headers.get_str("x-b3-sampled"), Some("1"));
    assert_eq!(headers.get_str("b3"), None);
    assert_eq!(headers.get_str("x-b3-parentspanid"), None);
}

#[test]
fn a_b3_decision_without_a_trace_is_followed() {
    assert_eq!(decision_only(&map(&[("b3", "0")]), BOTH), Some(false));
    assert_eq!(decision_only(&map(&[("b3", "d")]), BOTH), Some(true));
    assert_eq!(decision_only(&map(&[("x-b3-sampled", "0")]), BOTH), Some(false));
    assert_eq!(decision_only(&map(&[("b3", "0")]), W3C), None);
    assert_eq!(extract(&map(&[("b3", "0")]), BOTH), None);
}

#[test]
fn a_tracestate_without_its_trace_is_removed() {
    let mut headers = map(&[("tracestate", "vendor=1")]);
    inject(&mut headers, W3C, ([0xab; 16], [0xcd; 8]), true, false);
    assert_eq!(headers.get_str("tracestate"), None);
}
