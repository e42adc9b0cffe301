//! One request: the preflight answer, or the headers an allowed origin's response gets.

use std::rc::Rc;

use weir_sdk::prelude::*;

use crate::policy::Policies;

/// The stream context.
pub struct Cors {
    policies: Rc<Policies>,
    /// The route and, when allowed, the origin of a CORS request (one with an `Origin`, on a
    /// route with a policy).
    cors: Option<(String, Option<String>)>,
}

impl Cors {
    /// A stream under `policies`.
    pub fn new(policies: Rc<Policies>) -> Cors {
        Cors { policies, cors: None }
    }
}

impl Context for Cors {}

/// The name of the request's route, when it has a route to a cluster. Envoy's filter does
/// nothing without one (no route matched, or a direct response).
fn route() -> Option<String> {
    host::property(&["xds", "cluster_name"]).ok().flatten()?;
    Some(
        host::property(&["xds", "route_name"])
            .ok()
            .flatten()
            .map(|v| v.to_string_lossy())
            .unwrap_or_default(),
    )
}

impl HttpContext for Cors {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let Some(origin) = self.get_http_request_header("origin").filter(|o| !o.is_empty()) else {
            return Action::Continue;
        };
        let Some(route) = route() else { return Action::Continue };
        let policies = self.policies.clone();
        let Some(policy) = policies.of_route(&route) else { return Action::Continue };
        let allowed = policy.allows(&origin);
        self.cors = Some((route, allowed.then(|| origin.clone())));
        if self.get_http_request_header(":method").as_deref() != Some("OPTIONS") {
            return Action::Continue;
        }
        let Some(method) =
            self.get_http_request_header("access-control-request-method").filter(|m| !m.is_empty())
        else {
            return Action::Continue;
        };
        if !allowed && policy.forward_not_matching_preflights() {
            return Action::Continue;
        }
        let requested_headers =
            self.get_http_request_header("access-control-request-headers").unwrap_or_default();
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if allowed {
            headers.push(("access-control-allow-origin", &origin));
        }
        if policy.allow_credentials() {
            headers.push(("access-control-allow-credentials", "true"));
        }
        match policy.allow_methods() {
            "" => {}
            "*" => headers.push(("access-control-allow-methods", &method)),
            methods => headers.push(("access-control-allow-methods", methods)),
        }
        match policy.allow_headers() {
            "" => {}
            "*" => headers.push(("access-control-allow-headers", &requested_headers)),
            allowed_headers => headers.push(("access-control-allow-headers", allowed_headers)),
        }
        if !policy.max_age().is_empty() {
            headers.push(("access-control-max-age", policy.max_age()));
        }
        let private_network = self.get_http_request_header("access-control-request-private-network");
        if policy.allow_private_network_access() && private_network.as_deref() == Some("true") {
            headers.push(("access-control-allow-private-network", "true"));
        }
        self.send_http_response(200, headers, None);
        Action::Pause
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let Some((route, Some(origin))) = &self.cors else { return Action::Continue };
        let Some(policy) = self.policies.of_route(route) else { return Action::Continue };
        self.set_http_response_header("access-control-allow-origin", Some(origin));
        if policy.allow_credentials() {
            self.set_http_response_header("access-control-allow-credentials", Some("true"));
        }
        if !policy.expose_headers().is_empty() {
            self.set_http_response_header("access-control-expose-headers", Some(policy.expose_headers()));
        }
        Action::Continue
    }
}
