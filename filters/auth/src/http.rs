//! The HTTP context: reads the request, lets [`authn::decide`] judge it, and carries out the
//! outcome with Result-returning hostcalls. [`apply`] is also used by the root context for
//! requests that waited for a JWKS (with the effective context set to the waiting stream).

use std::rc::Rc;

use weir_sdk::host;
use weir_sdk::prelude::*;
use weir_sdk::rules::RequestKey;

use crate::authn::{self, Grant, Outcome};
use crate::config::Policy;
use crate::credential::{self, Location, RequestView};
use crate::denial::{self, Denial};
use crate::jwt::JwtError;
use crate::settings::Settings;
use crate::shared::Shared;
use crate::strictest;

const REQUEST: MapType = MapType::HttpRequestHeaders;

/// One request's context.
pub struct Stream {
    id: u32,
    shared: Rc<Shared>,
    waiting: bool,
}

impl Stream {
    /// A context for request `id`.
    pub fn new(id: u32, shared: Rc<Shared>) -> Stream {
        Stream { id, shared, waiting: false }
    }

    fn judge(&mut self) -> Result<Action, String> {
        let shared = self.shared.clone();
        let settings = &shared.settings;
        let request = RequestView::from_host();
        let now = now_secs()?;
        let remote = |p| shared.cache.borrow().keys(p);
        let outcome = if settings.rules.is_empty() {
            authn::decide(settings, &settings.rules.default_config().policy, &request, now, &remote)
        } else {
            let route = host::property(&["xds", "route_name"]).ok().flatten().map(|v| v.to_string_lossy());
            let key = RequestKey {
                route: route.unwrap_or_default(),
                authority: request.authority().to_string(),
                path: request.path().to_string(),
            };
            // Every rule some reading of the path selects applies (see `strictest`).
            let policies: Vec<&Policy> =
                settings.rules.select_each(&key).into_iter().map(|r| &r.policy).collect();
            strictest::decide_each(settings, &policies, &request, now, &remote)
        };
        let Outcome::Wait(waiting) = outcome else { return Ok(apply(&shared, outcome, false)) };
        let realm = waiting.realm.clone();
        let parked = shared.cache.borrow_mut().wait(self.id, waiting);
        match parked {
            Ok(()) => {
                self.waiting = true;
                shared.metrics.waited.inc();
                log::debug!("auth: request {} waits for its provider's JWKS", self.id);
                Ok(Action::Pause)
            }
            Err(_) => {
                Ok(apply(&shared, Outcome::Deny(denial::bad_token(JwtError::JwksUnavailable, &realm)), false))
            }
        }
    }
}

impl Context for Stream {}

/// A request that went away while waiting for a JWKS leaves the wait list when the host
/// deletes its context (the filter needs no `on_done` callback for it).
impl Drop for Stream {
    fn drop(&mut self) {
        if self.waiting
            && let Ok(mut cache) = self.shared.cache.try_borrow_mut()
        {
            cache.forget(self.id);
        }
    }
}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        match self.judge() {
            Ok(action) => action,
            Err(e) => fail(&self.shared, &e),
        }
    }
}

/// Seconds since the epoch, from the host clock.
pub fn now_secs() -> Result<u64, String> {
    host::now_nanos().map(|n| n / 1_000_000_000).map_err(|s| format!("reading the clock: {s:?}"))
}

/// Carries out an outcome for the effective context. `resumed`: the request was paused
/// waiting for a JWKS, so an allowed one must be continued explicitly.
pub fn apply(shared: &Shared, outcome: Outcome, resumed: bool) -> Action {
    let metrics = &shared.metrics;
    let forwarded = match &outcome {
        Outcome::Bypass | Outcome::Anonymous => Some(None),
        Outcome::Allow(grant) => Some(Some(grant)),
        Outcome::Deny(_) | Outcome::Wait(_) => None,
    };
    if let Some(grant) = forwarded
        && let Err(e) = clear_identity(&shared.settings, grant)
    {
        return fail(shared, &e);
    }
    match outcome {
        Outcome::Bypass => metrics.bypassed.inc(),
        Outcome::Anonymous => metrics.anonymous.inc(),
        Outcome::Allow(grant) => {
            if let Err(e) = forward(shared, &grant) {
                return fail(shared, &e);
            }
            metrics.allowed.inc();
            log::debug!(
                "auth: allowed {} ({})",
                grant.consumer.as_deref().unwrap_or("-"),
                grant.method.name()
            );
        }
        Outcome::Deny(denial) => return deny(shared, &denial),
        Outcome::Wait(_) => return fail(shared, "a resumed request cannot wait again"),
    }
    if resumed && let Err(status) = weir_sdk::host::continue_stream(weir_sdk::StreamType::Request) {
        return fail(shared, &format!("continuing the request: {status:?}"));
    }
    Action::Continue
}

/// Removes the identity headers the client sent, but for those `grant` sets (setting one
/// replaces what the client sent anyway): the upstream sees only identities this filter
/// vouches for. Identity headers are never credential sources (the configuration is refused
/// otherwise), so removing them after the credential was read changes nothing it saw.
fn clear_identity(settings: &Settings, grant: Option<&Grant>) -> Result<(), String> {
    for name in &settings.identity_headers {
        let set = grant.is_some_and(|g| {
            (g.consumer.is_some() && settings.consumer_header.as_ref() == Some(name))
                || g.headers.iter().any(|(header, _)| header == name)
        });
        if !set {
            host::remove_header(REQUEST, name).map_err(|s| format!("removing {name}: {s:?}"))?;
        }
    }
    Ok(())
}

/// Removes the credential and sets the identity headers.
fn forward(shared: &Shared, grant: &Grant) -> Result<(), String> {
    match &grant.strip {
        Some(Location::Header(name)) => {
            host::remove_header(REQUEST, name).map_err(|s| format!("removing {name}: {s:?}"))?
        }
        Some(Location::Query(param)) => {
            let path = host::header(REQUEST, ":path").map_err(|s| format!("reading :path: {s:?}"))?;
            let path = path.map(|p| p.to_string_lossy()).unwrap_or_default();
            let stripped = credential::strip_query_param(&path, param);
            if stripped != path {
                host::set_header(REQUEST, ":path", stripped.as_bytes())
                    .map_err(|s| format!("setting :path: {s:?}"))?;
            }
        }
        None => {}
    }
    if let (Some(name), Some(consumer)) = (&shared.settings.consumer_header, &grant.consumer) {
        host::set_header(REQUEST, name, consumer.as_bytes()).map_err(|s| format!("setting {name}: {s:?}"))?;
    }
    for (name, value) in &grant.headers {
        host::set_header(REQUEST, name, value.as_bytes()).map_err(|s| format!("setting {name}: {s:?}"))?;
    }
    Ok(())
}

fn deny(shared: &Shared, denial: &Denial) -> Action {
    let metrics = &shared.metrics;
    metrics.denied.inc();
    let details = if denial.status == 403 {
        metrics.forbidden.inc();
        "auth_forbidden"
    } else {
        metrics.unauthorized.inc();
        "auth_unauthorized"
    };
    log::info!("auth: {} {}", denial.status, denial.reason);
    let headers: Vec<(&str, &[u8])> =
        denial.challenges.iter().map(|c| ("www-authenticate", c.as_bytes())).collect();
    if let Err(status) = host::send_local_response(denial.status, details, denial.body.as_bytes(), &headers) {
        metrics.errors.inc();
        log::error!("auth: the host refused the {} reply: {status:?}", denial.status);
    }
    Action::Pause
}

/// A host call failed: fail closed with 503 (never forward a request we could not judge).
fn fail(shared: &Shared, error: &str) -> Action {
    shared.metrics.errors.inc();
    log::error!("auth: {error}; answering 503");
    let body = b"Authentication is unavailable";
    if let Err(status) = host::send_local_response(503, "auth_error", body, &[]) {
        log::error!("auth: the host refused the 503 reply: {status:?}");
    }
    Action::Pause
}
