//! `GET /v1/models`: the models that have checkpoints; `GET /v1/models/{publisher}/{model}/checkpoints`:
//! a model's `model_checkpoint` entries.

use axum::extract::State;
use axum::Json;
use ledger::entry::EntryBody;
use ledger::ledger::Cursor;
use ledger::LeafIndex;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::datasets::{stored_entry, CursorQuery};
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
    #[schema(pattern = "^[0-9a-f]{64}$")]
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
#[into_params(parameter_in = Query)]
pub struct CheckpointQuery {
    /// Only entries with a larger index (the previous page's `next`).
    pub after: Option<u64>,
    /// Items per page (default 100, at most the configured `max_page`).
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
}

/// A model: a publisher's model name with at least one `model_checkpoint` entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ModelView {
    pub publisher: String,
    pub model: String,
    /// How many `model_checkpoint` entries it has.
    pub checkpoints: u64,
    /// The log index of its latest `model_checkpoint` entry.
    pub latest: u64,
}

/// A page of models.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ModelPage {
    pub items: Vec<ModelView>,
    /// The cursor of the next page, absent on the last.
    pub next: Option<String>,
}

/// `GET /v1/models`: every model with a checkpoint, in index order (publisher, then model; names
/// are length-prefixed, so by length, then bytewise). Built from the
/// `model_checkpoint` index: one seek per model, then that model's checkpoint indexes (all of
/// them, as `/v1/models/{publisher}/{model}/checkpoints` reads them) to count them.
#[utoipa::path(get, path = "/v1/models", tag = "read", operation_id = "list_models",
    params(CursorQuery),
    responses(
        (status = 200, description = "A page of models", body = ModelPage),
        (status = 400, description = "Bad cursor", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<CursorQuery>,
) -> Result<Json<ModelPage>, ApiError> {
    let limit = crate::page::limit(&state, q.limit);
    let after = crate::page::cursor(q.cursor.as_deref())?;
    state
        .blocking(move |l| {
            let page = l.models(after.as_ref(), limit)?;
            let items = page
                .items
                .into_iter()
                .map(|m| ModelView {
                    publisher: m.publisher,
                    model: m.model,
                    checkpoints: m.checkpoints,
                    latest: m.latest.0,
                })
                .collect();
            let next = page.next.as_ref().map(Cursor::to_string);
            Ok(Json(ModelPage { items, next }))
        })
        .await
}

/// `GET /v1/models/{publisher}/{model}/checkpoints`.
#[utoipa::path(get, path = "/v1/models/{publisher}/{model}/checkpoints", tag = "read", operation_id = "list_model_checkpoints",
    params(("publisher" = String, Path, example = "open-models"), ("model" = String, Path, example = "licence-lm"), CheckpointQuery),
    responses(
        (status = 200, description = "A page of the model's checkpoints, in log order", body = CheckpointPage),
        (status = 400, description = "Malformed path or query parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
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
