//! JWS compact tokens: parsing, time and audience checks, signature verification. Pure
//! functions (the caller passes the time), with Envoy `jwt_authn`'s failure messages.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value as Json;

use crate::jwt::claims::{self, Claims};
use crate::jwt::jwks::{Alg, KeySet};

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    /// Longer than `max_credential_bytes`.
    TooLong,
    /// Not three dot-separated parts.
    BadFormat,
    /// Header is not base64url.
    HeaderBadBase64,
    /// Header is not a JSON object with a string `alg`.
    HeaderBadJson,
    /// `alg` is `none`, unknown, or not accepted by the provider.
    UnsupportedAlg,
    /// The header has `crit` extensions (none are understood).
    UnsupportedCrit,
    /// Payload is not base64url.
    PayloadBadBase64,
    /// Payload is not a JSON object.
    PayloadBadJson,
    /// Signature is not base64url.
    SignatureBadBase64,
    /// No provider for the token's `iss`.
    UnknownIssuer,
    /// `exp` has passed (beyond the clock skew).
    Expired,
    /// `nbf` is still ahead (beyond the clock skew).
    NotYetValid,
    /// No `exp` while the provider requires one.
    MissingExpiration,
    /// `exp` or `nbf` is not a number.
    BadTimeClaim,
    /// None of the token's audiences is accepted (403).
    AudienceNotAllowed,
    /// No key has the token's `kid` and `alg`.
    NoMatchingKey,
    /// The signature does not verify.
    VerificationFails,
    /// The provider's remote JWKS could not be fetched.
    JwksUnavailable,
}

impl JwtError {
    /// The reply body (Envoy's wording where Envoy has the case).
    pub fn message(self) -> &'static str {
        match self {
            JwtError::TooLong => "Jwt is too long",
            JwtError::BadFormat => {
                "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"
            }
            JwtError::HeaderBadBase64 => "Jwt header is an invalid Base64url encoded",
            JwtError::HeaderBadJson => "Jwt header is an invalid JSON",
            JwtError::UnsupportedAlg => "Jwt header [alg] is not supported",
            JwtError::UnsupportedCrit => "Jwt header [crit] is not supported",
            JwtError::PayloadBadBase64 => "Jwt payload is an invalid Base64url encoded",
            JwtError::PayloadBadJson => "Jwt payload is an invalid JSON",
            JwtError::SignatureBadBase64 => "Jwt signature is an invalid Base64url encoded",
            JwtError::UnknownIssuer => "Jwt issuer is not configured",
            JwtError::Expired => "Jwt is expired",
            JwtError::NotYetValid => "Jwt not yet valid",
            JwtError::MissingExpiration => "Jwt has no expiration",
            JwtError::BadTimeClaim => "Jwt [exp] or [nbf] is not a number",
            JwtError::AudienceNotAllowed => "Audiences in Jwt are not allowed",
            JwtError::NoMatchingKey => "Jwks doesn't have key to match kid or alg from Jwt",
            JwtError::VerificationFails => "Jwt verification fails",
            JwtError::JwksUnavailable => "Jwks remote fetch is failed",
        }
    }

    /// HTTP status: 403 for a disallowed audience (as Envoy), else 401.
    pub fn status(self) -> u32 {
        if self == JwtError::AudienceNotAllowed { 403 } else { 401 }
    }
}

/// A parsed, not yet verified token.
#[derive(Debug, Clone)]
pub struct Token {
    /// Header `alg`.
    pub alg: Alg,
    /// Header `kid`.
    pub kid: Option<String>,
    /// The payload.
    pub claims: Claims,
    /// The payload as sent (base64url), for `forward_payload_header`.
    pub payload_b64: String,
    signing_input: String,
    signature: Vec<u8>,
}

/// Parses a compact JWS. `alg` must be one we support; `none` never is.
pub fn parse(token: &str) -> Result<Token, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::BadFormat);
    };
    let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| JwtError::HeaderBadBase64)?;
    let header: Claims = serde_json::from_slice(&header).map_err(|_| JwtError::HeaderBadJson)?;
    let alg = header.get("alg").and_then(Json::as_str).ok_or(JwtError::HeaderBadJson)?;
    let alg = Alg::parse(alg).ok_or(JwtError::UnsupportedAlg)?;
    if header.contains_key("crit") {
        return Err(JwtError::UnsupportedCrit);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Json::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(JwtError::HeaderBadJson),
    };
    let claims = URL_SAFE_NO_PAD.decode(payload).map_err(|_| JwtError::PayloadBadBase64)?;
    let claims: Claims = serde_json::from_slice(&claims).map_err(|_| JwtError::PayloadBadJson)?;
    let signature_bytes = URL_SAFE_NO_PAD.decode(signature).map_err(|_| JwtError::SignatureBadBase64)?;
    let signing_input_len = token.len() - signature.len() - 1;
    Ok(Token {
        alg,
        kid,
        claims,
        payload_b64: payload.to_string(),
        signing_input: token[..signing_input_len].to_string(),
        signature: signature_bytes,
    })
}

/// A token's `exp` and `nbf` (seconds since the epoch), when present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// `exp`.
    pub exp: Option<u64>,
    /// `nbf`.
    pub nbf: Option<u64>,
}

impl Window {
    /// Whether `now` is inside the window, with `skew` seconds of leeway either side.
    pub fn check(self, now: u64, skew: u64, require_exp: bool) -> Result<(), JwtError> {
        match self.exp {
            Some(exp) if now > exp.saturating_add(skew) => return Err(JwtError::Expired),
            None if require_exp => return Err(JwtError::MissingExpiration),
            _ => {}
        }
        if self.nbf.is_some_and(|nbf| now.saturating_add(skew) < nbf) {
            return Err(JwtError::NotYetValid);
        }
        Ok(())
    }
}

/// The token's validity window; `BadTimeClaim` when `exp` or `nbf` is not a number.
pub fn window(claims: &Claims) -> Result<Window, JwtError> {
    let exp = claims::numeric_date(claims, "exp").map_err(|_| JwtError::BadTimeClaim)?;
    let nbf = claims::numeric_date(claims, "nbf").map_err(|_| JwtError::BadTimeClaim)?;
    Ok(Window { exp, nbf })
}

/// Checks `exp` and `nbf` against `now` (seconds since the epoch) with `skew` seconds of
/// leeway, as Envoy: expired when `now > exp + skew`, early when `now + skew < nbf`.
pub fn check_times(claims: &Claims, now: u64, skew: u64, require_exp: bool) -> Result<(), JwtError> {
    window(claims)?.check(now, skew, require_exp)
}

/// Checks that the token names one of `accepted` (nothing to check when empty).
pub fn check_audience(claims: &Claims, accepted: &[String]) -> Result<(), JwtError> {
    if accepted.is_empty() || claims::audiences(claims).iter().any(|a| accepted.iter().any(|x| x == a)) {
        Ok(())
    } else {
        Err(JwtError::AudienceNotAllowed)
    }
}

/// Verifies the signature with the keys of the token's algorithm, restricted to its `kid`
/// when both the token and the key have one (Envoy tries every key when the token has none).
pub fn verify(token: &Token, keys: &KeySet) -> Result<(), JwtError> {
    let mut candidates = keys.keys.iter().filter(|key| {
        key.alg == token.alg
            && match (&token.kid, &key.kid) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            }
    });
    let mut any = false;
    let verified = candidates.any(|key| {
        any = true;
        key.verify(token.signing_input.as_bytes(), &token.signature)
    });
    match (verified, any) {
        (true, _) => Ok(()),
        (false, true) => Err(JwtError::VerificationFails),
        (false, false) => Err(JwtError::NoMatchingKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Json) -> Claims {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn times_with_skew() {
        let c = claims(json!({"exp": 1000, "nbf": 500}));
        assert_eq!(check_times(&c, 700, 0, false), Ok(()));
        assert_eq!(check_times(&c, 1000, 0, false), Ok(()));
        assert_eq!(check_times(&c, 1001, 0, false), Err(JwtError::Expired));
        assert_eq!(check_times(&c, 1060, 60, false), Ok(()));
        assert_eq!(check_times(&c, 1061, 60, false), Err(JwtError::Expired));
        assert_eq!(check_times(&c, 499, 0, false), Err(JwtError::NotYetValid));
        assert_eq!(check_times(&c, 440, 60, false), Ok(()));
        assert_eq!(check_times(&c, 439, 60, false), Err(JwtError::NotYetValid));
        assert_eq!(check_times(&claims(json!({})), 5, 0, false), Ok(()));
        assert_eq!(check_times(&claims(json!({})), 5, 0, true), Err(JwtError::MissingExpiration));
        assert_eq!(check_times(&claims(json!({"exp": "soon"})), 5, 0, false), Err(JwtError::BadTimeClaim));
        assert_eq!(check_times(&claims(json!({"exp": u64::MAX})), u64::MAX, u64::MAX, false), Ok(()));
    }

    #[test]
    fn audiences() {
        let accepted = vec!["api".to_string(), "web".to_string()];
        assert_eq!(check_audience(&claims(json!({"aud": "web"})), &accepted), Ok(()));
        assert_eq!(check_audience(&claims(json!({"aud": ["x", "api"]})), &accepted), Ok(()));
        assert_eq!(
            check_audience(&claims(json!({"aud": "x"})), &accepted),
            Err(JwtError::AudienceNotAllowed)
        );
        assert_eq!(check_audience(&claims(json!({})), &accepted), Err(JwtError::AudienceNotAllowed));
        assert_eq!(check_audience(&claims(json!({"aud": "x"})), &[]), Ok(()));
    }

    #[test]
    fn structure() {
        assert_eq!(parse("a.b").unwrap_err(), JwtError::BadFormat);
        assert_eq!(parse("a.b.c.d").unwrap_err(), JwtError::BadFormat);
        assert_eq!(parse("!!.e30.").unwrap_err(), JwtError::HeaderBadBase64);
        // {"alg":"none"} / {"alg":"HS256","crit":["x"]} / {"typ":"JWT"} / {"alg":"HS256"}
        assert_eq!(parse("eyJhbGciOiJub25lIn0.e30.").unwrap_err(), JwtError::UnsupportedAlg);
        let crit = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","crit":["exp"]}"#);
        assert_eq!(parse(&format!("{crit}.e30.")).unwrap_err(), JwtError::UnsupportedCrit);
        assert_eq!(parse("eyJ0eXAiOiJKV1QifQ.e30.").unwrap_err(), JwtError::HeaderBadJson);
        assert_eq!(parse("eyJhbGciOiJIUzI1NiJ9.e30=.").unwrap_err(), JwtError::PayloadBadBase64);
        assert_eq!(parse("eyJhbGciOiJIUzI1NiJ9.WzFd.").unwrap_err(), JwtError::PayloadBadJson);
        assert_eq!(parse("eyJhbGciOiJIUzI1NiJ9.e30.a+b").unwrap_err(), JwtError::SignatureBadBase64);
        let ok = parse("eyJhbGciOiJIUzI1NiJ9.e30.AAAA").unwrap();
        assert_eq!(
            (ok.alg, ok.signing_input.as_str(), ok.signature.len()),
            (Alg::Hs256, "eyJhbGciOiJIUzI1NiJ9.e30", 3)
        );
    }
}
