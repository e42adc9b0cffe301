//! `set`, `unset`, `get`, `apply`: runtime values through the admin API.

use std::path::Path;

use http::Method;
use serde_json::{Map, Value};

use super::client::{AdminClient, segment};
use super::error::CliError;
use super::value::parse_pair;
use crate::admin::views::ChangeView;
use crate::keys;

fn report(change: &ChangeView, layer: &str) {
    if change.changed {
        println!("layer {layer}: version {}", change.version);
    } else {
        println!("layer {layer}: unchanged (version {})", change.version);
    }
}

/// `weir-cp set KEY=VALUE...`: one pair is a `PUT`; several are one merge (one new version).
pub async fn set(admin: &AdminClient, layer: &str, pairs: &[String]) -> Result<(), CliError> {
    keys::check_name("layer", layer)?;
    let parsed = pairs.iter().map(|p| parse_pair(p)).collect::<Result<Vec<_>, _>>()?;
    let change: ChangeView = match parsed.as_slice() {
        [(key, value)] => {
            let path = format!("/runtime/{}/{}", segment(layer), segment(key));
            admin.call(Method::PUT, &path, Some(value.to_string().into_bytes())).await?
        }
        _ => {
            let object: Map<String, Value> = parsed.into_iter().collect();
            let path = format!("/runtime/{}?mode=merge", segment(layer));
            admin.call(Method::POST, &path, Some(Value::Object(object).to_string().into_bytes())).await?
        }
    };
    report(&change, layer);
    Ok(())
}

/// `weir-cp unset KEY`.
pub async fn unset(admin: &AdminClient, layer: &str, key: &str) -> Result<(), CliError> {
    keys::check_key(key)?;
    let path = format!("/runtime/{}/{}", segment(layer), segment(key));
    let change: ChangeView = admin.call(Method::DELETE, &path, None).await?;
    report(&change, layer);
    Ok(())
}

/// `weir-cp get [KEY]`: the value, or the layer's values, as JSON.
pub async fn get(admin: &AdminClient, layer: &str, key: Option<&str>) -> Result<(), CliError> {
    let value: Value = match key {
        Some(key) => {
            let path = format!("/runtime/{}/{}", segment(layer), segment(key));
            let answer: Value = admin.call(Method::GET, &path, None).await?;
            answer
                .get("value")
                .cloned()
                .ok_or_else(|| CliError::BadReply("no `value` in the answer".into()))?
        }
        None => {
            let answer: Value =
                admin.call(Method::GET, &format!("/runtime/{}", segment(layer)), None).await?;
            if let Some(problem) = answer.get("invalid").and_then(Value::as_str) {
                eprintln!("warning: layer {layer} is invalid and proxies reject it: {problem}");
            }
            answer
                .get("values")
                .cloned()
                .ok_or_else(|| CliError::BadReply("no `values` in the answer".into()))?
        }
    };
    println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
    Ok(())
}

/// Reads a YAML or JSON document.
pub fn read_document(file: &Path) -> Result<Value, CliError> {
    let bad = |reason: String| CliError::File { path: file.to_path_buf(), reason };
    let text = std::fs::read_to_string(file).map_err(|e| bad(e.to_string()))?;
    if let Ok(value) = serde_json::from_str(&text) {
        return Ok(value);
    }
    serde_norway::from_str(&text).map_err(|e| bad(format!("neither JSON nor YAML: {e}")))
}

/// `weir-cp apply -f FILE`.
pub async fn apply(
    admin: &AdminClient,
    layer: &str,
    file: &Path,
    merge: bool,
    unchecked: bool,
) -> Result<(), CliError> {
    keys::check_name("layer", layer)?;
    let document = read_document(file)?;
    if super::resources::is_resource_file(&document) {
        return super::resources::apply(admin, document).await;
    }
    if !document.is_object() {
        return Err(CliError::File {
            path: file.to_path_buf(),
            reason: "a layer must be a YAML/JSON object".into(),
        });
    }
    if !unchecked {
        keys::check_layer(&document)?;
    }
    let mode = if merge { "merge" } else { "replace" };
    let path = format!("/runtime/{}?mode={mode}&validate={}", segment(layer), !unchecked);
    let change: ChangeView = admin.call(Method::POST, &path, Some(document.to_string().into_bytes())).await?;
    if unchecked {
        eprintln!("warning: layer {layer} was applied unchecked; proxies NACK invalid layers");
    }
    report(&change, layer);
    Ok(())
}
