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
use crate::local;
use crate::rls::{self, Decision};
use crate::root::Metrics;
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
    /// The configuration chosen for this request.
    settings: Option<Settings>,
    /// The RLS call in flight.
    pending: Option<u32>,
    /// Headers for the upstream response.
    response_headers: Vec<Header>,
    /// This filter answered the request itself (its reply passes through
    /// `on_http_response_headers` too, and must be left alone).
    replied: bool,
}

impl RateLimitHttp {
    /// A context for one request.
    pub fn new(rules: Rc<Rules<Settings>>, metrics: Metrics) -> RateLimitHttp {
        RateLimitHttp {
            rules,
            metrics,
            settings: None,
            pending: None,
            response_headers: Vec::new(),
            replied: false,
        }
    }

    fn local(&mut self, settings: &Settings, descriptors: &[Descriptor]) -> Action {
        let buckets = local::buckets(settings, descriptors);
        if buckets.is_empty() {
            self.metrics.allowed.inc();
            return Action::Continue;
        }
        let verdict = match host::now_nanos() {
            Ok(now) => local::decide(&SharedData, settings, &buckets, now),
            Err(status) => {
                log::error!("ratelimit: the host has no clock: {status:?}");
                let allowed = settings.on_contention == OnContention::Allow;
                local::Verdict { allowed, errors: 1, ..local::Verdict::default() }
            }
        };
        self.metrics.contention.add(u64::from(verdict.contention));
        self.metrics.errors.add(u64::from(verdict.errors));
        self.metrics.evictions.add(u64::from(verdict.evictions));
        if !verdict.allowed {
            return self.deny(
                settings.status,
                headers::LOCAL_DENIED_BODY,
                verdict.report.as_ref(),
                Vec::new(),
            );
        }
        self.metrics.allowed.inc();
        if let (XRateLimitHeaders::DraftVersion03, Some(report)) =
            (settings.enable_x_ratelimit_headers, verdict.report)
        {
            self.response_headers.extend(headers::limit_headers(&report));
        }
        Action::Continue
    }

    fn global(&mut self, settings: &Settings, descriptors: &[Descriptor]) -> Action {
        let Some(global) = &settings.global else { return Action::Continue };
        if descriptors.is_empty() {
            self.metrics.allowed.inc();
            return Action::Continue;
        }
        let message = rls::encode_request(&global.domain, descriptors);
        let timeout = StdDuration::from_millis(global.timeout.as_millis_ceil());
        match self.dispatch_grpc_call(
            &global.cluster,
            rls::SERVICE,
            rls::METHOD,
            Vec::new(),
            Some(&message),
            timeout,
        ) {
            Ok(token) => {
                self.pending = Some(token);
                Action::Pause
            }
            Err(status) => {
                log::error!(
                    "ratelimit: cannot call the rate limit service on cluster {}: {status:?}",
                    global.cluster
                );
                self.service_failed(settings)
            }
        }
    }

    /// The RLS failed: `failure_mode_deny` decides.
    fn service_failed(&mut self, settings: &Settings) -> Action {
        self.metrics.errors.inc();
        match &settings.global {
            Some(global) if global.failure_mode_deny => {
                self.metrics.denied.inc();
                self.replied = true;
                reply(global.status_on_error, b"", &[])
            }
            _ => {
                self.metrics.allowed.inc();
                Action::Continue
            }
        }
    }

    fn deny(
        &mut self,
        status: u32,
        body: &[u8],
        report: Option<&local::Report>,
        mut extra: Vec<Header>,
    ) -> Action {
        self.metrics.denied.inc();
        self.replied = true;
        extra.extend(headers::denial_headers(report));
        reply(status, body, &headers::borrowed(&extra))
    }

    /// Applies the service's answer; `Continue` means let the request go on.
    fn answer(&mut self, settings: &Settings, status_code: u32, size: usize) -> Action {
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
                if let (XRateLimitHeaders::DraftVersion03, Some(report)) =
                    (settings.enable_x_ratelimit_headers, answer.report)
                {
                    self.response_headers.extend(headers::limit_headers(&report));
                }
                self.metrics.allowed.inc();
                Action::Continue
            }
            Ok(Decision::Deny(answer)) => {
                self.deny(settings.status, &answer.body, answer.report.as_ref(), answer.response_headers)
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
        if self.pending != Some(token_id) {
            return;
        }
        self.pending = None;
        let Some(settings) = self.settings.clone() else { return };
        if self.answer(&settings, status_code, response_size) == Action::Continue
            && let Err(status) = weir_sdk::host::continue_stream(weir_sdk::StreamType::Request)
        {
            log::error!("ratelimit: cannot resume the request: {status:?}");
        }
    }
}

impl HttpContext for RateLimitHttp {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let settings = self.rules.select_current().clone();
        self.settings = Some(settings.clone());
        let descriptors =
            actions::descriptors(&settings.rate_limits, &settings.consumer_header, &HostRequest);
        match settings.mode {
            Mode::Local => self.local(&settings, &descriptors),
            Mode::Global => self.global(&settings, &descriptors),
        }
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
