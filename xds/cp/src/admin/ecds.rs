//! `/ecds`: read and change ECDS filter configurations.
//!
//! | request | effect |
//! |---|---|
//! | `GET /ecds[?show_secrets=true]` | every resource with versions |
//! | `GET /ecds/{name}[?show_secrets=true]` | one resource |
//! | `PUT /ecds/{name}` | create or replace (`application/json`: `{wasm, vm_id, root_id?, configuration?, failure_policy?}`) |
//! | `DELETE /ecds/{name}` | remove |
//!
//! A `configuration` is shown as `{"redacted": true, "sha256", "bytes"}` (filter configs hold
//! API keys and passwords) unless an authenticated request (token or unix socket) asks for
//! `show_secrets=true`.

use http::{Method, StatusCode};
use hyper::body::Incoming;

use super::reply::{self, Failure, Reply};
use super::views::{ChangeView, EcdsEntryView, EcdsView};
use super::{Call, with_store};
use crate::ecds::EcdsConfig;

/// Whether the request asks for clear configurations (and may see them).
fn show_secrets(call: &Call<'_>) -> Result<bool, Failure> {
    let params = reply::query(&call.parts.uri, &["show_secrets"])?;
    let show = reply::flag(&params, "show_secrets", false)?;
    if show {
        call.guard.require(call.access, "show_secrets")?;
    }
    Ok(show)
}

/// Handles `/ecds/...`; `rest` are the decoded path segments after `ecds`.
pub async fn handle(call: &Call<'_>, rest: &[String], body: Incoming) -> Result<Reply, Failure> {
    let (shared, method, uri) = (call.shared, &call.parts.method, &call.parts.uri);
    match (method, rest) {
        (&Method::GET, []) => {
            let show = show_secrets(call)?;
            Ok(reply::json(StatusCode::OK, &EcdsView::of(&shared.store.snapshot(), show)))
        }
        (&Method::GET, [name]) => {
            let show = show_secrets(call)?;
            let state = shared.store.snapshot();
            let entry = state
                .ecds
                .resources
                .get(name)
                .ok_or_else(|| Failure::not_found(format!("ECDS resource `{name}` not found")))?;
            Ok(reply::json(StatusCode::OK, &EcdsEntryView::of(entry, show)))
        }
        (&Method::PUT, [name]) => {
            let bytes = reply::body(&call.parts.headers, body, weir_admin_guard::JSON).await?;
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
