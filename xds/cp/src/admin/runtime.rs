//! `/runtime`: read and change runtime layers.
//!
//! | request | effect |
//! |---|---|
//! | `GET /runtime` | every layer, flattened, with versions |
//! | `GET /runtime/{layer}` | one layer |
//! | `GET /runtime/{layer}/{key}` | one value |
//! | `PUT /runtime/{layer}/{key}` | set a value (body: a JSON value, checked) |
//! | `DELETE /runtime/{layer}/{key}` | remove a value |
//! | `POST /runtime/{layer}[?mode=replace\|merge][&validate=false]` | replace (default) or merge a whole layer from a JSON/YAML object |
//! | `DELETE /runtime/{layer}` | remove a layer |
//!
//! `validate=false` stores the layer **unchecked** (lists, nulls): only to test that clients
//! NACK such layers. Bodies: `PUT` takes `application/json`; `POST` takes `application/json`
//! or YAML (`application/yaml`, `application/x-yaml`, `text/yaml`); at most 1 MiB.

use http::{Method, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use super::reply::{self, Failure, Reply};
use super::views::{ChangeView, LayerView, RuntimeView};
use super::{Call, with_store};
use crate::layer;
use crate::store::ApplyMode;

/// Handles `/runtime/...`; `rest` are the decoded path segments after `runtime`.
pub async fn handle(call: &Call<'_>, rest: &[String], body: Incoming) -> Result<Reply, Failure> {
    let (shared, method, uri, headers) =
        (call.shared, &call.parts.method, &call.parts.uri, &call.parts.headers);
    match (method, rest) {
        (&Method::GET, []) => Ok(reply::json(StatusCode::OK, &RuntimeView::of(&shared.store.snapshot()))),
        (&Method::GET, [name]) => {
            let state = shared.store.snapshot();
            let entry = state
                .runtime
                .resources
                .get(name)
                .ok_or_else(|| Failure::not_found(format!("layer `{name}` not found")))?;
            Ok(reply::json(StatusCode::OK, &LayerView::of(entry)))
        }
        (&Method::GET, [name, key]) => {
            let state = shared.store.snapshot();
            let entry = state
                .runtime
                .resources
                .get(name)
                .ok_or_else(|| Failure::not_found(format!("layer `{name}` not found")))?;
            let value = layer::flatten_lenient(&entry.value)
                .remove(key)
                .ok_or_else(|| Failure::not_found(format!("key `{key}` not found in layer `{name}`")))?;
            Ok(reply::json(StatusCode::OK, &json!({"layer": name, "key": key, "value": value})))
        }
        (&Method::PUT, [name, key]) => {
            reply::query(uri, &[])?;
            let value = reply::json_value(&reply::body(headers, body, weir_admin_guard::JSON).await?)?;
            let (name, key) = (name.clone(), key.clone());
            let change = with_store(shared, move |store| store.set_value(&name, &key, value)).await?;
            Ok(reply::json(StatusCode::OK, &ChangeView::from(change)))
        }
        (&Method::DELETE, [name, key]) => {
            let (name, key) = (name.clone(), key.clone());
            let change = with_store(shared, move |store| store.unset_value(&name, &key)).await?;
            Ok(reply::json(StatusCode::OK, &ChangeView::from(change)))
        }
        (&Method::POST, [name]) => {
            let params = reply::query(uri, &["validate", "mode"])?;
            let checked = reply::flag(&params, "validate", true)?;
            let mode = match params.iter().rev().find(|(k, _)| k == "mode").map(|(_, v)| v.as_str()) {
                None | Some("replace") => ApplyMode::Replace,
                Some("merge") => ApplyMode::Merge,
                Some(other) => {
                    return Err(Failure::bad_request(format!(
                        "`mode` must be replace or merge, not `{other}`"
                    )));
                }
            };
            let value = reply::json_or_yaml(&reply::body(headers, body, weir_admin_guard::YAML).await?)?;
            let name = name.clone();
            let change =
                with_store(shared, move |store| store.apply_layer(&name, value, mode, checked)).await?;
            Ok(reply::json(StatusCode::OK, &ChangeView::from(change)))
        }
        (&Method::DELETE, [name]) => {
            let name = name.clone();
            let change = with_store(shared, move |store| store.delete_layer(&name)).await?;
            Ok(reply::json(StatusCode::OK, &ChangeView::from(change)))
        }
        (_, [] | [_] | [_, _]) => Err(Failure::method(method, uri.path())),
        _ => Err(Failure::not_found(format!("no such resource: {}", uri.path()))),
    }
}
