//! Refusals: status, body and `WWW-Authenticate` challenges, following Envoy's `jwt_authn`
//! and RFC 6750 / RFC 7617.
//!
//! - no credential: 401, one challenge per method the route accepts (`Bearer realm="R"`,
//!   `Basic realm="R"`, `ApiKey realm="R"`), without an `error` (RFC 6750 §3.1);
//! - invalid credential: 401 with the challenge of its method; a bearer token's carries
//!   `error="invalid_token"`;
//! - a credential header or parameter given more than once: 401, one challenge per method
//!   the route accepts, a bearer one with `error="invalid_request"` (RFC 6750 §3.1: the
//!   request "repeats the same parameter");
//! - token for another audience: 403 with `Bearer realm="R", error="invalid_token"` (Envoy);
//! - identity not allowed on the route: 403; a token lacking a scope gets `Bearer realm="R",
//!   error="insufficient_scope", scope="..."`, other refusals no challenge.

use crate::config::{Method, Policy};
use crate::credential::RequestView;
use crate::jwt::JwtError;
use crate::settings::Settings;

/// A refusal, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// 401 or 403.
    pub status: u32,
    /// Reply body (plain text).
    pub body: String,
    /// `WWW-Authenticate` values, one header each.
    pub challenges: Vec<String>,
    /// What to log (never a secret).
    pub reason: String,
}

/// Why an authenticated identity is not allowed on a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forbidden {
    /// Not in `policy.consumers`.
    Consumer(Option<String>),
    /// Lacks these of `policy.scopes`.
    Scopes(Vec<String>),
}

/// The realm for a request: the configured one, else the request's host (without port),
/// with characters that cannot appear in a quoted string removed.
pub fn realm(settings: &Settings, request: &RequestView) -> String {
    if let Some(realm) = &settings.realm {
        return realm.clone();
    }
    let authority = request.authority();
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    host.chars().filter(|c| *c != '"' && *c != '\\' && !c.is_control()).collect()
}

fn challenge(method: Method, realm: &str) -> String {
    match method {
        Method::Jwt => format!("Bearer realm=\"{realm}\""),
        Method::Basic => format!("Basic realm=\"{realm}\""),
        Method::ApiKey => format!("ApiKey realm=\"{realm}\""),
    }
}

/// The methods configured and accepted by `policy`, in challenge order.
fn accepted(settings: &Settings, policy: &Policy) -> Vec<Method> {
    [Method::Jwt, Method::Basic, Method::ApiKey]
        .into_iter()
        .filter(|m| settings.configured(*m) && policy.accepts(*m))
        .collect()
}

/// No credential among the methods the route accepts.
pub fn missing(settings: &Settings, policy: &Policy, realm: &str) -> Denial {
    let methods = accepted(settings, policy);
    let body = if methods == [Method::Jwt] { "Jwt is missing" } else { "Credentials are missing" };
    Denial {
        status: 401,
        body: body.into(),
        challenges: methods.iter().map(|m| challenge(*m, realm)).collect(),
        reason: "no credential".into(),
    }
}

/// A credential source (`source`: a header or query parameter name) the request gives more
/// than once: the filter would check one value while the upstream may read another.
pub fn repeated(settings: &Settings, policy: &Policy, source: &str, realm: &str) -> Denial {
    let challenges = accepted(settings, policy)
        .into_iter()
        .map(|m| match m {
            Method::Jwt => format!("{}, error=\"invalid_request\"", challenge(m, realm)),
            _ => challenge(m, realm),
        })
        .collect();
    Denial {
        status: 401,
        body: "Credential is repeated".into(),
        challenges,
        reason: format!("credential source `{source}` given more than once"),
    }
}

/// An API key or Basic credential that does not check out (or is too long).
pub fn invalid(method: Method, realm: &str, body: &str) -> Denial {
    Denial {
        status: 401,
        body: body.into(),
        challenges: vec![challenge(method, realm)],
        reason: format!("{}: {body}", method.name()),
    }
}

/// A token refused (401, or 403 for its audience).
pub fn bad_token(error: JwtError, realm: &str) -> Denial {
    Denial {
        status: error.status(),
        body: error.message().into(),
        challenges: vec![format!("{}, error=\"invalid_token\"", challenge(Method::Jwt, realm))],
        reason: format!("jwt: {}", error.message()),
    }
}

/// An identity the route does not allow (403).
pub fn forbidden(method: Method, why: &Forbidden, realm: &str) -> Denial {
    let challenges = match why {
        Forbidden::Scopes(missing) if method == Method::Jwt => {
            let scope: String = missing.join(" ").chars().filter(|c| *c != '"' && *c != '\\').collect();
            vec![format!(
                "{}, error=\"insufficient_scope\", scope=\"{scope}\"",
                challenge(Method::Jwt, realm)
            )]
        }
        _ => Vec::new(),
    };
    let reason = match why {
        Forbidden::Consumer(Some(c)) => format!("consumer `{c}` not allowed on this route"),
        Forbidden::Consumer(None) => "no consumer name, and the route allows only named consumers".into(),
        Forbidden::Scopes(missing) => format!("missing scopes: {}", missing.join(" ")),
    };
    Denial { status: 403, body: "Access denied".into(), challenges, reason }
}

/// Checks the route's consumer and scope lists.
pub fn authorize(policy: &Policy, consumer: Option<&str>, scopes: &[String]) -> Result<(), Forbidden> {
    if !policy.consumers.is_empty() && !consumer.is_some_and(|c| policy.consumers.iter().any(|a| a == c)) {
        return Err(Forbidden::Consumer(consumer.map(str::to_string)));
    }
    let lacking: Vec<String> = policy.scopes.iter().filter(|s| !scopes.contains(s)).cloned().collect();
    if lacking.is_empty() { Ok(()) } else { Err(Forbidden::Scopes(lacking)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(consumers: &[&str], scopes: &[&str]) -> Policy {
        Policy {
            consumers: consumers.iter().map(|s| s.to_string()).collect(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Policy::default()
        }
    }

    #[test]
    fn authorization() {
        let scopes = vec!["read".to_string(), "write".to_string()];
        assert_eq!(authorize(&policy(&[], &[]), None, &[]), Ok(()));
        assert_eq!(authorize(&policy(&["a"], &[]), Some("a"), &[]), Ok(()));
        assert_eq!(
            authorize(&policy(&["a"], &[]), Some("b"), &[]),
            Err(Forbidden::Consumer(Some("b".into())))
        );
        assert_eq!(authorize(&policy(&["a"], &[]), None, &[]), Err(Forbidden::Consumer(None)));
        assert_eq!(authorize(&policy(&[], &["read"]), None, &scopes), Ok(()));
        assert_eq!(
            authorize(&policy(&[], &["read", "admin"]), None, &scopes),
            Err(Forbidden::Scopes(vec!["admin".into()]))
        );
    }

    #[test]
    fn challenges() {
        let d = bad_token(JwtError::Expired, "api");
        assert_eq!((d.status, d.body.as_str()), (401, "Jwt is expired"));
        assert_eq!(d.challenges, ["Bearer realm=\"api\", error=\"invalid_token\""]);
        assert_eq!(bad_token(JwtError::AudienceNotAllowed, "api").status, 403);
        let d = forbidden(Method::Jwt, &Forbidden::Scopes(vec!["a".into(), "b".into()]), "api");
        assert_eq!(d.challenges, ["Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"a b\""]);
        assert!(forbidden(Method::Basic, &Forbidden::Scopes(vec!["a".into()]), "api").challenges.is_empty());
        assert_eq!(invalid(Method::Basic, "r", "x").challenges, ["Basic realm=\"r\""]);
    }
}
