//! One request, several policies: when the readings of a path select several rules (see
//! `weir_sdk::rules`), the request is decided under each and the strictest outcome wins, so no
//! spelling of a path escapes the policy of the resource an upstream may serve for it.
//!
//! Strictness, from most to least: `Deny` > `Wait` > `Allow` > `Anonymous` > `Bypass`. A
//! refusal ends the evaluation (nothing is stricter). Of several `Allow`s the first is kept
//! (its grant names the identity and claim headers forwarded; the same credential gives the
//! same grant under every policy). Of several `Wait`s the policies are gathered into the
//! first, so the request is judged under all of them once the keys arrive.

use crate::authn::{self, Outcome, RemoteKeys, stricter};
use crate::config::Policy;
use crate::credential::RequestView;
use crate::denial;
use crate::settings::Settings;

/// Decides `request` under every policy in `policies` (at least one) and keeps the strictest
/// outcome; `now` is in seconds since the epoch.
pub fn decide_each(
    settings: &Settings,
    policies: &[&Policy],
    request: &RequestView,
    now: u64,
    remote: RemoteKeys<'_>,
) -> Outcome {
    let Some((first, rest)) = policies.split_first() else {
        // Rules always select a policy; were none selected, nothing would allow the request.
        let forbidden = denial::Forbidden::Consumer(None);
        return Outcome::Deny(denial::forbidden(crate::config::Method::ApiKey, &forbidden, ""));
    };
    let mut outcome = authn::decide(settings, first, request, now, remote);
    for policy in rest {
        if matches!(outcome, Outcome::Deny(_)) {
            break;
        }
        outcome = stricter(outcome, authn::decide(settings, policy, request, now, remote));
    }
    outcome
}

#[cfg(test)]
#[path = "strictest_tests.rs"]
mod tests;
