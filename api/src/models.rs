//! `GET /v1/models/{publisher}/{model}/checkpoints`: a model's `model_checkpoint` entries.

use axum::extract::State;
use axum::Json;
use ledger::entry::EntryBody;
use ledger::LeafIndex;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::datasets::stored_entry;
use crate::extract::{Path, Query};
use crate::problem::ApiError;
use crate::state::AppState;

/// A `model_checkpoint` entry, decoded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ModelCheckpointView {
    pub index: u64,
    pub publisher: String,
    pub model: String,
    pub checkpoint: String,
    /// The weights set's root, 64 hex.
    pub weights_root: String,
    pub weights_count: u64,
    /// Every opt-out below this log index is claimed honoured.
    pub optout_horizon: u64,
    /// The dataset versions trained on, `publisher/dataset@version`.
    pub datasets: Vec<String>,
    /// Their `dataset_version` entries' indexes, in the same order.
    pub dataset_indexes: Vec<u64>,
}

/// A page of model checkpoints.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckpointPage {
    pub items: Vec<ModelCheckpointView>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CheckpointQuery {
    /// Only entries with a larger index (the previous page's `next`).
    pub after: Option<u64>,
    /// Items per page (default 100, at most the configured `max_page`).
    pub limit: Option<u32>,
}

/// `GET /v1/models/{publisher}/{model}/checkpoints`.
#[utoipa::path(get, path = "/v1/models/{publisher}/{model}/checkpoints", tag = "read",
    params(("publisher" = String, Path), ("model" = String, Path), CheckpointQuery),
    responses((status = 200, description = "A page of the model's checkpoints, in log order", body = CheckpointPage)))]
pub async fn checkpoints(
    State(state): State<AppState>,
    Path((publisher, model)): Path<(String, String)>,
    Query(q): Query<CheckpointQuery>,
) -> Result<Json<CheckpointPage>, ApiError> {
    let limit = crate::page::limit(&state, q.limit);
    state
        .blocking(move |l| {
            let all = l.model_checkpoints(&publisher, &model)?;
            let rest: Vec<LeafIndex> = all
                .into_iter()
                .filter(|i| q.after.is_none_or(|a| i.0 > a))
                .collect();
            let more = rest.len() > limit;
            let items = rest
                .iter()
                .take(limit)
                .map(|&i| checkpoint_view(l, i))
                .collect::<Result<Vec<_>, _>>()?;
            let next = if more {
                items.last().map(|c| c.index)
            } else {
                None
            };
            Ok(Json(CheckpointPage { items, next }))
        })
        .await
}

/// The decoded `model_checkpoint` entry at `idx`.
pub(crate) fn checkpoint_view(
    l: &ledger::ledger::Ledger,
    idx: LeafIndex,
) -> Result<ModelCheckpointView, ApiError> {
    let entry = stored_entry(l, idx)?;
    let EntryBody::ModelCheckpoint(c) = entry.body() else {
        return Err(ApiError::not_found(format!(
            "entry {idx} is not a model_checkpoint"
        )));
    };
    Ok(ModelCheckpointView {
        index: idx.0,
        publisher: c.publisher.to_string(),
        model: c.model.to_string(),
        checkpoint: c.checkpoint.to_string(),
        weights_root: c.weights_root.to_hex(),
        weights_count: c.weights_count,
        optout_horizon: c.optout_horizon,
        datasets: c.datasets.iter().map(|d| d.key().to_string()).collect(),
        dataset_indexes: c.datasets.iter().map(|d| d.index.0).collect(),
    })
}
