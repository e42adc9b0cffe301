//! Gateway API conformance without a cluster: the traffic semantics of the upstream
//! GATEWAY-HTTP tests, ported to files (`tests/gateway-api/cases/`), applied to a real
//! weir-cp (`weir-cp gateway apply`) and run against real Envoy and weir, which take the
//! Gateway's listeners, routes, clusters and endpoints over xDS.

pub mod backends;
pub mod case;
pub mod run;
