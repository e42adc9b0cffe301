//! Status: the conditions the spec defines, per GatewayClass, Gateway (and each listener) and
//! HTTPRoute (per parent), shaped as the resources' `status` stanzas.

use serde::Serialize;

use crate::key::Key;

/// One condition (`metav1.Condition` without the transition time: weir-cp recomputes every
/// condition from the manifests on each apply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Accepted`, `ResolvedRefs`, `Programmed`, `Conflicted`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `True` or `False`.
    pub status: &'static str,
    /// Why, in the spec's words (`NotAllowedByListeners`, `BackendNotFound`, ...).
    pub reason: &'static str,
    /// For people.
    pub message: String,
    /// The object's `metadata.generation` the condition is about, when the manifest has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl Condition {
    /// A condition that holds.
    pub fn yes(kind: &'static str, reason: &'static str, message: impl Into<String>) -> Condition {
        Condition { kind, status: "True", reason, message: message.into(), observed_generation: None }
    }

    /// A condition that does not hold.
    pub fn no(kind: &'static str, reason: &'static str, message: impl Into<String>) -> Condition {
        Condition { kind, status: "False", reason, message: message.into(), observed_generation: None }
    }
}

/// Sets `generation` on each condition.
pub(crate) fn observed(mut conditions: Vec<Condition>, generation: Option<i64>) -> Vec<Condition> {
    for c in &mut conditions {
        c.observed_generation = generation;
    }
    conditions
}

/// The status of everything weir-cp translated.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The controller weir-cp is ([`crate::CONTROLLER_NAME`]).
    pub controller_name: &'static str,
    /// GatewayClasses naming weir-cp's controller.
    pub gateway_classes: Vec<GatewayClassStatus>,
    /// Gateways of those classes.
    pub gateways: Vec<GatewayStatus>,
    /// HTTPRoutes with at least one parent among those Gateways.
    #[serde(rename = "httpRoutes")]
    pub routes: Vec<RouteStatus>,
    /// weir's `WasmPlugin` policies.
    pub wasm_plugins: Vec<crate::plugins::PluginStatus>,
    /// Objects not read (another kind or API version).
    pub ignored: Vec<String>,
}

/// A GatewayClass's status.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayClassStatus {
    /// Its name.
    pub name: String,
    /// `Accepted`.
    pub conditions: Vec<Condition>,
}

/// A Gateway's status.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayStatus {
    /// Which Gateway.
    #[serde(flatten)]
    pub key: Key,
    /// `Accepted`, `Programmed`.
    pub conditions: Vec<Condition>,
    /// Each listener's.
    pub listeners: Vec<ListenerStatus>,
}

/// A Gateway listener's status.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    /// The listener's name.
    pub name: String,
    /// How many routes attached to it.
    pub attached_routes: i32,
    /// The route kinds it takes (`HTTPRoute`).
    pub supported_kinds: Vec<RouteKind>,
    /// `Accepted`, `ResolvedRefs`, `Programmed`, `Conflicted`.
    pub conditions: Vec<Condition>,
}

/// A route kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteKind {
    /// Its API group.
    pub group: String,
    /// Its kind.
    pub kind: String,
}

/// An HTTPRoute's status.
#[derive(Debug, Clone, Serialize)]
pub struct RouteStatus {
    /// Which route.
    #[serde(flatten)]
    pub key: Key,
    /// Per parent Gateway of weir-cp's.
    pub parents: Vec<RouteParentStatus>,
}

/// An HTTPRoute's status for one parent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentStatus {
    /// The parent as the route names it (namespace filled in).
    pub parent_ref: ParentRef,
    /// [`crate::CONTROLLER_NAME`].
    pub controller_name: &'static str,
    /// `Accepted`, `ResolvedRefs`.
    pub conditions: Vec<Condition>,
}

/// A route's reference to its parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentRef {
    /// The Gateway's namespace.
    pub namespace: String,
    /// The Gateway's name.
    pub name: String,
    /// The listener named, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
    /// The port named, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
}
