//! Upstream clusters: process-wide state ([`ClusterManager`], [`ClusterState`]: endpoints,
//! health, breakers, balancing tables) and each worker's view ([`Upstreams`], [`Cluster`]:
//! connection pools, no locks on the data path).

mod background;
mod body;
mod breaker;
mod callout;
mod cluster;
mod cluster_tls;
mod endpoint;
mod hashing;
mod lb;
mod manager;
mod pool;
mod priority;
mod state;
mod transport;
mod tunnel;
mod weights;

use std::collections::HashMap;
use std::rc::Rc;

pub use background::spawn_background;
pub use body::UpstreamBody;
pub use cluster::Cluster;
pub use endpoint::{ActiveGuard, Endpoint};
pub use hashing::hash;
pub use manager::ClusterManager;
pub use pool::Connection;
pub use state::{ClusterState, EndpointSet, Level};
pub use transport::{Connected, Transport};
pub use tunnel::Upgrading;
pub use weir_http::{UpstreamError, error_chain};

/// A worker's clusters by name.
#[derive(Debug, Default)]
pub struct Upstreams {
    clusters: HashMap<String, Rc<Cluster>>,
}

impl Upstreams {
    /// The worker's view of every cluster of a manager.
    pub fn new(manager: &ClusterManager) -> Upstreams {
        Upstreams {
            clusters: manager
                .iter()
                .map(|state| (state.name().to_string(), Rc::new(Cluster::new(state.clone()))))
                .collect(),
        }
    }

    /// A cluster by name.
    pub fn get(&self, name: &str) -> Option<&Rc<Cluster>> {
        self.clusters.get(name)
    }
}
