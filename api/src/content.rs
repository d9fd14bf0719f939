//! `GET /v1/content/{cid}`: where a content id appears: which dataset versions hold it (each
//! with the set inclusion proof against its manifest root), and which model checkpoints were
//! trained on those versions.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::Json;
use ledger::LeafIndex;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::datasets::{version_view, DatasetVersionView};
use crate::extract::{Path, Query};
use crate::models::{checkpoint_view, ModelCheckpointView};
use crate::problem::ApiError;
use crate::schemas::SetMembershipProofJson;
use crate::sets::parse_cid;
use crate::state::AppState;

/// Model checkpoints examined per request, at most: the scan is over every checkpoint entry, so
/// it is bounded; `checkpoints_truncated` says when the bound was hit.
const MAX_CHECKPOINT_SCAN: usize = 100_000;

/// One dataset version holding the id, with the proof.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Appearance {
    pub dataset: DatasetVersionView,
    /// `included`, against `dataset.manifest_root` and `dataset.item_count`.
    pub proof: SetMembershipProofJson,
}

/// Where a content id appears.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContentView {
    #[schema(pattern = "^blake3:[0-9a-f]{64}$")]
    pub cid: String,
    /// A page of the dataset versions holding the id, in log order.
    pub dataset_versions: Vec<Appearance>,
    /// The model checkpoints trained on any version in `dataset_versions`.
    pub checkpoints: Vec<ModelCheckpointView>,
    /// Whether the checkpoint scan stopped at its bound.
    pub checkpoints_truncated: bool,
    /// `offset` of the next page of dataset versions; absent on the last.
    pub next: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContentQuery {
    /// First dataset version (default 0).
    pub offset: Option<u64>,
    /// Dataset versions per page (default 100, at most the configured `max_page`).
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
}

/// `GET /v1/content/{cid}`.
#[utoipa::path(get, path = "/v1/content/{cid}", tag = "read", operation_id = "get_content_appearances",
    params(("cid" = String, Path, description = "A content id, `blake3:<64 lowercase hex>`", pattern = "^blake3:[0-9a-f]{64}$", example = "blake3:004690c0d30fc7b76506bd01a7fca19c8b14893602cff9bb697c287a4490cd29"), ContentQuery),
    responses(
        (status = 200, description = "Where the id appears (possibly nowhere)", body = ContentView),
        (status = 400, description = "Malformed content id", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn appearances(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    Query(q): Query<ContentQuery>,
) -> Result<Json<ContentView>, ApiError> {
    let cid = parse_cid(&cid)?;
    let limit = crate::page::limit(&state, q.limit);
    let offset = q.offset.unwrap_or(0);
    state
        .blocking(move |l| {
            let size = l.checkpoint().size().0;
            let all: Vec<LeafIndex> = l
                .dataset_versions_containing(&cid)?
                .into_iter()
                .filter(|i| i.0 < size)
                .collect();
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
            let page = &all[start..(start + limit).min(all.len())];
            let mut versions = Vec::with_capacity(page.len());
            for &idx in page {
                let view = version_view(l, idx)?;
                let root =
                    ledger::Digest::from_hex(&view.manifest_root).map_err(ApiError::internal)?;
                let proof = serde_json::to_value(l.set_proof(&root, &cid)?)
                    .and_then(serde_json::from_value)
                    .map_err(ApiError::internal)?;
                versions.push(Appearance {
                    dataset: view,
                    proof,
                });
            }
            let wanted: BTreeSet<u64> = page.iter().map(|i| i.0).collect();
            let (checkpoints, truncated) = checkpoints_trained_on(l, &wanted, size)?;
            let end = (start + page.len()) as u64;
            Ok(Json(ContentView {
                cid: cid.to_string(),
                dataset_versions: versions,
                checkpoints,
                checkpoints_truncated: truncated,
                next: (end < all.len() as u64).then_some(end),
            }))
        })
        .await
}

/// Every `model_checkpoint` entry (below `size`) naming one of the `wanted` dataset version
/// entries.
fn checkpoints_trained_on(
    l: &ledger::ledger::Ledger,
    wanted: &BTreeSet<u64>,
    size: u64,
) -> Result<(Vec<ModelCheckpointView>, bool), ApiError> {
    if wanted.is_empty() {
        return Ok((Vec::new(), false));
    }
    let all = l.checkpoint_entries(MAX_CHECKPOINT_SCAN + 1)?;
    let truncated = all.len() > MAX_CHECKPOINT_SCAN;
    let mut out = Vec::new();
    for LeafIndex(idx) in all.into_iter().take(MAX_CHECKPOINT_SCAN) {
        if idx >= size {
            continue;
        }
        let view = checkpoint_view(l, LeafIndex(idx))?;
        if view.dataset_indexes.iter().any(|d| wanted.contains(d)) {
            out.push(view);
        }
    }
    out.sort_by_key(|c| c.index);
    Ok((out, truncated))
}
