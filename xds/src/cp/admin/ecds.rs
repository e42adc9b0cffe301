//! `/ecds`: read and change ECDS filter configurations.
//!
//! | request | effect |
//! |---|---|
//! | `GET /ecds` | every resource with versions |
//! | `GET /ecds/{name}` | one resource |
//! | `PUT /ecds/{name}` | create or replace (body: `{wasm, vm_id, root_id?, configuration?, failure_policy?}`) |
//! | `DELETE /ecds/{name}` | remove |

use std::sync::Arc;

use http::{Method, StatusCode};
use hyper::body::Incoming;

use super::reply::{self, Failure, Reply};
use super::views::{ChangeView, EcdsEntryView, EcdsView};
use super::with_store;
use crate::cp::ecds::EcdsConfig;
use crate::cp::shared::Shared;

/// Handles `/ecds/...`; `rest` are the decoded path segments after `ecds`.
pub async fn handle(
    shared: &Arc<Shared>,
    method: &Method,
    uri: &http::Uri,
    rest: &[String],
    body: Incoming,
) -> Result<Reply, Failure> {
    match (method, rest) {
        (&Method::GET, []) => Ok(reply::json(StatusCode::OK, &EcdsView::of(&shared.store.snapshot()))),
        (&Method::GET, [name]) => {
            let state = shared.store.snapshot();
            let entry = state
                .ecds
                .resources
                .get(name)
                .ok_or_else(|| Failure::not_found(format!("ECDS resource `{name}` not found")))?;
            let view = EcdsEntryView { version: entry.version.to_string(), config: entry.value.clone() };
            Ok(reply::json(StatusCode::OK, &view))
        }
        (&Method::PUT, [name]) => {
            let bytes = reply::body(body).await?;
            let config: EcdsConfig = serde_json::from_slice(&bytes)
                .map_err(|e| Failure::bad_request(format!("invalid ECDS config for `{name}`: {e}")))?;
            let name = name.clone();
            let change = with_store(shared, move |store| store.put_ecds(&name, config)).await?;
            Ok(reply::json(StatusCode::OK, &ChangeView::from(change)))
        }
        (&Method::DELETE, [name]) => {
            let name = name.clone();
            let change = with_store(shared, move |store| store.delete_ecds(&name)).await?;
            Ok(reply::json(StatusCode::OK, &ChangeView::from(change)))
        }
        (_, [] | [_]) => Err(Failure::method(method, uri.path())),
        _ => Err(Failure::not_found(format!("no such resource: {}", uri.path()))),
    }
}
