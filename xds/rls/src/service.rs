//! `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`: finds each descriptor's
//! limit, checks and counts them in Redis in one step, and answers with a status per
//! descriptor (`current_limit`, `limit_remaining`, `duration_until_reset`).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use envoy_types::pb::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::{
    Code, DescriptorStatus, RateLimit,
};
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::RateLimitService;
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use envoy_types::pb::google::protobuf::Duration as PbDuration;
use tonic::{Request, Response, Status};
use tracing::warn;

use crate::limits::{Limit, Limits};
use crate::metrics::{Metrics, add, bump};
use crate::store::{self, Counter, Store};

/// The most descriptors one call may carry.
pub const MAX_DESCRIPTORS: usize = 64;
/// The most entries one descriptor may carry (the tree is at most this deep).
pub const MAX_ENTRIES: usize = crate::config::MAX_DEPTH;
/// The longest domain, key or value, in bytes.
pub const MAX_STRING_BYTES: usize = 1024;

/// What the service answers from.
#[derive(Debug)]
pub struct State {
    /// The running limits (swapped whole on reload).
    pub limits: ArcSwap<Limits>,
    /// The counters.
    pub store: Store,
    /// The metrics.
    pub metrics: Arc<Metrics>,
}

/// The gRPC service.
#[derive(Debug, Clone)]
pub struct Service {
    state: Arc<State>,
}

impl Service {
    /// A service answering from `state`.
    pub fn new(state: Arc<State>) -> Service {
        Service { state }
    }
}

/// One descriptor's limit and counter, for the answer.
struct Checked {
    limit: Arc<Limit>,
    hits: u32,
    window_start: u64,
}

#[tonic::async_trait]
impl RateLimitService for Service {
    async fn should_rate_limit(
        &self,
        request: Request<RateLimitRequest>,
    ) -> Result<Response<RateLimitResponse>, Status> {
        let metrics = &self.state.metrics;
        bump(&metrics.requests);
        let request = request.into_inner();
        if let Err(status) = validate(&request) {
            bump(&metrics.invalid_requests);
            return Err(status);
        }
        let limits = self.state.limits.load();
        if !limits.has_domain(&request.domain) {
            bump(&metrics.unknown_domain);
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut checked: Vec<Option<Checked>> = Vec::with_capacity(request.descriptors.len());
        let mut counters = Vec::new();
        for d in &request.descriptors {
            let entries: Vec<(&str, &str)> =
                d.entries.iter().map(|e| (e.key.as_str(), e.value.as_str())).collect();
            let limit = limits.find(&request.domain, entries.iter().copied()).filter(|l| !l.unlimited);
            let Some(limit) = limit else {
                checked.push(None);
                continue;
            };
            let hits = hits(d, request.hits_addend);
            let window = limit.unit.seconds();
            let window_start = now.as_secs() / window * window;
            counters.push(Counter {
                key: store::key(&request.domain, &entries, window, window_start),
                limit: limit.requests_per_unit,
                hits,
                window_secs: window,
                shadow: limit.shadow,
            });
            checked.push(Some(Checked { limit: limit.clone(), hits, window_start }));
        }
        let outcome = match self.state.store.check(&counters).await {
            Ok(outcome) => outcome,
            Err(e) => {
                bump(&metrics.redis_errors);
                warn!(error = %e, domain = %request.domain, "cannot decide: answering UNAVAILABLE");
                return Err(Status::unavailable(e.to_string()));
            }
        };
        let mut counts = outcome.counts.iter();
        let statuses = checked
            .iter()
            .map(|c| match c {
                None => DescriptorStatus { code: Code::Ok as i32, ..DescriptorStatus::default() },
                Some(c) => status(c, counts.next().copied().unwrap_or(0), outcome.over, now),
            })
            .collect();
        let overall = if outcome.over { Code::OverLimit } else { Code::Ok };
        if outcome.over {
            bump(&metrics.over_limit_responses);
        }
        Ok(Response::new(RateLimitResponse {
            overall_code: overall as i32,
            statuses,
            ..RateLimitResponse::default()
        }))
    }
}

/// The hits of `d`: its own `hits_addend`, else the request's; 0 means 1.
fn hits(d: &RateLimitDescriptor, request_hits: u32) -> u32 {
    let own = d.hits_addend.as_ref().map(|h| u32::try_from(h.value).unwrap_or(u32::MAX));
    match own.unwrap_or(request_hits) {
        0 => 1,
        n => n,
    }
}

/// One descriptor's status, and its counters. `count` is the counter after this request, or
/// the current one when the request was `over` (then nothing was counted).
fn status(c: &Checked, count: u64, over: bool, now: Duration) -> DescriptorStatus {
    let limit = &c.limit;
    let per_unit = u64::from(limit.requests_per_unit);
    let this_over = if over { count + u64::from(c.hits) > per_unit } else { count > per_unit };
    let counters = &limit.counters;
    add(&counters.total_hits, c.hits.into());
    let code = if this_over && !limit.shadow {
        add(&counters.over_limit, c.hits.into());
        Code::OverLimit
    } else {
        if this_over {
            add(&counters.shadow_mode, c.hits.into());
        }
        add(&counters.within_limit, c.hits.into());
        Code::Ok
    };
    let remaining = if code == Code::OverLimit { 0 } else { per_unit.saturating_sub(count) };
    let reset = Duration::from_secs(c.window_start + limit.unit.seconds()).saturating_sub(now);
    DescriptorStatus {
        code: code as i32,
        current_limit: Some(RateLimit {
            name: limit.name.clone(),
            requests_per_unit: limit.requests_per_unit,
            unit: limit.unit.proto(),
        }),
        limit_remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        duration_until_reset: Some(PbDuration {
            seconds: i64::try_from(reset.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(reset.subsec_nanos()).unwrap_or(0),
        }),
        quota: None,
    }
}

/// Refuses what envoyproxy/ratelimit refuses (an empty domain, no descriptors) and what is
/// over weir-rls's caps or not implemented.
fn validate(request: &RateLimitRequest) -> Result<(), Status> {
    let invalid = |why: String| Err(Status::invalid_argument(why));
    if request.domain.is_empty() {
        return invalid("rate limit domain must not be empty".into());
    }
    if request.descriptors.is_empty() {
        return invalid("rate limit descriptor list must not be empty".into());
    }
    if request.descriptors.len() > MAX_DESCRIPTORS {
        return invalid(format!(
            "{} descriptors, over the limit of {MAX_DESCRIPTORS}",
            request.descriptors.len()
        ));
    }
    let long = |s: &str| s.len() > MAX_STRING_BYTES;
    if long(&request.domain) {
        return invalid(format!("domain over {MAX_STRING_BYTES} bytes"));
    }
    for (i, d) in request.descriptors.iter().enumerate() {
        if d.entries.is_empty() || d.entries.len() > MAX_ENTRIES {
            return invalid(format!(
                "descriptor {i}: {} entries (1 to {MAX_ENTRIES} allowed)",
                d.entries.len()
            ));
        }
        if d.entries.iter().any(|e| long(&e.key) || long(&e.value)) {
            return invalid(format!("descriptor {i}: a key or value over {MAX_STRING_BYTES} bytes"));
        }
        if d.limit.is_some() || d.is_negative_hits {
            return Err(Status::unimplemented(format!(
                "descriptor {i}: `limit` overrides and negative hits are not supported by weir-rls"
            )));
        }
    }
    Ok(())
}
