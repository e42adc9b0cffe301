//! Routing: virtual hosts by authority, path and header matchers, first match wins, rewrites,
//! direct responses, `cluster_header`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{Backend, Client, weir};

fn config(a: &Backend, b: &Backend, c: &Backend) -> String {
    format!(
        r#"
listeners:
  - name: main
    address: 127.0.0.1:0
    virtual_hosts:
      - name: exact
        domains: [api.example.com]
        routes:
          - {{ name: api, match: {{ prefix: / }}, route: {{ cluster: a }} }}
      - name: suffix
        domains: ["*.example.com"]
        routes:
          - {{ name: suffix, match: {{ prefix: / }}, route: {{ cluster: b }} }}
      - name: prefix
        domains: ["shop.*"]
        routes:
          - {{ name: shop, match: {{ prefix: / }}, route: {{ cluster: c }} }}
      - name: default
        domains: ["*"]
        routes:
          - name: exact-path
            match: {{ path: /exact }}
            route: {{ cluster: a }}
          - name: regex
            match: {{ regex: "/v[0-9]+/items" }}
            route: {{ cluster: b }}
          - name: header
            match: {{ prefix: /h, headers: [{{ name: x-tier, exact: gold }}] }}
            route: {{ cluster: c }}
          - name: header-absent
            match: {{ prefix: /h, headers: [{{ name: x-tier, present: false }}] }}
            route: {{ cluster: a }}
          - name: rewrite
            match: {{ prefix: /old/ }}
            route: {{ cluster: b, prefix_rewrite: /new/, host_rewrite: rewritten.internal }}
          - name: direct
            match: {{ prefix: /direct }}
            direct_response: {{ status: 418, body: teapot }}
          - name: by-header
            match: {{ prefix: /pick }}
            route: {{ cluster_header: x-cluster }}
          - name: weighted
            match: {{ prefix: /split }}
            route: {{ weighted_clusters: {{ clusters: [{{ name: a, weight: 90 }}, {{ name: b, weight: 10 }}, {{ name: c, weight: 0 }}] }} }}
          - name: catch-all
            match: {{ prefix: / }}
            route: {{ cluster: c }}
clusters:
  - {{ name: a, endpoints: ["{}"] }}
  - {{ name: b, endpoints: ["{}"] }}
  - {{ name: c, endpoints: ["{}"] }}
"#,
        a.addr, b.addr, c.addr
    )
}

#[test]
fn routes_are_chosen_like_envoy() {
    let (a, b, c) = (Backend::start("a"), Backend::start("b"), Backend::start("c"));
    let server = weir(&config(&a, &b, &c));
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    let backend = |authority: &str, path: &str, headers: &[(&str, &str)]| {
        let r = client.get(addr, authority, path, headers);
        (r.status, r.header("x-backend").unwrap_or("-").to_string())
    };
    // Virtual hosts: exact beats suffix beats prefix beats `*`; a port is part of the
    // authority (as in Envoy), so it falls through to `*`.
    assert_eq!(backend("api.example.com", "/", &[]), (200, "a".into()));
    assert_eq!(backend("api.example.com:8080", "/", &[]), (200, "c".into()));
    assert_eq!(backend("www.example.com", "/", &[]), (200, "b".into()));
    assert_eq!(backend("shop.local", "/", &[]), (200, "c".into()));
    // Paths: exact (query ignored), regex (full match), first match wins.
    assert_eq!(backend("other", "/exact?q=1", &[]), (200, "a".into()));
    assert_eq!(backend("other", "/exact/more", &[]), (200, "c".into()));
    assert_eq!(backend("other", "/v12/items", &[]), (200, "b".into()));
    assert_eq!(backend("other", "/v12/items/x", &[]), (200, "c".into()));
    // Header matchers.
    assert_eq!(backend("other", "/h", &[("x-tier", "gold")]), (200, "c".into()));
    assert_eq!(backend("other", "/h", &[]), (200, "a".into()));
    assert_eq!(backend("other", "/h", &[("x-tier", "silver")]), (200, "c".into()));
    // cluster_header: known, missing, unknown.
    assert_eq!(backend("other", "/pick", &[("x-cluster", "b")]), (200, "b".into()));
    assert_eq!(backend("other", "/pick", &[]).0, 503);
    assert_eq!(backend("other", "/pick", &[("x-cluster", "nope")]).0, 503);
}

/// `weighted_clusters` 90/10/0 over 2,000 requests: the split is within 3 points of the weights.
#[test]
fn weighted_clusters_split_by_weight() {
    let (a, b, c) = (Backend::start("a"), Backend::start("b"), Backend::start("c"));
    let server = weir(&config(&a, &b, &c));
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    let mut counts = std::collections::HashMap::new();
    for _ in 0..2_000 {
        let r = client.get(addr, "other", "/split", &[]);
        assert_eq!(r.status, 200);
        *counts.entry(r.header("x-backend").unwrap_or("-").to_string()).or_insert(0u32) += 1;
    }
    let share = |id: &str| f64::from(counts.get(id).copied().unwrap_or(0)) / 2_000.0;
    assert!((share("a") - 0.9).abs() <= 0.03, "{counts:?}");
    assert!((share("b") - 0.1).abs() <= 0.03, "{counts:?}");
    assert_eq!(share("c"), 0.0, "weight 0 takes nothing: {counts:?}");
}

#[test]
fn rewrites_and_direct_responses() {
    let (a, b, c) = (Backend::start("a"), Backend::start("b"), Backend::start("c"));
    let server = weir(&config(&a, &b, &c));
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    let r = client.get(addr, "other", "/old/thing?x=1", &[]);
    assert_eq!((r.status, r.header("x-backend"), r.header("x-path")), (200, Some("b"), Some("/new/thing")));
    let r = client.get(addr, "other", "/direct", &[]);
    assert_eq!((r.status, r.text().as_str(), r.header("content-type")), (418, "teapot", Some("text/plain")));
}

#[test]
fn no_matching_route_is_404() {
    let a = Backend::start("a");
    let yaml = format!(
        "listeners:\n  - name: main\n    address: 127.0.0.1:0\n    virtual_hosts:\n      - name: only\n        domains: [only.example.com]\n        routes:\n          - match: {{ prefix: /api }}\n            route: {{ cluster: a }}\nclusters:\n  - {{ name: a, endpoints: ['{}'] }}\n",
        a.addr
    );
    let server = weir(&yaml);
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    assert_eq!(client.get(addr, "only.example.com", "/other", &[]).status, 404);
    assert_eq!(client.get(addr, "elsewhere", "/api", &[]).status, 404);
    assert_eq!(client.get(addr, "only.example.com", "/api/x", &[]).status, 200);
}
