//! The resource types weir-cp serves.

use std::collections::BTreeSet;

use serde::Serialize;

use weir_xds::types;

/// A resource type served by weir-cp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// RTDS: `envoy.service.runtime.v3.Runtime`, one per runtime layer.
    Rtds,
    /// ECDS: `envoy.config.core.v3.TypedExtensionConfig`, one per filter configuration.
    Ecds,
    /// SDS: `envoy.extensions.transport_sockets.tls.v3.Secret`, one per secret.
    Sds,
    /// CDS: `envoy.config.cluster.v3.Cluster`, one per cluster.
    Cds,
    /// EDS: `envoy.config.endpoint.v3.ClusterLoadAssignment`, one per EDS service.
    Eds,
    /// RDS: `envoy.config.route.v3.RouteConfiguration`, one per route configuration.
    Rds,
    /// LDS: `envoy.config.listener.v3.Listener`, one per listener.
    Lds,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 7] =
        [Kind::Rtds, Kind::Ecds, Kind::Sds, Kind::Cds, Kind::Eds, Kind::Rds, Kind::Lds];

    /// The type URL of its resources.
    pub fn type_url(self) -> &'static str {
        match self {
            Kind::Rtds => types::RUNTIME,
            Kind::Ecds => types::EXTENSION_CONFIG,
            Kind::Sds => types::SECRET,
            Kind::Cds => types::CLUSTER,
            Kind::Eds => types::ENDPOINT,
            Kind::Rds => types::ROUTE,
            Kind::Lds => types::LISTENER,
        }
    }

    /// The kind of a type URL (any `host/` prefix is accepted).
    pub fn from_type_url(type_url: &str) -> Option<Kind> {
        let name = type_url.rsplit('/').next().unwrap_or(type_url);
        Kind::ALL.into_iter().find(|k| k.type_url().rsplit('/').next() == Some(name))
    }

    /// The kind a request's `type_url` asks for on a stream: on a single-type service
    /// (`only`), that type (an empty URL means it); on ADS (`None`), the URL's type.
    pub fn on_stream(type_url: &str, only: Option<Kind>) -> Option<Kind> {
        match (type_url.is_empty(), only) {
            (true, only) => only,
            (false, None) => Kind::from_type_url(type_url),
            (false, Some(only)) => Kind::from_type_url(type_url).filter(|k| *k == only),
        }
    }

    /// Short name used in status, metrics and logs (`rtds`, `ecds`, `sds`).
    pub fn short(self) -> &'static str {
        match self {
            Kind::Rtds => "rtds",
            Kind::Ecds => "ecds",
            Kind::Sds => "sds",
            Kind::Cds => "cds",
            Kind::Eds => "eds",
            Kind::Rds => "rds",
            Kind::Lds => "lds",
        }
    }

    /// Whether a subscription with no names selects nothing (EDS and RDS, as in the xDS
    /// protocol) rather than every resource.
    pub fn names_required(self) -> bool {
        matches!(self, Kind::Eds | Kind::Rds)
    }

    /// Whether a subscription to `names` (empty: every resource, unless the type requires
    /// names) selects resource `name`: the rule the store's selection applies.
    pub fn selects(self, names: &BTreeSet<String>, name: &str) -> bool {
        if names.is_empty() { !self.names_required() } else { names.contains(name) }
    }

    /// Whether a state-of-the-world response after a change may carry only the changed
    /// resources (EDS and RDS): the xDS protocol makes only listeners and clusters (and here
    /// the types weir-cp builds on demand) whole-state in every response.
    pub fn partial_in_sotw(self) -> bool {
        matches!(self, Kind::Eds | Kind::Rds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_urls_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_type_url(kind.type_url()), Some(kind));
        }
        assert_eq!(Kind::from_type_url("envoy.service.runtime.v3.Runtime"), Some(Kind::Rtds));
        assert_eq!(
            Kind::from_type_url("type.googleapis.com/envoy.config.cluster.v3.Cluster"),
            Some(Kind::Cds)
        );
        assert_eq!(
            Kind::from_type_url("type.googleapis.com/envoy.config.listener.v3.Listener"),
            Some(Kind::Lds)
        );
        assert_eq!(
            Kind::from_type_url("type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration"),
            None
        );
        assert_eq!(Kind::from_type_url(""), None);
    }
}
