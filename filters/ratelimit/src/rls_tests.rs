//! The hand-written messages against `envoy-types`' generated ones (the wire format both sides
//! of a real RLS use).

use envoy_types::pb::envoy::config::core::v3::HeaderValue as PbHeader;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::{
    Code, DescriptorStatus as PbStatus, RateLimit as PbLimit, rate_limit::Unit,
};
use envoy_types::pb::envoy::service::ratelimit::v3::{
    RateLimitRequest as PbRequest, RateLimitResponse as PbResponse,
};
use envoy_types::pb::google::protobuf::{Duration as PbDuration, Struct};
use prost::Message;

use super::*;

fn descriptor(pairs: &[(&str, &str)]) -> Descriptor {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn the_request_decodes_as_envoys_rate_limit_request() {
    let bytes = encode_request(
        "edge",
        &[descriptor(&[("user", "alice"), ("path", "/a")]), descriptor(&[("k", "v")])],
    );
    let request = PbRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(request.domain, "edge");
    assert_eq!(request.hits_addend, 1);
    let got: Vec<Vec<(String, String)>> = request
        .descriptors
        .iter()
        .map(|d| d.entries.iter().map(|e| (e.key.clone(), e.value.clone())).collect())
        .collect();
    assert_eq!(got, [descriptor(&[("user", "alice"), ("path", "/a")]), descriptor(&[("k", "v")])]);
}

fn status(code: Code, limit: Option<(u32, Unit)>, remaining: u32, reset: Option<i64>) -> PbStatus {
    PbStatus {
        code: code as i32,
        current_limit: limit.map(|(n, unit)| PbLimit {
            name: String::new(),
            requests_per_unit: n,
            unit: unit as i32,
        }),
        limit_remaining: remaining,
        duration_until_reset: reset.map(|seconds| PbDuration { seconds, nanos: 0 }),
        quota: None,
    }
}

fn header(key: &str, value: &str) -> PbHeader {
    PbHeader { key: key.into(), value: value.into(), raw_value: Vec::new() }
}

#[test]
fn an_over_limit_answer_carries_its_limit_headers_and_body() {
    let response = PbResponse {
        overall_code: Code::OverLimit as i32,
        statuses: vec![
            status(Code::Ok, Some((100, Unit::Minute)), 40, Some(30)),
            status(Code::OverLimit, Some((10, Unit::Second)), 0, None),
        ],
        response_headers_to_add: vec![header("X-From-Rls", "1")],
        request_headers_to_add: vec![],
        raw_body: b"slow down".to_vec(),
        // Unknown to our structs: skipped.
        dynamic_metadata: Some(Struct::default()),
        quota: None,
    };
    let decision = decode_response(&response.encode_to_vec()).unwrap();
    let Decision::Deny(answer) = decision else { panic!("{decision:?}") };
    assert_eq!(
        text(&answer.limit_headers),
        [
            ("x-ratelimit-limit", "10, 100;w=60, 10;w=1"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "0")
        ]
    );
    assert_eq!(answer.response_headers, [("x-from-rls".to_string(), b"1".to_vec())]);
    assert_eq!(answer.body, b"slow down");
}

#[test]
fn an_ok_answer_reports_the_fewest_remaining_and_request_headers() {
    let response = PbResponse {
        overall_code: Code::Ok as i32,
        statuses: vec![
            status(Code::Ok, Some((100, Unit::Minute)), 40, Some(30)),
            status(Code::Ok, Some((5, Unit::Hour)), 3, Some(1200)),
            status(Code::Ok, None, 0, None),
        ],
        request_headers_to_add: vec![PbHeader {
            key: "x-quota".into(),
            value: "ignored".into(),
            raw_value: b"raw".to_vec(),
        }],
        ..PbResponse::default()
    };
    let Decision::Allow(answer) = decode_response(&response.encode_to_vec()).unwrap() else { panic!() };
    assert_eq!(
        text(&answer.limit_headers),
        [
            ("x-ratelimit-limit", "5, 100;w=60, 5;w=3600"),
            ("x-ratelimit-remaining", "3"),
            ("x-ratelimit-reset", "1200")
        ]
    );
    assert_eq!(answer.request_headers, [("x-quota".to_string(), b"raw".to_vec())]);
}

#[test]
fn unknown_codes_and_garbage_are_not_decisions() {
    let unknown = PbResponse { overall_code: Code::Unknown as i32, ..PbResponse::default() };
    assert_eq!(decode_response(&unknown.encode_to_vec()).unwrap(), Decision::Unknown(0));
    assert_eq!(decode_response(b"").unwrap(), Decision::Unknown(0));
    assert!(decode_response(&[0x0a, 0xff]).is_err());
    let Decision::Allow(answer) =
        decode_response(&PbResponse { overall_code: 1, ..PbResponse::default() }.encode_to_vec()).unwrap()
    else {
        panic!()
    };
    assert_eq!(answer, Answer::default());
}

fn text(headers: &[Header]) -> Vec<(&str, &str)> {
    headers.iter().map(|(k, v)| (k.as_str(), std::str::from_utf8(v).unwrap())).collect()
}

#[test]
fn limit_headers_follow_envoys_ratelimit_filter() {
    // Ties keep the first; names are quoted; a week has no window in Envoy's mapping.
    let mut named = status(Code::Ok, Some((7, Unit::Week)), 2, Some(9));
    named.current_limit.as_mut().unwrap().name = "weekly".into();
    let mut hourly = status(Code::Ok, Some((50, Unit::Hour)), 2, Some(100));
    hourly.current_limit.as_mut().unwrap().name = "per-ip".into();
    let statuses = [named, hourly, status(Code::Ok, Some((9, Unit::Year)), 4, None)];
    let ours: Vec<DescriptorStatus> =
        statuses.iter().map(|s| DescriptorStatus::decode(s.encode_to_vec().as_slice()).unwrap()).collect();
    assert_eq!(
        text(&limit_headers(&ours)),
        [
            ("x-ratelimit-limit", "7, 50;w=3600;name=\"per-ip\", 9;w=31536000"),
            ("x-ratelimit-remaining", "2"),
            ("x-ratelimit-reset", "9")
        ]
    );
    assert!(limit_headers(&[]).is_empty());
}

#[test]
fn windows_are_envoys() {
    assert_eq!(quota_window(Unit::Second as i32), 1);
    assert_eq!(quota_window(Unit::Day as i32), 86_400);
    assert_eq!(quota_window(Unit::Month as i32), 2_592_000);
    assert_eq!(quota_window(Unit::Week as i32), 0);
    assert_eq!(quota_window(Unit::Unknown as i32), 0);
}
