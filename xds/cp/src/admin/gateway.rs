//! `/gateway/...`: Gateway API manifests in, their status out.
//!
//! | request | does |
//! |---|---|
//! | `POST /gateway/apply` | the body is every manifest (YAML documents or JSON, at most 8 MiB): translated and served, one node group per Gateway of weir-cp's, replacing all of them ([`crate::gateway`]) |
//! | `GET /gateway/status` | the status conditions of the last apply (404 before the first); `lastRefused`: why the latest apply was refused, until one succeeds |

use http::{Method, StatusCode};
use hyper::body::Incoming;

use super::Call;
use super::reply::{self, Failure, Reply};
use crate::gateway::{self, GatewayError, MAX_MANIFESTS};

/// Handles `/gateway/{rest}`.
pub async fn handle(call: &Call<'_>, rest: &[String], body: Incoming) -> Result<Reply, Failure> {
    let (shared, method, uri) = (call.shared, &call.parts.method, &call.parts.uri);
    match (method, rest) {
        (&Method::POST, [apply]) if apply == "apply" => {
            reply::query(uri, &[])?;
            let bytes =
                reply::body_up_to(&call.parts.headers, body, weir_admin_guard::YAML, MAX_MANIFESTS).await?;
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| Failure::bad_request("the body is not UTF-8"))?;
            let worker = shared.clone();
            let applied =
                tokio::task::spawn_blocking(move || gateway::apply(&worker.store, &worker.gateway, &text))
                    .await
                    .map_err(|e| Failure {
                        status: StatusCode::INTERNAL_SERVER_ERROR,
                        message: format!("apply aborted: {e}"),
                        challenge: None,
                    })?;
            match applied {
                Ok(applied) => Ok(reply::json(StatusCode::OK, &applied)),
                Err(e) => {
                    shared.gateway.refused(e.to_string());
                    match e {
                        GatewayError::Store(e) => Err(Failure::from(e)),
                        e => Err(Failure::bad_request(e.to_string())),
                    }
                }
            }
        }
        (&Method::GET, [status]) if status == "status" => {
            reply::query(uri, &[])?;
            let mut view = match shared.gateway.status() {
                Some(status) => serde_json::to_value(&*status).unwrap_or_default(),
                None if shared.gateway.last_refused().is_some() => serde_json::json!({}),
                None => {
                    return Err(Failure::not_found("no Gateway API manifests applied since weir-cp started"));
                }
            };
            if let (Some(refused), Some(map)) = (shared.gateway.last_refused(), view.as_object_mut()) {
                map.insert("lastRefused".into(), refused.into());
            }
            Ok(reply::json(StatusCode::OK, &view))
        }
        (_, [what]) if what == "apply" || what == "status" => Err(Failure::method(method, uri.path())),
        _ => Err(Failure::not_found("try POST /gateway/apply or GET /gateway/status")),
    }
}
