//! The CORS filter against Envoy's own: the same requests (preflights and actual requests,
//! allowed and refused origins, a route policy over the virtual host's, a direct-response
//! route) go to Envoy's native
//! `envoy.filters.http.cors`, to the CORS `.wasm` in Envoy and to the same `.wasm` in weir.
//! Status, every `access-control-*` header and whether the upstream saw the request must be
//! the same from all three.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::net::SocketAddr;

use serde_json::{Value, json};
use weir_testkit::bins::{self, Bin, Profile};
use weir_testkit::http::{Response, free_port, request};
use weir_testkit::launch;
use weir_testkit::twin::{Cluster, Listener, Plugin, Route};
use weir_testkit::{Twin, paths};

/// The virtual host's policy (every route), in Envoy's `CorsPolicy` JSON.
fn vhost_policy() -> Value {
    json!({
        "allow_origin_string_match": [
            {"exact": "https://a.example"},
            {"suffix": ".b.example", "ignore_case": true},
            {"safe_regex": {"regex": "https://c[0-9]+\\.example"}}
        ],
        "allow_methods": "GET, POST",
        "allow_headers": "*",
        "expose_headers": "x-one, x-two",
        "max_age": "600",
        "allow_credentials": true,
        "allow_private_network_access": true
    })
}

/// Route `strict`'s policy: its own origins and methods, no credentials, preflights from
/// other origins answered here; the rest from the virtual host's.
fn strict_policy() -> Value {
    json!({
        "allow_origin_string_match": [{"prefix": "https://strict."}],
        "allow_methods": "*",
        "allow_headers": "x-custom",
        "allow_credentials": false,
        "forward_not_matching_preflights": false
    })
}

fn twin(upstream: SocketAddr, port: u16) -> Twin {
    let config = json!({"policy": vhost_policy(), "routes": {"strict": strict_policy()}});
    let mut listener = Listener::new(
        "main",
        vec![
            Route::prefix("strict", "/strict").to_cluster("upstream"),
            Route::prefix("direct", "/direct").direct(200, "direct"),
            Route::prefix("open", "/").to_cluster("upstream"),
        ],
    )
    .chain(&["cors"]);
    listener.port = port;
    Twin {
        admin_port: 0,
        listeners: vec![listener],
        clusters: vec![Cluster::new("upstream", upstream)],
        plugins: vec![Plugin::new("cors", paths::filter("cors").unwrap()).configuration(config.to_string())],
        node: None,
    }
}

/// Envoy's bootstrap for `twin`, plus a listener `native` running Envoy's own CORS filter with
/// the same policies (`typed_per_filter_config` on the virtual host and on route `strict`).
fn envoy_bootstrap(twin: &Twin, native_port: u16) -> String {
    let per_filter = |policy: Value| {
        let mut typed =
            json!({"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy"});
        typed.as_object_mut().unwrap().extend(policy.as_object().unwrap().clone());
        json!({"envoy.filters.http.cors": typed})
    };
    let native = json!({"name": "envoy.filters.http.cors", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}});
    twin.envoy_yaml_with_reference("native", native_port, native, |hcm| {
        for vhost in hcm["route_config"]["virtual_hosts"].as_array_mut().unwrap() {
            vhost["typed_per_filter_config"] = per_filter(vhost_policy());
            for route in vhost["routes"].as_array_mut().unwrap() {
                if route["name"] == "strict" {
                    route["typed_per_filter_config"] = per_filter(strict_policy());
                }
            }
        }
    })
    .unwrap()
}

/// Status, `access-control-*` headers, forwarded.
type Seen = (u16, Vec<(String, String)>, bool);

/// What must agree: the status, the `access-control-*` headers (sorted) and whether the
/// upstream answered (the echo server's body; a preflight answered by the filter has none).
fn seen(r: &Response) -> Seen {
    let mut cors: Vec<(String, String)> =
        r.headers.iter().filter(|(k, _)| k.starts_with("access-control-")).cloned().collect();
    cors.sort();
    (r.status, cors, !r.body.is_empty())
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
}

const fn case(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
) -> Case {
    Case { name, method, path, headers }
}

const CASES: &[Case] = &[
    case("no origin", "GET", "/", &[]),
    case("empty origin", "GET", "/", &[("origin", "")]),
    case("allowed origin, exact", "GET", "/", &[("origin", "https://a.example")]),
    case("allowed origin, suffix ignoring case", "POST", "/x", &[("origin", "https://shop.B.Example")]),
    case("allowed origin, regex", "GET", "/", &[("origin", "https://c42.example")]),
    case("regex is anchored", "GET", "/", &[("origin", "https://c42.example.evil")]),
    case("origin not allowed", "GET", "/", &[("origin", "https://evil.example")]),
    case(
        "preflight, allowed",
        "OPTIONS",
        "/",
        &[
            ("origin", "https://a.example"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "x-a, x-b"),
            ("access-control-request-private-network", "true"),
        ],
    ),
    case(
        "preflight, allowed, no requested headers (allow_headers *)",
        "OPTIONS",
        "/",
        &[("origin", "https://a.example"), ("access-control-request-method", "GET")],
    ),
    case(
        "preflight, origin not allowed: forwarded",
        "OPTIONS",
        "/",
        &[("origin", "https://evil.example"), ("access-control-request-method", "GET")],
    ),
    case(
        "OPTIONS without a requested method: an actual request",
        "OPTIONS",
        "/",
        &[("origin", "https://a.example")],
    ),
    case(
        "OPTIONS with an empty requested method",
        "OPTIONS",
        "/",
        &[("origin", "https://a.example"), ("access-control-request-method", "")],
    ),
    case(
        "route policy: preflight, allowed (methods *)",
        "OPTIONS",
        "/strict/x",
        &[("origin", "https://strict.example"), ("access-control-request-method", "DELETE")],
    ),
    case(
        "route policy: preflight from the virtual host's origin: answered here, no allow-origin",
        "OPTIONS",
        "/strict",
        &[("origin", "https://a.example"), ("access-control-request-method", "GET")],
    ),
    case("route policy: actual request", "GET", "/strict", &[("origin", "https://strict.example")]),
    case(
        "route policy: origin only the virtual host allows",
        "GET",
        "/strict",
        &[("origin", "https://a.example")],
    ),
    // Envoy's filter does nothing on a route without a cluster (a direct response).
    case(
        "direct response route: preflight",
        "OPTIONS",
        "/direct",
        &[("origin", "https://a.example"), ("access-control-request-method", "GET")],
    ),
    case("direct response route: actual request", "GET", "/direct", &[("origin", "https://a.example")]),
];

#[test]
fn the_cors_filter_answers_as_envoys_own() {
    weir_tests::envoy_required().unwrap();
    let (_echo, upstream) =
        launch::start_echo(launch::echo(&bins::path(Bin::Echo, Profile::Debug).unwrap(), None)).unwrap();
    let (weir_port, weir_admin) = (free_port().unwrap(), free_port().unwrap());
    let mut weir_twin = twin(upstream, weir_port);
    weir_twin.admin_port = weir_admin;
    let weir_bin = bins::path(Bin::Weir, Profile::Debug).unwrap();
    let _weir = launch::start_weir(
        &weir_bin,
        &weir_twin.weir_yaml().unwrap(),
        weir_admin,
        1,
        ["--log-level", "warn"],
    )
    .unwrap();
    let (envoy_port, native_port) = (free_port().unwrap(), free_port().unwrap());
    let bootstrap = envoy_bootstrap(&twin(upstream, envoy_port), native_port);
    let _envoy =
        launch::start_envoy(&paths::envoy_binary().unwrap(), &bootstrap, 1, ["-l", "warning"]).unwrap();
    let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let proxies = [
        ("Envoy, native filter", at(native_port)),
        ("Envoy, cors.wasm", at(envoy_port)),
        ("weir, cors.wasm", at(weir_port)),
    ];
    let mut failures = Vec::new();
    for case in CASES {
        let answers: Vec<(&str, Seen)> = proxies
            .iter()
            .map(|(name, addr)| {
                (*name, seen(&request(*addr, case.method, case.path, case.headers, "").unwrap()))
            })
            .collect();
        println!("{}: {:?}", case.name, answers[0].1);
        for (name, answer) in &answers[1..] {
            if *answer != answers[0].1 {
                failures.push(format!(
                    "{}: {name} answered {answer:?}, Envoy's filter {:?}",
                    case.name, answers[0].1
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
