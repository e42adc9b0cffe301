//! What weir reads of an Envoy proto, checked by reflection: every field set in a message
//! (and in the messages inside it, `Any`s unpacked) must be one weir supports, or it is
//! refused with its path. Unknown to weir means refused, never ignored; envoy-types gaining a
//! field cannot slip past this check.

use prost::{Message, Name};
use prost_reflect::{DynamicMessage, MapKey, ReflectMessage, Value};
use weir_xds::convert::envoy_json;

use super::Refusals;

/// The fields weir reads of one message type: `(full name, fields)`. A set field not listed
/// is refused; a listed field of message type is checked the same way, against its own entry
/// (a message type without an entry accepts nothing, except `google.protobuf.*` values).
pub type Spec = &'static [(&'static str, &'static [&'static str])];

/// Checks `message` against the `spec` tables, adding one refusal per unsupported field set under `at`.
pub fn check<M: Message + Name>(message: &M, spec: &[Spec], at: &str, refusals: &mut Refusals) {
    let dynamic = match to_dynamic(message) {
        Ok(d) => d,
        Err(reason) => return refusals.add(at, reason),
    };
    walk(&dynamic, spec, at, refusals);
}

fn to_dynamic<M: Message + Name>(message: &M) -> Result<DynamicMessage, String> {
    let pool = envoy_json::pool().map_err(|e| e.to_string())?;
    let descriptor = pool
        .get_message_by_name(&M::full_name())
        .ok_or_else(|| format!("{} is not in weir's Envoy API descriptors", M::full_name()))?;
    DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice()).map_err(|e| e.to_string())
}

fn walk(message: &DynamicMessage, spec: &[Spec], at: &str, refusals: &mut Refusals) {
    let name = message.descriptor().full_name().to_string();
    if name == "google.protobuf.Any" {
        return walk_any(message, spec, at, refusals);
    }
    if name.starts_with("google.protobuf.") {
        return;
    }
    for (field, value) in message.fields() {
        let path = join(at, field.name());
        if !allowed(spec, &name, field.name()) {
            refusals.add(&path, format!("{name}.{} is not supported by weir", field.name()));
            continue;
        }
        if !OPAQUE.contains(&format!("{name}.{}", field.name()).as_str()) {
            walk_value(value, spec, &path, refusals);
        }
    }
}

fn walk_value(value: &Value, spec: &[Spec], at: &str, refusals: &mut Refusals) {
    match value {
        Value::Message(m) => walk(m, spec, at, refusals),
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_value(item, spec, &format!("{at}[{i}]"), refusals);
            }
        }
        Value::Map(entries) => {
            for (key, item) in entries {
                let key = match key {
                    MapKey::String(s) => format!("{s:?}"),
                    other => format!("{other:?}"),
                };
                walk_value(item, spec, &format!("{at}[{key}]"), refusals);
            }
        }
        _ => {}
    }
}

/// An `Any`: its type must have an entry in `spec` (listing the fields weir reads of it).
fn walk_any(any: &DynamicMessage, spec: &[Spec], at: &str, refusals: &mut Refusals) {
    let field = |name: &str| any.get_field_by_name(name).map(|v| v.into_owned());
    let type_url = match field("type_url") {
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    let bytes = match field("value") {
        Some(Value::Bytes(b)) => b,
        _ => Default::default(),
    };
    let type_name = type_url.rsplit('/').next().unwrap_or_default();
    if !listed(spec, type_name) {
        return refusals.add(at, format!("{type_name} is not supported by weir here"));
    }
    let inner = envoy_json::pool()
        .map_err(|e| e.to_string())
        .and_then(|pool| {
            pool.get_message_by_name(type_name).ok_or_else(|| format!("unknown type {type_name}"))
        })
        .and_then(|d| {
            DynamicMessage::decode(d, bytes).map_err(|e| format!("cannot decode {type_name}: {e}"))
        });
    match inner {
        Ok(inner) => walk(&inner, spec, at, refusals),
        Err(reason) => refusals.add(at, reason),
    }
}

/// Fields whose content weir carries without reading its fields: typed metadata is for filters
/// to read (its type must still be one of Envoy's API to be carried: [`metadata`]).
const OPAQUE: &[&str] = &["envoy.config.core.v3.Metadata.typed_filter_metadata"];

/// Whether message type `name` has an entry in `specs`.
fn listed(specs: &[Spec], name: &str) -> bool {
    specs.iter().flat_map(|s| s.iter()).any(|(n, _)| *n == name)
}

/// Whether weir reads `field` of message type `name`: whether any of `specs` lists it (a type
/// read in several places, as `Http2ProtocolOptions` of listeners and clusters, takes the
/// fields of each; the translation refuses a field where it has no meaning).
fn allowed(specs: &[Spec], name: &str, field: &str) -> bool {
    specs.iter().flat_map(|s| s.iter()).any(|(n, fields)| *n == name && fields.contains(&field))
}

/// A proto duration; `None` when negative.
pub fn std_duration(d: &envoy_types::pb::google::protobuf::Duration) -> Option<std::time::Duration> {
    Some(std::time::Duration::new(u64::try_from(d.seconds).ok()?, u32::try_from(d.nanos).ok()?))
}

/// A proto duration as weir's config writes it (`250ms`, `5s`); a negative one as `0s`.
pub fn duration_text(d: &envoy_types::pb::google::protobuf::Duration) -> String {
    weir_plugin_spec::duration::format(std_duration(d).unwrap_or_default())
}

/// `at.field`, or `field` at the top.
pub fn join(at: &str, field: &str) -> String {
    if at.is_empty() { field.to_string() } else { format!("{at}.{field}") }
}

/// Envoy's `Metadata` (its `filter_metadata`) as weir's.
pub fn metadata(
    pb: &envoy_types::pb::envoy::config::core::v3::Metadata,
    at: &str,
    refusals: &mut Refusals,
) -> crate::config::Metadata {
    let filter_metadata = pb
        .filter_metadata
        .iter()
        .map(|(ns, values)| match weir_xds::convert::struct_to_json(values) {
            serde_json::Value::Object(map) => (ns.clone(), map),
            _ => (ns.clone(), serde_json::Map::new()),
        })
        .collect();
    let mut typed_filter_metadata = std::collections::BTreeMap::new();
    for (ns, any) in &pb.typed_filter_metadata {
        match envoy_json::to_json(any) {
            Ok(value) => {
                typed_filter_metadata.insert(ns.clone(), value);
            }
            Err(e) => {
                refusals.add(&format!("{}[\"{ns}\"]", join(at, "typed_filter_metadata")), e.to_string())
            }
        }
    }
    crate::config::Metadata { filter_metadata, typed_filter_metadata }
}
