//! One request: pick the configuration (rules), build descriptors, decide locally or ask the
//! Rate Limit Service, and answer `429` or let the request through (adding `x-ratelimit-*` to
//! the response when enabled).

use std::rc::Rc;
use std::time::Duration as StdDuration;

use weir_sdk::prelude::*;
use weir_sdk::rules::Rules;

use crate::actions::{self, Descriptor, RequestView};
use crate::config::{Mode, OnContention, XRateLimitHeaders};
use crate::headers::{self, Header};
use crate::local::{self, Plan};
use crate::metrics::Metrics;
use crate::rls::{self, Decision};
use crate::settings::Settings;
use crate::store::SharedData;

/// The request as the actions see it, through hostcalls.
struct HostRequest;

impl RequestView for HostRequest {
    fn header(&self, name: &str) -> Option<String> {
        host::header(MapType::HttpRequestHeaders, name).ok().flatten().map(|v| v.to_string_lossy())
    }

    fn path(&self) -> Option<String> {
        self.header(":path")
    }

    fn source_address(&self) -> Option<String> {
        host::property(&["source", "address"]).ok().flatten().map(|v| v.to_string_lossy())
    }
}

/// The HTTP context.
pub struct RateLimitHttp {
    rules: Rc<Rules<Settings>>,
    metrics: Metrics,
    /// RLS calls in flight, with the configuration each was made for.
    pending: Vec<(u32, Settings)>,
    /// Headers for the upstream response.
    response_headers: Vec<Header>,
    /// This filter answered the request itself (its reply passes through
    /// `on_http_response_headers` too, and must be left alone).
    replied: bool,
}

impl RateLimitHttp {
    /// A context for one request.
    pub fn new(rules: Rc<Rules<Settings>>, metrics: Metrics) -> RateLimitHttp {
        RateLimitHttp { rules, metrics, pending: Vec::new(), response_headers: Vec::new(), replied: false }
    }

    /// Charges every local-mode plan; `Some` when the request was denied (answered).
    fn local(&mut self, plans: &[Plan<'_>]) -> Option<Action> {
        if plans.iter().all(|p| p.buckets.is_empty()) {
            return None;
        }
        let (verdict, reported) = match host::now_nanos() {
            Ok(now) => local::decide_each(&SharedData, plans, now),
            Err(status) => {
                log::error!("ratelimit: the host has no clock: {status:?}");
                let allowed = plans.iter().all(|p| p.config.on_contention == OnContention::Allow);
                (local::Verdict { allowed, errors: 1, ..local::Verdict::default() }, 0)
            }
        };
        self.metrics.contention.add(u64::from(verdict.contention));
        self.metrics.errors.add(u64::from(verdict.errors));
        self.metrics.evictions.add(u64::from(verdict.evictions));
        let config = plans.get(reported).or(plans.first()).map(|p| p.config)?;
        if !verdict.allowed {
            let body = headers::LOCAL_DENIED_BODY;
            return Some(self.deny(config.status, body, headers::denial_headers(verdict.report.as_ref())));
        }
        if let (XRateLimitHeaders::DraftVersion03, Some(report)) =
            (config.enable_x_ratelimit_headers, verdict.report)
        {
            self.response_headers.extend(headers::limit_headers(&report));
        }
        None
    }

    /// Asks each Rate Limit Service (one call per distinct `global` block, with the
    /// descriptors of every configuration using it); the request waits for all answers.
    fn global(&mut self, calls: Vec<(Settings, Vec<Descriptor>)>) -> Action {
        for (settings, descriptors) in calls {
            let Some(global) = &settings.global else { continue };
            let message = rls::encode_request(&global.domain, &descriptors);
            let timeout = StdDuration::from_millis(global.timeout.as_millis_ceil());
            let cluster = global.cluster.clone();
            match self.dispatch_grpc_call(
                &cluster,
                rls::SERVICE,
                rls::METHOD,
                Vec::new(),
                Some(&message),
                timeout,
            ) {
                Ok(token) => self.pending.push((token, settings)),
                Err(status) => {
                    log::error!(
                        "ratelimit: cannot call the rate limit service on cluster {cluster}: {status:?}"
                    );
                    if let Some(denied) = self.service_failed(&settings) {
                        return denied;
                    }
                }
            }
        }
        if self.pending.is_empty() {
            self.metrics.allowed.inc();
            return Action::Continue;
        }
        Action::Pause
    }

    /// An RLS call failed: `failure_mode_deny` decides; `Some` when the request was answered.
    fn service_failed(&mut self, settings: &Settings) -> Option<Action> {
        self.metrics.errors.inc();
        let global = settings.global.as_ref().filter(|g| g.failure_mode_deny)?;
        self.metrics.denied.inc();
        self.replied = true;
        self.pending.clear();
        Some(reply(global.status_on_error, b"", &[]))
    }

    fn deny(&mut self, status: u32, body: &[u8], headers: Vec<Header>) -> Action {
        self.metrics.denied.inc();
        self.replied = true;
        self.pending.clear();
        reply(status, body, &headers::borrowed(&headers))
    }

    /// Applies one service's answer; `Some` when the request was answered (denied).
    fn answer(&mut self, settings: &Settings, status_code: u32, size: usize) -> Option<Action> {
        if status_code != 0 {
            log::warn!("ratelimit: the rate limit service failed with gRPC status {status_code}");
            return self.service_failed(settings);
        }
        let bytes = match host::buffer(weir_sdk::BufferType::GrpcReceiveBuffer, 0, size) {
            Ok(bytes) => bytes.unwrap_or_default().0,
            Err(status) => {
                log::error!("ratelimit: cannot read the rate limit service's answer: {status:?}");
                return self.service_failed(settings);
            }
        };
        match rls::decode_response(&bytes) {
            Ok(Decision::Allow(answer)) => {
                for (name, value) in &answer.request_headers {
                    if let Err(status) = host::set_header(MapType::HttpRequestHeaders, name, value) {
                        log::warn!("ratelimit: cannot set request header {name}: {status:?}");
                    }
                }
                self.response_headers.extend(answer.response_headers);
                if settings.enable_x_ratelimit_headers == XRateLimitHeaders::DraftVersion03 {
                    self.response_headers.extend(answer.limit_headers);
                }
                None
            }
            Ok(Decision::Deny(mut answer)) => {
                // As Envoy's `ratelimit` filter: the service's headers, `x-envoy-ratelimited`,
                // and the limit headers only when enabled.
                answer.response_headers.push(headers::ratelimited());
                if settings.enable_x_ratelimit_headers == XRateLimitHeaders::DraftVersion03 {
                    answer.response_headers.extend(answer.limit_headers);
                }
                Some(self.deny(settings.status, &answer.body, answer.response_headers))
            }
            Ok(Decision::Unknown(code)) => {
                log::warn!("ratelimit: the rate limit service answered overall_code {code}");
                self.service_failed(settings)
            }
            Err(e) => {
                log::error!("ratelimit: undecodable answer from the rate limit service: {e}");
                self.service_failed(settings)
            }
        }
    }
}

impl Context for RateLimitHttp {
    fn on_grpc_call_response(&mut self, token_id: u32, status_code: u32, response_size: usize) {
        let Some(at) = self.pending.iter().position(|(token, _)| *token == token_id) else { return };
        let (_, settings) = self.pending.swap_remove(at);
        if self.answer(&settings, status_code, response_size).is_some() || !self.pending.is_empty() {
            return;
        }
        self.metrics.allowed.inc();
        if let Err(status) = weir_sdk::host::continue_stream(weir_sdk::StreamType::Request) {
            log::error!("ratelimit: cannot resume the request: {status:?}");
        }
    }
}

impl HttpContext for RateLimitHttp {
    /// Every configuration the path's readings select is charged (see `weir_sdk::rules`): a
    /// path spelt another way cannot escape a rule's limit. Local buckets first; a denial
    /// there ends the request before any service is asked.
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let rules = self.rules.clone();
        let selected = rules.select_each_current();
        let mut plans: Vec<Plan<'_>> = Vec::new();
        let mut calls: Vec<(Settings, Vec<Descriptor>)> = Vec::new();
        for settings in selected {
            let descriptors =
                actions::descriptors(&settings.rate_limits, &settings.consumer_header, &HostRequest);
            match settings.mode {
                Mode::Local => {
                    plans.push(Plan { config: settings, buckets: local::buckets(settings, &descriptors) })
                }
                Mode::Global if descriptors.is_empty() => {}
                Mode::Global => match calls.iter_mut().find(|(s, _)| s.global == settings.global) {
                    Some((_, merged)) => merged
                        .extend(descriptors.into_iter().filter(|d| !merged.contains(d)).collect::<Vec<_>>()),
                    None => calls.push((settings.clone(), descriptors)),
                },
            }
        }
        if let Some(denied) = self.local(&plans) {
            return denied;
        }
        self.global(calls)
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        if self.replied {
            return Action::Continue;
        }
        for (name, value) in std::mem::take(&mut self.response_headers) {
            if let Err(status) = host::set_header(MapType::HttpResponseHeaders, &name, &value) {
                log::warn!("ratelimit: cannot set response header {name}: {status:?}");
            }
        }
        Action::Continue
    }
}
