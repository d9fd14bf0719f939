//! `GET /healthz`: liveness, and whether the ledger accepts writes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// The service's state, for load balancers and operators.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or `read-only` when the sequencer stopped after a storage failure (reads still
    /// work; writes answer 503 until the ledger is reopened).
    pub status: String,
    /// The log's origin line.
    pub origin: String,
    /// The log's verifier key, C2SP vkey form (`name+hash+base64`).
    pub verifier_key: String,
    /// The size of the latest signed checkpoint.
    pub tree_size: u64,
    /// The mirror in an object store (`prov serve --publish`); absent when not configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<crate::publish::PublishHealth>,
}

#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "get_health",
    responses(
        (status = 200, description = "Up and accepting writes", body = Health),
        (status = 503, description = "Up but read-only after a storage failure (a Health body), or the request timed out (a problem body)",
            content((Health = "application/json"), (crate::problem::Problem = "application/problem+json"))),
    ))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    let l = state.ledger();
    let fatal = l.fatal().is_some();
    let body = Health {
        status: if fatal { "read-only" } else { "ok" }.into(),
        origin: l.origin().to_string(),
        verifier_key: l.verifier_key().to_string(),
        tree_size: l.checkpoint().size().0,
        publish: state
            .publishing()
            .map(|p| p.health(l.checkpoint().size().0)),
    };
    let status = if fatal {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(body)).into_response()
}
