//! `/secrets`: read and change SDS secrets.
//!
//! | request | effect |
//! |---|---|
//! | `GET /secrets` | every secret with versions |
//! | `GET /secrets/{name}` | one secret |
//! | `PUT /secrets/{name}[?validate=false]` | create or replace (`application/json`: `{certificate_chain, private_key}` or `{trusted_ca}`, PEM text) |
//! | `DELETE /secrets/{name}` | remove (proxies keep their last copy) |
//!
//! A private key is never shown, not even to an authenticated request: `GET` gives its size
//! and SHA-256. `validate=false` stores a secret whose PEM does not parse or whose key does
//! not match (its shape and size are still checked): only to test that proxies NACK it.

use http::{Method, StatusCode};
use hyper::body::Incoming;

use super::reply::{self, Failure, Reply};
use super::views::{ChangeView, SecretEntryView, SecretsView};
use super::{Call, with_store};
use crate::secret::SecretConfig;

/// Handles `/secrets/...`; `rest` are the decoded path segments after `secrets`.
pub async fn handle(call: &Call<'_>, rest: &[String], body: Incoming) -> Result<Reply, Failure> {
    let (shared, method, uri) = (call.shared, &call.parts.method, &call.parts.uri);
    match (method, rest) {
        (&Method::GET, []) => {
            reply::query(uri, &[])?;
            Ok(reply::json(StatusCode::OK, &SecretsView::of(&shared.store.snapshot())))
        }
        (&Method::GET, [name]) => {
            reply::query(uri, &[])?;
            let state = shared.store.snapshot();
            let entry = state
                .secrets
                .resources
                .get(name)
                .ok_or_else(|| Failure::not_found(format!("secret `{name}` not found")))?;
            Ok(reply::json(StatusCode::OK, &SecretEntryView::of(entry)))
        }
        (&Method::PUT, [name]) => {
            let params = reply::query(uri, &["validate"])?;
            let checked = reply::flag(&params, "validate", true)?;
            let bytes = reply::body(&call.parts.headers, body, weir_admin_guard::JSON).await?;
            let secret: SecretConfig = serde_json::from_slice(&bytes)
                .map_err(|e| Failure::bad_request(format!("invalid secret `{name}`: {e}")))?;
            let name = name.clone();
            let change = with_store(shared, move |store| store.put_secret(&name, secret, checked)).await?;
            Ok(reply::json(StatusCode::OK, &ChangeView::from(change)))
        }
        (&Method::DELETE, [name]) => {
            reply::query(uri, &[])?;
            let name = name.clone();
            let change = with_store(shared, move |store| store.delete_secret(&name)).await?;
            Ok(reply::json(StatusCode::OK, &ChangeView::from(change)))
        }
        (_, [] | [_]) => Err(Failure::method(method, uri.path())),
        _ => Err(Failure::not_found(format!("no such resource: {}", uri.path()))),
    }
}
