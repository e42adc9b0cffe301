//! The xDS protocol of the stream, without I/O: the first request of a stream, and for every
//! `DiscoveryResponse` the ACK or NACK to send and the layers to apply.
//!
//! State of the world, as Envoy's client: a response is applied whole or not at all. Every
//! resource must be a `Runtime` (checked through the `Any` type URL) that was subscribed to,
//! and every layer must flatten (no lists, no nulls); otherwise the response is NACKed with
//! `error_detail` (code 13, the layer and the key) and the previous version, and nothing
//! changes. A subscribed layer missing from a response keeps its values (RTDS responses need
//! not carry every resource). One request answers each response: the control plane handles
//! stale nonces, the bridge never resends.

use prost::Message;
use weir_runtime::Layer;

use crate::config::{Api, Config};
use crate::proto::{
    Any, CODE_INTERNAL, DiscoveryRequest, DiscoveryResponse, Node, RUNTIME_TYPE, RUNTIME_TYPE_URL, Runtime,
    Status, struct_to_json,
};

/// What to do with a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A response of another type on an ADS stream: logged, nothing sent.
    Ignored {
        /// Its type URL.
        type_url: String,
    },
    /// Valid: apply `layers`, then send `ack`.
    Accepted {
        /// The ACK.
        ack: DiscoveryRequest,
        /// The layers the response carried, flattened.
        layers: Vec<(String, Layer)>,
    },
    /// Invalid: keep everything, send `nack`.
    Rejected {
        /// The NACK (previous version, this nonce, `error_detail`).
        nack: DiscoveryRequest,
        /// Why.
        reason: String,
    },
}

/// The client side of one subscription, kept across streams (it remembers the last ACKed
/// version, which a new stream announces).
#[derive(Debug, Clone)]
pub struct Session {
    api: Api,
    node: Node,
    names: Vec<String>,
    acked: String,
}

impl Session {
    /// A session for the configured layers.
    pub fn new(config: &Config) -> Session {
        Session {
            api: config.api,
            node: Node {
                id: config.node_id.clone(),
                cluster: config.node_cluster.clone(),
                user_agent_name: "weir-rtds-bridge".to_string(),
                user_agent_version: env!("CARGO_PKG_VERSION").to_string(),
            },
            names: config.layers.clone(),
            acked: String::new(),
        }
    }

    /// The version last ACKed (empty before the first).
    pub fn acked_version(&self) -> &str {
        &self.acked
    }

    /// The first request of a stream: the subscription, announcing the version already held.
    pub fn initial_request(&self) -> DiscoveryRequest {
        self.request(self.acked.clone(), String::new(), None)
    }

    fn request(&self, version: String, nonce: String, error: Option<Status>) -> DiscoveryRequest {
        DiscoveryRequest {
            version_info: version,
            node: Some(self.node.clone()),
            resource_names: self.names.clone(),
            type_url: RUNTIME_TYPE_URL.to_string(),
            response_nonce: nonce,
            error_detail: error,
        }
    }

    /// Decodes the bytes of a response and handles it; `Err` when they are not a
    /// `DiscoveryResponse` at all (there is no nonce to NACK: the stream must be restarted).
    pub fn handle_bytes(&mut self, bytes: &[u8]) -> Result<Outcome, String> {
        let response =
            DiscoveryResponse::decode(bytes).map_err(|e| format!("malformed DiscoveryResponse: {e}"))?;
        Ok(self.handle(&response))
    }

    /// Handles a response.
    pub fn handle(&mut self, response: &DiscoveryResponse) -> Outcome {
        if !response.type_url.is_empty() && response.type_url != RUNTIME_TYPE_URL {
            if self.api == Api::Ads {
                return Outcome::Ignored { type_url: response.type_url.clone() };
            }
            return self.reject(response, format!("unexpected type_url {}", response.type_url));
        }
        match decode_layers(&response.resources, &self.names) {
            Ok(layers) => {
                self.acked = response.version_info.clone();
                let ack = self.request(self.acked.clone(), response.nonce.clone(), None);
                Outcome::Accepted { ack, layers }
            }
            Err(reason) => self.reject(response, reason),
        }
    }

    fn reject(&self, response: &DiscoveryResponse, reason: String) -> Outcome {
        let error = Status { code: CODE_INTERNAL, message: reason.clone() };
        let nack = self.request(self.acked.clone(), response.nonce.clone(), Some(error));
        Outcome::Rejected { nack, reason }
    }
}

/// Decodes and flattens every resource of a response: `(layer name, values)`, or the reason
/// the whole response is refused (naming the layer and the key).
pub fn decode_layers(resources: &[Any], subscribed: &[String]) -> Result<Vec<(String, Layer)>, String> {
    let mut out: Vec<(String, Layer)> = Vec::with_capacity(resources.len());
    for resource in resources {
        let full_name = resource.type_url.rsplit('/').next().unwrap_or_default();
        if full_name != RUNTIME_TYPE {
            return Err(format!("expected a {RUNTIME_TYPE} resource, got {}", resource.type_url));
        }
        let runtime = Runtime::decode(resource.value.as_slice())
            .map_err(|e| format!("cannot decode {RUNTIME_TYPE}: {e}"))?;
        if !subscribed.contains(&runtime.name) {
            return Err(format!("runtime layer `{}` was not subscribed to", runtime.name));
        }
        if out.iter().any(|(name, _)| *name == runtime.name) {
            return Err(format!("runtime layer `{}` appears twice in one response", runtime.name));
        }
        let json = runtime.layer.as_ref().map_or_else(|| serde_json::json!({}), struct_to_json);
        let layer =
            weir_runtime::flatten(&json).map_err(|e| format!("runtime layer `{}`: {e}", runtime.name))?;
        out.push((runtime.name, layer));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
