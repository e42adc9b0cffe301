//! The benchmark scenarios: which plugins each proxy runs, how requests are routed, what the
//! load generator sends, and what a correct answer looks like (checked once per proxy before
//! measuring, so a misconfigured filter is never benchmarked as a no-op).

/// A plugin in a scenario's chain.
pub struct Plugin {
    /// Name in both configs (also the `.wasm` file name under `target/filters`).
    pub name: &'static str,
    /// `vm_id` (`vm_config.vm_id` in Envoy).
    pub vm_id: &'static str,
    /// Plugin configuration (JSON text; a string in both hosts).
    pub config: String,
}

/// How the route forwards.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// To the `upstream` cluster.
    Cluster,
    /// To the cluster named by `x-shard-cluster` (set by shuffle-shard); `shard-0..3` all
    /// point at the upstream.
    ShardHeader,
    /// Answered by the proxy itself (`direct_response`, 200 `ok`): no upstream involved.
    Direct,
}

/// How the load generator reaches the proxy.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub enum Transport {
    /// Plain HTTP/1.1, connections kept alive.
    #[default]
    Plain,
    /// HTTPS (TLS 1.3), connections kept alive: the cost of encryption per request.
    Tls,
    /// HTTPS (TLS 1.3), one request per connection (`Connection: close`): a full handshake
    /// per request, so req/s is handshakes/s.
    TlsHandshake,
}

impl Transport {
    /// Whether the listener serves TLS.
    pub fn tls(self) -> bool {
        self != Transport::Plain
    }
}

/// What a correct answer shows (checked with one request per proxy before measuring).
#[derive(Default)]
pub struct Check {
    /// A response header the filter adds.
    pub response_header: Option<&'static str>,
    /// A request header the upstream must see, with its value when fixed.
    pub upstream_header: Option<(&'static str, Option<&'static str>)>,
    /// A request header the upstream must not see.
    pub upstream_absent: Option<&'static str>,
    /// The upstream must see the body upper-cased.
    pub upstream_body_upper: bool,
    /// Without this request header the proxy must answer this status (the filter is active).
    pub denied_without: Option<(&'static str, u16)>,
}

/// One scenario.
pub struct Scenario {
    /// Short name (`--scenario`, file names, tables).
    pub name: &'static str,
    /// One line for the report.
    pub description: &'static str,
    /// Plugins, in chain order.
    pub plugins: Vec<Plugin>,
    /// Routing.
    pub route: Route,
    /// Method of the measured requests.
    pub method: &'static str,
    /// Extra request headers.
    pub headers: Vec<(&'static str, String)>,
    /// Request body size in bytes (`a` repeated); 0 for none.
    pub body_bytes: usize,
    /// What to verify before measuring.
    pub check: Check,
    /// Plain HTTP or TLS.
    pub transport: Transport,
    /// The chain calls a rate limit service: the bench starts `weir-rls` on a real Redis
    /// (on the load's CPUs) and both proxies get a cluster `rls` (HTTP/2) pointing at it.
    pub rls: bool,
    /// Connections instead of `--connections` (1: one request at a time, so the latencies
    /// are a request's own, not queueing behind others).
    pub connections: Option<u32>,
}

/// A fixed RS256 token (kid `rsa-1`, issuer `https://issuer.test`, audience `weir`, `exp`
/// 4102444800 = 2100-01-01): the one `tests/conformance/auth-jwt` uses, signed once by
/// `cargo test -p weir-filter-auth --test conformance_tokens -- --ignored --nocapture` with
/// `filters/auth/tests/keys/rsa.pem`.
pub const RS256_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJhdWQiOiJ3ZWlyIiwiZXhwIjo0MTAyNDQ0ODAwLCJpc3MiOiJodHRwczovL2lzc3Vlci50ZXN0IiwibmJmIjoxNTAwMDAwMDAwLCJvcmciOnsidGVuYW50IjoiYWNtZSJ9LCJzY29wZSI6InJlYWQgd3JpdGUiLCJzdWIiOiJjb25mb3JtYW5jZS11c2VyIn0.RO-JhYqwmer_Jmle_r1SK90NaGgNcDvWjkm15opWp0hw9VT-xWG0pzSNJHGLewkjj42kfuGikGeFFD3-xLz-d-CKxd2E3YxYOHoV6G57SLOeVrvS-1G_2OlVoDZY487V6QEaWddlxk7q4PW6RcL-jdqAJTds5V4a7G6mh9UTD75ImAcXk7hws1Qd5N7UNLtaoW5stpeS3CVTGit2BLyrAWyAD0SoOX0FJ2N1u0XjIlTOpjtJxJHeo8Z83HCD7R5twSjWNRpYJbgKiUEmP-VYhvKysb9oAa2zYneYwMHObfVuYPH4C-VHLcVV6M_bkKctCWFX5X7hM7aoIQ0dOsQvqA";

/// The public half of `filters/auth/tests/keys/rsa.pem` (from `filters/auth/tests/keys/jwks.json`).
const RSA_JWK: &str = r#"{"alg":"RS256","e":"AQAB","kid":"rsa-1","kty":"RSA","n":"taJBHosCr5NfdlYetNjWKlP3rwSvtgZfT4rZxvdjIidIb58A7h12h5X1nnoHd8s-PFDpFodQfZ-kb7WzGOPJiUFqNKTlEepE3CSstq2-vrEEIaAi236wYMC9f0JRrKzmMdtvdpQV1QUMj5F9fHoDxDnpbC5GHGRm2EEBhfTI_s90jZDv0bhK1X_ya5lbPMnQwFdac-mxRlHAscMd-kDlDBUZEDVDq_Pucsaex0lmNRWQusaTeD7U9LJZQi3zGsOjh1goeeqhgNml2nAL6b6o81SN3f5bk_nXWkUchqRNoLqh3phYVuyMO5pyHqjtqYmRzHZo2fWMXFHdkmJ3y53xVw","use":"sig"}"#;

/// Size of the body-rewrite scenario's request body.
pub const BODY_BYTES: usize = 64 * 1024;

fn header_rewrite() -> Plugin {
    Plugin {
        name: "header-rewrite",
        vm_id: "",
        config: r#"{"request_headers_to_set":{"x-example":"header-rewrite"},"request_headers_to_remove":["x-internal"],"response_headers_to_set":{"x-powered-by":"weir-bench"}}"#.into(),
    }
}

/// What header-rewrite's answer shows: its response header, and its request header upstream.
fn header_rewrite_check() -> Check {
    Check {
        response_header: Some("x-powered-by"),
        upstream_header: Some(("x-example", Some("header-rewrite"))),
        ..Check::default()
    }
}

fn shuffle_shard() -> Plugin {
    Plugin { name: "shuffle-shard", vm_id: "shard", config: r#"{"total_hosts":4,"shard_size":2}"#.into() }
}

/// The auth filter with one RS256 provider; `cache`: `jwt.verified_cache_size` (the default,
/// 100, when `None`; 0 verifies the signature on every request).
fn auth(cache: Option<usize>) -> Plugin {
    let jwks = serde_json::json!({ "keys": [serde_json::from_str::<serde_json::Value>(RSA_JWK).unwrap()] });
    let mut config = serde_json::json!({
        "jwt": { "providers": [{
            "name": "bench",
            "issuer": "https://issuer.test",
            "audiences": ["weir"],
            "algorithms": ["RS256"],
            "local_jwks": jwks,
        }]},
    });
    if let Some(size) = cache {
        config["jwt"]["verified_cache_size"] = size.into();
    }
    Plugin { name: "auth", vm_id: "", config: config.to_string() }
}

fn ratelimit() -> Plugin {
    // A billion tokens refilled every second: every request takes a token (one shared-data
    // CAS) and none is ever refused.
    Plugin {
        name: "ratelimit",
        vm_id: "ratelimit",
        config:
            r#"{"token_bucket":{"max_tokens":1000000000,"tokens_per_fill":1000000000,"fill_interval":"1s"}}"#
                .into(),
    }
}

/// The limits `weir-rls` serves in the global scenarios: 4 billion per second for each user,
/// never reached, so every request is counted in Redis and allowed.
pub const RLS_LIMITS: &str = "
domain: bench
descriptors:
  - key: user
    rate_limit: {unit: second, requests_per_unit: 4000000000}
";

/// The ratelimit filter in global mode: a descriptor from `x-user`, the service's headers on
/// the response (so the check sees that the service answered).
fn ratelimit_global() -> Plugin {
    let config = serde_json::json!({
        "mode": "global",
        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
        "rate_limits": [{"actions": [{"request_headers": {"header_name": "x-user", "descriptor_key": "user"}}]}],
        "global": {"domain": "bench", "cluster": "rls", "timeout": "1s", "failure_mode_deny": true},
    });
    Plugin { name: "ratelimit", vm_id: "ratelimit", config: config.to_string() }
}

fn user() -> (&'static str, String) {
    ("x-user", "bench-user".into())
}

fn body_rewrite() -> Plugin {
    Plugin { name: "body-rewrite", vm_id: "", config: r#"{"direction":"request"}"#.into() }
}

/// What an authenticated request shows: the consumer for the upstream, the credential
/// removed, and a 401 without it.
fn auth_check() -> Check {
    Check {
        upstream_header: Some(("x-auth-consumer", Some("conformance-user"))),
        upstream_absent: Some("authorization"),
        denied_without: Some(("authorization", 401)),
        ..Check::default()
    }
}

fn bearer() -> (&'static str, String) {
    ("authorization", format!("Bearer {RS256_TOKEN}"))
}

fn customer() -> (&'static str, String) {
    ("x-customer-id", "customer-A".into())
}

/// Every scenario, in report order.
pub fn all() -> Vec<Scenario> {
    let get = |name, description, plugins, route, headers, check| Scenario {
        name,
        description,
        plugins,
        route,
        method: "GET",
        headers,
        body_bytes: 0,
        check,
        transport: Transport::Plain,
        rls: false,
        connections: None,
    };
    let serial = |s: Scenario| Scenario { connections: Some(1), ..s };
    let global = |s: Scenario| Scenario { rls: true, ..s };
    vec![
        get(
            "direct-response",
            "sanity baseline: the proxy answers 200 itself (direct_response), no filter, no upstream",
            vec![],
            Route::Direct,
            vec![],
            Check::default(),
        ),
        get(
            "no-filter",
            "GET through the proxy to the upstream, no filter",
            vec![],
            Route::Cluster,
            vec![],
            Check::default(),
        ),
        get(
            "header-rewrite",
            "examples/header-rewrite: sets/removes request headers, sets a response header",
            vec![header_rewrite()],
            Route::Cluster,
            vec![],
            header_rewrite_check(),
        ),
        get(
            "shuffle-shard",
            "filters/shuffle-shard: 4 hosts, shards of 2, routes by x-shard-cluster (cluster_header)",
            vec![shuffle_shard()],
            Route::ShardHeader,
            vec![customer()],
            Check {
                response_header: Some("x-shard-hosts"),
                denied_without: Some(("x-customer-id", 400)),
                ..Check::default()
            },
        ),
        get(
            "auth-jwt-rs256",
            "filters/auth: JWT RS256, inline JWKS, default config (the repeated token's verified signature is cached per worker; times, issuer and audience checked per request)",
            vec![auth(None)],
            Route::Cluster,
            vec![bearer()],
            auth_check(),
        ),
        get(
            "auth-jwt-rs256-uncached",
            "filters/auth: as auth-jwt-rs256 with verified_cache_size 0: the RS256 signature verified on every request",
            vec![auth(Some(0))],
            Route::Cluster,
            vec![bearer()],
            auth_check(),
        ),
        get(
            "ratelimit-local",
            "filters/ratelimit local mode: one shared-data token bucket (CAS) per request, never refuses",
            vec![ratelimit()],
            Route::Cluster,
            vec![],
            Check::default(),
        ),
        get(
            "chain-3",
            "auth (RS256, default config) -> ratelimit (local) -> shuffle-shard, routed by x-shard-cluster",
            vec![auth(None), ratelimit(), shuffle_shard()],
            Route::ShardHeader,
            vec![bearer(), customer()],
            Check {
                response_header: Some("x-shard-hosts"),
                upstream_header: Some(("x-auth-consumer", Some("conformance-user"))),
                denied_without: Some(("authorization", 401)),
                ..Check::default()
            },
        ),
        Scenario {
            name: "body-rewrite-64k",
            description: "examples/body-rewrite: POST 64 KiB, buffered and upper-cased whole",
            plugins: vec![body_rewrite()],
            route: Route::Cluster,
            method: "POST",
            headers: vec![],
            body_bytes: BODY_BYTES,
            check: Check { upstream_body_upper: true, ..Check::default() },
            transport: Transport::Plain,
            rls: false,
            connections: None,
        },
        Scenario {
            transport: Transport::Tls,
            ..get(
                "tls-header-rewrite",
                "header-rewrite over HTTPS: TLS 1.3 (ECDSA P-256 certificate), connections kept alive",
                vec![header_rewrite()],
                Route::Cluster,
                vec![],
                header_rewrite_check(),
            )
        },
        Scenario {
            transport: Transport::TlsHandshake,
            ..get(
                "tls-handshake",
                "HTTPS, a new connection per request (Connection: close): full TLS 1.3 handshakes (ECDSA P-256, no resumption), no filter",
                vec![],
                Route::Cluster,
                vec![],
                Check::default(),
            )
        },
        global(get(
            "ratelimit-global",
            "filters/ratelimit global mode: one gRPC ShouldRateLimit call per request to weir-rls (one Lua script on a real Redis over a unix socket; both on the load's CPUs), never over the limit",
            vec![ratelimit_global()],
            Route::Cluster,
            vec![user()],
            Check { response_header: Some("x-ratelimit-limit"), ..Check::default() },
        )),
        serial(get(
            "no-filter-serial",
            "no-filter with 1 connection (one request at a time): the baseline of the added latency",
            vec![],
            Route::Cluster,
            vec![],
            Check::default(),
        )),
        serial(global(get(
            "ratelimit-global-serial",
            "ratelimit-global with 1 connection: the latency a rate limit service call adds to a request",
            vec![ratelimit_global()],
            Route::Cluster,
            vec![user()],
            Check { response_header: Some("x-ratelimit-limit"), ..Check::default() },
        ))),
    ]
}
