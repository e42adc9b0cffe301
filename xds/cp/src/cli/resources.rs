//! `weir-cp apply -f fleet.yaml` with a resource file: Envoy clusters, endpoints and route
//! configurations.

use http::Method;
use std::collections::BTreeMap;

use serde_json::Value;

use super::client::AdminClient;
use super::error::CliError;
use crate::admin::views::ChangeView;
use crate::envoy_resource::ResourceSet;

/// Whether `document` is a resource file: an object where a resource key holds a list
/// (runtime layers hold no lists, so nothing else looks like one).
pub fn is_resource_file(document: &Value) -> bool {
    document
        .as_object()
        .is_some_and(|o| ResourceSet::KEYS.iter().any(|k| o.get(*k).is_some_and(Value::is_array)))
}

/// Sends the file to `POST /apply`; prints what changed.
pub async fn apply(admin: &AdminClient, document: Value) -> Result<(), CliError> {
    let view: BTreeMap<String, ChangeView> =
        admin.call(Method::POST, "/apply", Some(document.to_string().into_bytes())).await?;
    for what in ResourceSet::KEYS {
        let Some(change) = view.get(what) else { continue };
        match change.changed {
            true => println!("{what}: version {}", change.version),
            false => println!("{what}: unchanged (version {})", change.version),
        }
    }
    Ok(())
}
