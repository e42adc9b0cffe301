//! The decision for one request under one policy, without host calls: bypass, find the
//! credential, check it, check the policy, refuse a repeated credential. A request that
//! several policies apply to is decided under each ([`crate::strictest`]). The caller
//! applies the [`Outcome`] (see `stream.rs`).
//!
//! JWT checks run cheapest first, as Envoy: structure and header, issuer, `exp`/`nbf`, then
//! the signature, then the audience (so a 403 for the audience only ever answers a token
//! whose signature verified).

use std::rc::Rc;

use crate::config::{Method, Policy};
use crate::credential::{self, Credential, Location, RequestView};
use crate::denial::{self, Denial};
use crate::jwt::admission::Admission;
use crate::jwt::jwks::KeySet;
use crate::jwt::provider::{self, Keys};
use crate::jwt::verified::Verified;
use crate::jwt::{self, JwtError};
use crate::settings::Settings;

/// What to do with a request.
#[derive(Debug)]
pub enum Outcome {
    /// The route or path is not authenticated.
    Bypass,
    /// No credential, and the route allows that.
    Anonymous,
    /// Authenticated and allowed.
    Allow(Grant),
    /// Refused.
    Deny(Denial),
    /// The token's provider has no keys yet: wait for its JWKS.
    Wait(Waiting),
}

/// An allowed request: what to tell the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// How it authenticated.
    pub method: Method,
    /// The consumer's name, when known.
    pub consumer: Option<Rc<str>>,
    /// Claim headers to set, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The credential to remove before forwarding.
    pub strip: Option<Location>,
}

/// A token waiting for its provider's keys.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// Provider index.
    pub provider: usize,
    /// The token.
    pub token: String,
    /// Where it was.
    pub location: Location,
    /// The policies the request is judged under (one, unless its path's readings select
    /// several rules; the token is the same under each): all must allow it.
    pub policies: Vec<Policy>,
    /// Realm for a refusal.
    pub realm: String,
}

/// Looks up a remote provider's keys (`None`: not fetched yet).
pub type RemoteKeys<'a> = &'a dyn Fn(usize) -> Option<Rc<KeySet>>;

/// Decides for `request` under `policy`; `now` is in seconds since the epoch.
pub fn decide(
    settings: &Settings,
    policy: &Policy,
    request: &RequestView,
    now: u64,
    remote: RemoteKeys<'_>,
) -> Outcome {
    if bypassed(policy, request) {
        return Outcome::Bypass;
    }
    let outcome = check(settings, policy, request, now, remote);
    if matches!(&outcome, Outcome::Deny(d) if d.status == 401) {
        return outcome;
    }
    // About to let the request through, wait for keys, or refuse an identity the policy does
    // not allow: only now is the whole header map worth reading (the host gives a filter the
    // first value of a header, an empty one as absent), to answer 401 for a credential the
    // upstream could read another value of.
    let repeated = request.repeated(&settings.credential_headers, &settings.credential_params);
    let repeated = repeated.unwrap_or_else(|status| {
        log::error!("auth: cannot read the request headers: {status:?}");
        Some("(unreadable headers)".into())
    });
    match repeated {
        None => outcome,
        Some(name) => {
            Outcome::Deny(denial::repeated(settings, policy, &name, &denial::realm(settings, request)))
        }
    }
}

/// [`decide`] once bypasses are ruled out: find the credential, check it, check the policy.
fn check(
    settings: &Settings,
    policy: &Policy,
    request: &RequestView,
    now: u64,
    remote: RemoteKeys<'_>,
) -> Outcome {
    // Only a refusal needs the realm: it is worked out then.
    let realm = || denial::realm(settings, request);
    let Some(presented) = credential::extract(request, settings, policy) else {
        if policy.allow_missing {
            return Outcome::Anonymous;
        }
        return Outcome::Deny(denial::missing(settings, policy, &realm()));
    };
    let method = presented.method;
    let consumer = match presented.credential {
        Credential::TooLong if method == Method::Jwt => {
            return Outcome::Deny(denial::bad_token(JwtError::TooLong, &realm()));
        }
        Credential::TooLong => {
            return Outcome::Deny(denial::invalid(method, &realm(), "Credential is too long"));
        }
        Credential::BasicMalformed => {
            return Outcome::Deny(denial::invalid(method, &realm(), "Basic credentials are malformed"));
        }
        Credential::Jwt(token) => {
            let presented = Presented { token, location: presented.location, policy, realm: &realm };
            return jwt_outcome(settings, presented, now, remote);
        }
        Credential::Basic(user, password) => match settings.store.basic(&user, &password) {
            Some(c) => c,
            None => return Outcome::Deny(denial::invalid(method, &realm(), "Invalid username or password")),
        },
        Credential::ApiKey(key) => match settings.store.api_key(&key) {
            Some(c) => c,
            None => return Outcome::Deny(denial::invalid(method, &realm(), "Invalid API key")),
        },
    };
    if let Err(why) = denial::authorize(policy, Some(&consumer.name), &consumer.scopes) {
        return Outcome::Deny(denial::forbidden(method, &why, &realm()));
    }
    Outcome::Allow(Grant {
        method,
        consumer: Some(consumer.name.as_str().into()),
        headers: Vec::new(),
        strip: strip(settings, presented.location),
    })
}

/// Finishes a token that waited: with the keys that arrived (under each of its policies, the
/// strictest outcome winning), or refused when the fetch failed.
pub fn resume(settings: &Settings, waiting: Waiting, now: u64, keys: Option<Rc<KeySet>>) -> Outcome {
    let unavailable = || Outcome::Deny(denial::bad_token(JwtError::JwksUnavailable, &waiting.realm));
    let Some(keys) = keys else { return unavailable() };
    let realm = || waiting.realm.clone();
    let mut outcome: Option<Outcome> = None;
    for policy in &waiting.policies {
        let presented = Presented {
            token: waiting.token.as_bytes().to_vec(),
            location: waiting.location.clone(),
            policy,
            realm: &realm,
        };
        let next = jwt_outcome(settings, presented, now, &|_| Some(keys.clone()));
        let kept = match outcome {
            Some(kept) => stricter(kept, next),
            None => next,
        };
        if matches!(kept, Outcome::Deny(_)) {
            return kept;
        }
        outcome = Some(kept);
    }
    outcome.unwrap_or_else(unavailable)
}

/// How strict an outcome is (higher wins).
fn rank(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Bypass => 0,
        Outcome::Anonymous => 1,
        Outcome::Allow(_) => 2,
        Outcome::Wait(_) => 3,
        Outcome::Deny(_) => 4,
    }
}

/// The stricter of two outcomes for one request (the order is in [`crate::strictest`]): `kept` on a tie, with the policies of two
/// waits gathered.
pub fn stricter(kept: Outcome, next: Outcome) -> Outcome {
    match (kept, next) {
        (Outcome::Wait(mut first), Outcome::Wait(second)) => {
            first.policies.extend(second.policies);
            Outcome::Wait(first)
        }
        (kept, next) => {
            if rank(&next) > rank(&kept) {
                next
            } else {
                kept
            }
        }
    }
}

/// A token as presented with a request.
struct Presented<'a> {
    token: Vec<u8>,
    location: Location,
    policy: &'a Policy,
    /// The realm of a refusal (worked out only for one).
    realm: &'a dyn Fn() -> String,
}

fn jwt_outcome(settings: &Settings, presented: Presented<'_>, now: u64, remote: RemoteKeys<'_>) -> Outcome {
    let deny = |e: JwtError| Outcome::Deny(denial::bad_token(e, &(presented.realm)()));
    let Some(jwt) = &settings.jwt else { return deny(JwtError::UnknownIssuer) };
    let keys_of = |index: usize| match jwt.providers.get(index).map(|p| &p.keys) {
        Some(Keys::Local(keys)) => Some(keys.clone()),
        Some(Keys::Remote(_)) => remote(index),
        None => None,
    };
    // A token seen before whose provider still has the keys it verified against.
    if let Some(hit) = jwt.verified.get(&presented.token)
        && keys_of(hit.provider).is_some_and(|keys| Rc::ptr_eq(&keys, &hit.keys))
    {
        return admit(settings, hit.provider, &hit.admission, &presented, now);
    }
    // Not seen before: now it must be text (invalid UTF-8 is replaced, so it fails parsing).
    let text = weir_sdk::host::text(&presented.token);
    let token = match jwt::parse(&text) {
        Ok(token) => token,
        Err(e) => return deny(e),
    };
    let index = match provider::select(&jwt.providers, &token.claims) {
        Ok(i) => i,
        Err(e) => return deny(e),
    };
    let Some(provider) = jwt.providers.get(index) else { return deny(JwtError::UnknownIssuer) };
    if !provider.algorithms.contains(&token.alg) {
        return deny(JwtError::UnsupportedAlg);
    }
    if let Err(e) = jwt::check_times(&token.claims, now, provider.skew, provider.require_exp) {
        return deny(e);
    }
    let Some(keys) = keys_of(index) else {
        return Outcome::Wait(Waiting {
            provider: index,
            token: text,
            location: presented.location,
            policies: vec![presented.policy.clone()],
            realm: (presented.realm)(),
        });
    };
    if let Err(e) = jwt::verify(&token, &keys) {
        return deny(e);
    }
    let admission = Rc::new(Admission::of(provider, &token));
    let verified = Verified { provider: index, keys, token: Rc::new(token), admission: admission.clone() };
    jwt.verified.insert(text.as_bytes(), verified);
    admit(settings, index, &admission, &presented, now)
}

/// The checks after the signature, made on every request: times, audience, route policy;
/// then what to tell the upstream.
fn admit(
    settings: &Settings,
    index: usize,
    admission: &Admission,
    presented: &Presented<'_>,
    now: u64,
) -> Outcome {
    let realm = presented.realm;
    let Some(provider) = settings.jwt.as_ref().and_then(|jwt| jwt.providers.get(index)) else {
        return Outcome::Deny(denial::bad_token(JwtError::UnknownIssuer, &realm()));
    };
    if let Err(e) = admission.check(provider, now) {
        return Outcome::Deny(denial::bad_token(e, &realm()));
    }
    let consumer = admission.consumer.as_deref();
    if let Err(why) = denial::authorize(presented.policy, consumer, &admission.scopes) {
        return Outcome::Deny(denial::forbidden(Method::Jwt, &why, &realm()));
    }
    Outcome::Allow(Grant {
        method: Method::Jwt,
        consumer: admission.consumer.clone(),
        headers: admission.headers.clone(),
        strip: strip(settings, presented.location.clone()),
    })
}

fn strip(settings: &Settings, location: Location) -> Option<Location> {
    (!settings.forward_credentials).then_some(location)
}

/// Whether the request skips authentication: the route says so, its path is listed, or it is
/// a CORS preflight and those pass.
///
/// A path is listed only when **every** reading of it is ([`RequestView::readings`]: the path
/// as Envoy normalizes it, and as the most lenient server decodes it), each matching an entry
/// exactly or, for an entry ending in `*`, by prefix. So `/public/../admin`,
/// `/public/%2e%2e/admin`, `/public/..;/admin` or `/public/%252e%252e/admin` never pass as
/// `/public/*`: some server reads each of them as a path outside `/public/`.
pub fn bypassed(policy: &Policy, request: &RequestView) -> bool {
    if policy.bypass {
        return true;
    }
    if policy.bypass_cors_preflight
        && request.method() == "OPTIONS"
        && request.header("origin").is_some()
        && request.header("access-control-request-method").is_some()
    {
        return true;
    }
    if policy.bypass_paths.is_empty() {
        return false;
    }
    request.readings().iter().all(|reading| {
        policy.bypass_paths.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => reading.starts_with(prefix),
            None => reading == p,
        })
    })
}

#[cfg(test)]
#[path = "authn_tests.rs"]
mod tests;
