//! `weir-cp apply -f fleet.yaml` with a resource file: Envoy listeners, route configurations,
//! clusters and endpoints, everyone's or a node group's; `weir-cp group get|delete`.

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
    let group = document.get("group").and_then(|g| g.get("name")).and_then(Value::as_str).map(str::to_string);
    let view: BTreeMap<String, ChangeView> =
        admin.call(Method::POST, "/apply", Some(document.to_string().into_bytes())).await?;
    if let Some(group) = group {
        println!("group {group}:");
    }
    for what in ResourceSet::KEYS {
        let Some(change) = view.get(what) else { continue };
        match change.changed {
            true => println!("{what}: version {}", change.version),
            false => println!("{what}: unchanged (version {})", change.version),
        }
    }
    Ok(())
}

/// `weir-cp group ...`.
#[derive(Debug, clap::Subcommand)]
pub enum GroupCommand {
    /// Print every node group: its selector and its resources (JSON).
    Get,
    /// Remove a node group: its nodes get everyone's resources again.
    Delete {
        /// The group name.
        name: String,
    },
}

/// Runs a `group` command.
pub async fn group(admin: &AdminClient, command: GroupCommand) -> Result<(), CliError> {
    match command {
        GroupCommand::Get => {
            let answer: Value = admin.call(Method::GET, "/groups", None).await?;
            println!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default());
        }
        GroupCommand::Delete { name } => {
            let path = format!("/groups/{}", super::client::segment(&name));
            let change: ChangeView = admin.call(Method::DELETE, &path, None).await?;
            println!("group {name}: deleted, version {}", change.version);
        }
    }
    Ok(())
}
