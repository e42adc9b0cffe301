//! What a verified token claims under its provider, read once: its validity window, whether
//! its audience is accepted, its consumer, its scopes and the headers it gives the upstream.
//! Kept with the verified token (see [`crate::jwt::verified`]), so a repeated token costs no JSON
//! lookups; the window is still checked against the clock on every request.

use std::rc::Rc;

use crate::jwt::claims;
use crate::jwt::provider::Provider;
use crate::jwt::{self, JwtError, Token, Window};

/// A token's claims as the per-request checks need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// `exp` / `nbf` (`Err`: a time claim is not a number).
    window: Result<Window, JwtError>,
    /// Whether the provider accepts the token's audience.
    audience: Result<(), JwtError>,
    /// The consumer claim as header text.
    pub consumer: Option<Rc<str>>,
    /// `scope` / `scp`.
    pub scopes: Vec<String>,
    /// `claim_to_headers` and the payload header, in that order.
    pub headers: Vec<(String, String)>,
}

impl Admission {
    /// Reads `token`'s claims as `provider` uses them.
    pub fn of(provider: &Provider, token: &Token) -> Admission {
        let text = |name: &str| claims::get(&token.claims, name).and_then(claims::header_text);
        let mut headers: Vec<(String, String)> = provider
            .claim_to_headers
            .iter()
            .filter_map(|c| Some((c.header_name.clone(), text(&c.claim_name)?)))
            .collect();
        if let Some(name) = &provider.payload_header {
            headers.push((name.clone(), token.payload_b64.clone()));
        }
        Admission {
            window: jwt::window(&token.claims),
            audience: jwt::check_audience(&token.claims, &provider.audiences),
            consumer: text(&provider.consumer_claim).map(Rc::from),
            scopes: claims::scopes(&token.claims),
            headers,
        }
    }

    /// The checks made on every request, in Envoy's order: `exp` / `nbf` at `now` (seconds
    /// since the epoch), then the audience.
    pub fn check(&self, provider: &Provider, now: u64) -> Result<(), JwtError> {
        self.window?.check(now, provider.skew, provider.require_exp)?;
        self.audience
    }
}

#[cfg(test)]
impl Admission {
    /// An admission with no claims that every check passes.
    pub(crate) fn unchecked() -> Admission {
        Admission {
            window: Ok(Window { exp: None, nbf: None }),
            audience: Ok(()),
            consumer: None,
            scopes: Vec::new(),
            headers: Vec::new(),
        }
    }
}
