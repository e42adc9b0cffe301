//! `weir-cp apply -f fleet.yaml` with a resource file: Envoy clusters and endpoints.

use http::Method;
use serde::Deserialize;
use serde_json::Value;

use super::client::AdminClient;
use super::error::CliError;
use crate::admin::views::ChangeView;

/// The keys of a resource file, each holding a list of Envoy resources.
const KEYS: [&str; 2] = ["clusters", "endpoints"];

/// Whether `document` is a resource file: an object where a resource key holds a list
/// (runtime layers hold no lists, so nothing else looks like one).
pub fn is_resource_file(document: &Value) -> bool {
    document.as_object().is_some_and(|o| KEYS.iter().any(|k| o.get(*k).is_some_and(Value::is_array)))
}

#[derive(Debug, Deserialize)]
struct ApplyView {
    clusters: ChangeView,
    endpoints: ChangeView,
}

/// Sends the file to `POST /apply`; prints what changed.
pub async fn apply(admin: &AdminClient, document: Value) -> Result<(), CliError> {
    let view: ApplyView = admin.call(Method::POST, "/apply", Some(document.to_string().into_bytes())).await?;
    for (what, change) in [("clusters", view.clusters), ("endpoints", view.endpoints)] {
        match change.changed {
            true => println!("{what}: version {}", change.version),
            false => println!("{what}: unchanged (version {})", change.version),
        }
    }
    Ok(())
}
