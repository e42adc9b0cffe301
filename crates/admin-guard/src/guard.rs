//! [`Guard::admit`]: the checks every admin request passes before it is routed.

use std::net::SocketAddr;

use http::{Method, StatusCode, header, request};

use super::host::HostPolicy;
use super::token::Token;

/// How a request reached the admin server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The TCP listener.
    Tcp,
    /// The unix socket (mode 0600, peers of another user refused): trusted like a token, and
    /// exempt from the `Host` check.
    Unix,
}

/// What a server needs to build its guard.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// The token state-changing requests must present, if any.
    pub token: Option<Token>,
    /// The TCP listener's bound address (its `Host` values).
    pub local: SocketAddr,
    /// More accepted `Host` values (see [`HostPolicy`]).
    pub allowed_hosts: Vec<String>,
    /// How to enable changes, for the `403` sent when neither a token nor a unix socket is
    /// configured, e.g. "set WEIR_ADMIN_TOKEN or admin.token_file, or use admin.unix_socket".
    pub enable_hint: String,
    /// The `realm` of `WWW-Authenticate` challenges (the server's name).
    pub realm: String,
}

/// The admin request checks of one server.
#[derive(Debug, Clone)]
pub struct Guard {
    token: Option<Token>,
    hosts: HostPolicy,
    enable_hint: String,
    realm: String,
}

/// A refused request: the status and why. `401`s carry a `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `401`, `403`, `413` or `415` (`400` for an unreadable body).
    pub status: StatusCode,
    /// Why, for the reply body and the log (never holds a credential).
    pub message: String,
    /// The `WWW-Authenticate` value to send, for a `401`.
    pub challenge: Option<String>,
}

impl Refusal {
    /// A refusal without a challenge.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal { status, message: message.into(), challenge: None }
    }
}

/// Who sent an admitted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Over the unix socket.
    UnixSocket,
    /// With the right bearer token.
    Token,
    /// Neither: read-only requests only.
    Anonymous,
}

impl Access {
    /// Whether the request may change state or see secrets.
    pub fn is_authenticated(self) -> bool {
        self != Access::Anonymous
    }
}

impl Guard {
    /// A guard.
    pub fn new(config: GuardConfig) -> Guard {
        Guard {
            hosts: HostPolicy::new(config.local, &config.allowed_hosts),
            token: config.token,
            enable_hint: config.enable_hint,
            realm: config.realm,
        }
    }

    /// Whether changes are possible over TCP (a token is configured).
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Checks a request's origin, host and credentials. Requests that change state (any method
    /// but `GET` and `HEAD`) must be authenticated.
    pub fn admit(&self, request: &request::Parts, transport: Transport) -> Result<Access, Refusal> {
        if request.headers.contains_key(header::ORIGIN) {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "requests with an Origin header (from a web browser) are refused by the admin API",
            ));
        }
        if transport == Transport::Tcp {
            self.check_host(request)?;
        }
        let access = match (transport, request.headers.get(header::AUTHORIZATION)) {
            (Transport::Unix, _) => Access::UnixSocket,
            (Transport::Tcp, None) => Access::Anonymous,
            (Transport::Tcp, Some(value)) => {
                let presented = value
                    .as_bytes()
                    .strip_prefix(b"Bearer ")
                    .ok_or_else(|| self.unauthorized("the Authorization header must be `Bearer <token>`"))?;
                match &self.token {
                    Some(token) if token.matches(presented) => Access::Token,
                    Some(_) => return Err(self.unauthorized("invalid admin token")),
                    None => return Err(self.disabled("a bearer token was sent but none is configured")),
                }
            }
        };
        if !matches!(request.method, Method::GET | Method::HEAD) {
            self.require(access, "changing state")?;
        }
        Ok(access)
    }

    /// Refuses an anonymous request for `what` (a change, or `show_secrets`).
    pub fn require(&self, access: Access, what: &str) -> Result<(), Refusal> {
        match (access.is_authenticated(), &self.token) {
            (true, _) => Ok(()),
            (false, Some(_)) => {
                Err(self.unauthorized(&format!("{what} needs `Authorization: Bearer <token>`")))
            }
            (false, None) => Err(self.disabled(&format!("{what} is disabled on this admin listener"))),
        }
    }

    fn check_host(&self, request: &request::Parts) -> Result<(), Refusal> {
        let foreign = |host: &str| {
            Refusal::new(
                StatusCode::FORBIDDEN,
                format!("Host `{host}` is not this admin server (accepted: {})", self.hosts.describe()),
            )
        };
        if let Some(authority) = request.uri.authority()
            && !self.hosts.allows(authority.as_str())
        {
            return Err(foreign(authority.as_str()));
        }
        match request.headers.get(header::HOST).map(|h| h.to_str()) {
            None => Ok(()),
            Some(Ok(host)) if self.hosts.allows(host) => Ok(()),
            Some(Ok(host)) => Err(foreign(host)),
            Some(Err(_)) => Err(foreign("<not ASCII>")),
        }
    }

    fn unauthorized(&self, message: &str) -> Refusal {
        Refusal {
            status: StatusCode::UNAUTHORIZED,
            message: message.to_string(),
            challenge: Some(format!("Bearer realm=\"{}\"", self.realm)),
        }
    }

    fn disabled(&self, message: &str) -> Refusal {
        Refusal::new(StatusCode::FORBIDDEN, format!("{message}: {}", self.enable_hint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef-token";

    fn guard(token: bool) -> Guard {
        Guard::new(GuardConfig {
            token: token.then(|| Token::new(TOKEN, "test").unwrap()),
            local: "127.0.0.1:9901".parse().unwrap(),
            allowed_hosts: vec![],
            enable_hint: "set a token".into(),
            realm: "test".into(),
        })
    }

    fn parts(method: &str, headers: &[(&str, &str)]) -> request::Parts {
        let mut builder = http::Request::builder().method(method).uri("/x");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    const HOST: (&str, &str) = ("host", "127.0.0.1:9901");

    #[test]
    fn changes_need_a_token_or_the_socket() {
        let bearer = format!("Bearer {TOKEN}");
        let g = guard(true);
        assert_eq!(g.admit(&parts("GET", &[HOST]), Transport::Tcp), Ok(Access::Anonymous));
        assert_eq!(
            g.admit(&parts("POST", &[HOST, ("authorization", &bearer)]), Transport::Tcp),
            Ok(Access::Token)
        );
        assert_eq!(g.admit(&parts("POST", &[]), Transport::Unix), Ok(Access::UnixSocket));
        let missing = g.admit(&parts("POST", &[HOST]), Transport::Tcp).unwrap_err();
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        assert_eq!(missing.challenge.as_deref(), Some("Bearer realm=\"test\""));
        for wrong in ["Bearer nope", "Basic abc", "bearer 0123456789abcdef-token"] {
            let r = g.admit(&parts("DELETE", &[HOST, ("authorization", wrong)]), Transport::Tcp);
            assert_eq!(r.unwrap_err().status, StatusCode::UNAUTHORIZED, "{wrong}");
        }
        let r = g.admit(&parts("GET", &[HOST, ("authorization", "Bearer wrong")]), Transport::Tcp);
        assert_eq!(r.unwrap_err().status, StatusCode::UNAUTHORIZED, "a wrong token is refused on reads too");
        let off = guard(false).admit(&parts("PUT", &[HOST]), Transport::Tcp).unwrap_err();
        assert_eq!(off.status, StatusCode::FORBIDDEN);
        assert!(off.message.contains("set a token"), "{}", off.message);
    }

    #[test]
    fn browsers_and_foreign_hosts_are_refused() {
        let g = guard(true);
        let bearer = format!("Bearer {TOKEN}");
        let origin =
            g.admit(&parts("POST", &[HOST, ("origin", "null"), ("authorization", &bearer)]), Transport::Unix);
        assert_eq!(origin.unwrap_err().status, StatusCode::FORBIDDEN);
        let rebinding = g.admit(&parts("GET", &[("host", "evil.example:9901")]), Transport::Tcp).unwrap_err();
        assert_eq!(rebinding.status, StatusCode::FORBIDDEN);
        assert!(rebinding.message.contains("evil.example"), "{}", rebinding.message);
        assert!(g.admit(&parts("GET", &[("host", "evil.example:9901")]), Transport::Unix).is_ok());
        let absolute = http::Request::get("http://evil.example:9901/x").header("host", "127.0.0.1:9901");
        let absolute = absolute.body(()).unwrap().into_parts().0;
        assert!(g.admit(&absolute, Transport::Tcp).is_err());
    }
}
