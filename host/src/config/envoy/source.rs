//! Envoy's `ConfigSource`: where a type of resource comes from. weir talks to one control
//! plane: a source is `ads: {}` (the ADS stream of `dynamic_resources.ads_config`) or an
//! `api_config_source` with one `envoy_grpc` service (a stream of the type's own, on its
//! discovery service). Every source of a bootstrap must name the same cluster and the same
//! form (`GRPC` or `DELTA_GRPC`).
//!
//! The bootstrap's sources choose the stream of each type: `cds_config` for clusters (and
//! their endpoints: EDS follows CDS), `lds_config` for listeners (and their route
//! configurations: RDS follows LDS), `rtds_config` for runtime layers, a filter's
//! `config_discovery` for ECDS. The sources inside resources (a cluster's `eds_config`, a
//! connection manager's `rds`) are checked for their shape and take their type's stream.

use std::collections::BTreeSet;

use envoy_types::pb::envoy::config::core::v3::api_config_source::ApiType;
use envoy_types::pb::envoy::config::core::v3::config_source::ConfigSourceSpecifier;
use envoy_types::pb::envoy::config::core::v3::{ApiConfigSource, ConfigSource, grpc_service};
use serde_json::{Value, json};

use super::Refusals;
use super::support::join;
use crate::config::XdsType;

/// The control plane an `api_config_source` (or `ads_config`) names: its cluster, and delta or not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Server {
    cluster: String,
    delta: bool,
}

/// The control plane of an `ads_config` or `api_config_source` at `at`.
fn server(api: &ApiConfigSource, at: &str, refusals: &mut Refusals) -> Option<Server> {
    let delta = match ApiType::try_from(api.api_type) {
        Ok(ApiType::Grpc | ApiType::AggregatedGrpc) => false,
        Ok(ApiType::DeltaGrpc | ApiType::AggregatedDeltaGrpc) => true,
        _ => {
            refusals.add(&join(at, "api_type"), "GRPC or DELTA_GRPC is required by weir");
            return None;
        }
    };
    match api.grpc_services.as_slice() {
        [service] => match &service.target_specifier {
            Some(grpc_service::TargetSpecifier::EnvoyGrpc(g)) if !g.cluster_name.is_empty() => {
                Some(Server { cluster: g.cluster_name.clone(), delta })
            }
            _ => {
                refusals.add(&join(at, "grpc_services[0]"), "an envoy_grpc cluster_name is required by weir");
                None
            }
        },
        _ => {
            refusals.add(&join(at, "grpc_services"), "exactly one grpc_service is required by weir");
            None
        }
    }
}

/// Checks the shape of a source inside a resource (`eds_config`, `rds.config_source`).
pub fn check(source: &ConfigSource, at: &str, refusals: &mut Refusals) {
    if let Some(ConfigSourceSpecifier::ApiConfigSource(api)) = &source.config_source_specifier {
        server(api, &join(at, "api_config_source"), refusals);
    }
}

/// The sources of a bootstrap, gathered into weir's `xds` section.
#[derive(Debug, Default)]
pub struct Sources {
    /// `dynamic_resources.ads_config`.
    ads: Option<Server>,
    /// Where a type asks for ADS first (it needs `ads_config`).
    ads_users: Vec<String>,
    /// The control plane of the `api_config_source`s, and where it was first named.
    api: Option<(Server, String)>,
    /// The types with streams of their own.
    separate: BTreeSet<XdsType>,
}

impl Sources {
    /// `dynamic_resources.ads_config` at `at`.
    pub fn ads_config(&mut self, api: &ApiConfigSource, at: &str, refusals: &mut Refusals) {
        self.ads = server(api, at, refusals);
    }

    /// The source of `kind` at `at`.
    pub fn take(&mut self, kind: XdsType, source: &ConfigSource, at: &str, refusals: &mut Refusals) {
        match &source.config_source_specifier {
            Some(ConfigSourceSpecifier::Ads(_)) => self.ads_users.push(at.to_string()),
            Some(ConfigSourceSpecifier::ApiConfigSource(api)) => {
                let at = join(at, "api_config_source");
                let Some(server) = server(api, &at, refusals) else { return };
                match &self.api {
                    Some((first, first_at)) if *first != server => refusals.add(
                        &at,
                        format!("weir takes every type from one control plane, in one form: {first_at} names another"),
                    ),
                    Some(_) => {}
                    None => self.api = Some((server, at)),
                }
                self.separate.insert(kind);
                match kind {
                    XdsType::Cds => self.separate.insert(XdsType::Eds),
                    XdsType::Lds => self.separate.insert(XdsType::Rds),
                    _ => false,
                };
            }
            // Other sources are refused by the field check.
            _ => {}
        }
    }

    /// weir's `xds` section (`cds`, `lds` and `initial_fetch_timeout` still to set), if any
    /// type comes from a control plane.
    pub fn xds(self, refusals: &mut Refusals) -> Option<Value> {
        if let (Some(first), None) = (self.ads_users.first(), &self.ads) {
            refusals.add(first, "ads needs dynamic_resources.ads_config");
        }
        let server = match (self.ads, self.api) {
            (Some(ads), Some((api, at))) => {
                if ads != api {
                    refusals.add(
                        &at,
                        "weir takes every type from one control plane, in one form: ads_config names another",
                    );
                }
                ads
            }
            (Some(ads), None) => ads,
            (None, Some((api, _))) => api,
            (None, None) => return None,
        };
        Some(json!({
            "cluster": server.cluster,
            "api_type": if server.delta { "DELTA_GRPC" } else { "GRPC" },
            "separate_streams": self.separate,
        }))
    }
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::config::core::v3::{AggregatedConfigSource, GrpcService};

    use super::*;

    fn api(cluster: &str, api_type: ApiType) -> ConfigSource {
        let service = GrpcService {
            target_specifier: Some(grpc_service::TargetSpecifier::EnvoyGrpc(grpc_service::EnvoyGrpc {
                cluster_name: cluster.into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        ConfigSource {
            config_source_specifier: Some(ConfigSourceSpecifier::ApiConfigSource(ApiConfigSource {
                api_type: api_type as i32,
                grpc_services: vec![service],
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    #[test]
    fn api_config_sources_give_their_types_streams_of_their_own() {
        let mut refusals = Refusals::default();
        let mut sources = Sources::default();
        sources.take(XdsType::Rtds, &api("cp", ApiType::Grpc), "rtds", &mut refusals);
        sources.take(XdsType::Cds, &api("cp", ApiType::Grpc), "cds", &mut refusals);
        let xds = sources.xds(&mut refusals).unwrap();
        assert!(refusals.is_empty(), "{refusals:?}");
        assert_eq!(
            xds,
            json!({"cluster": "cp", "api_type": "GRPC", "separate_streams": ["rtds", "cds", "eds"]})
        );
    }

    #[test]
    fn sources_must_agree_and_ads_needs_ads_config() {
        let mut refusals = Refusals::default();
        let mut sources = Sources::default();
        sources.take(XdsType::Rtds, &api("cp", ApiType::Grpc), "a", &mut refusals);
        sources.take(XdsType::Ecds, &api("other", ApiType::Grpc), "b", &mut refusals);
        sources.take(XdsType::Ecds, &api("cp", ApiType::DeltaGrpc), "c", &mut refusals);
        let ads = ConfigSource {
            config_source_specifier: Some(ConfigSourceSpecifier::Ads(AggregatedConfigSource {})),
            ..Default::default()
        };
        sources.take(XdsType::Lds, &ads, "d", &mut refusals);
        sources.xds(&mut refusals);
        let text = format!("{refusals:?}");
        assert!(text.contains("b.api_config_source") && text.contains("c.api_config_source"), "{text}");
        assert!(text.contains("ads needs dynamic_resources.ads_config"), "{text}");
        let mut refusals = Refusals::default();
        Sources::default().take(XdsType::Rtds, &api("", ApiType::Rest), "e", &mut refusals);
        assert!(format!("{refusals:?}").contains("GRPC or DELTA_GRPC"), "{refusals:?}");
    }
}
