//! Stored sets: reads (a set's size, its leaves, membership proofs), the collection of sets that
//! no entry names, and the answer to the retired root-keyed upload.
//!
//! Uploads are in [`crate::uploads`]: they start with a request and are addressed by an upload
//! id, never by root (knowing a root must not let anyone touch another client's upload).

use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use ledger::store::sets::SetInfo;
use ledger::{ContentId, Digest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Path, Query};
use crate::problem::ApiError;
use crate::schemas::{SetLeafJson, SetMembershipProofJson};
use crate::state::AppState;

/// A stored set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SetView {
    /// The set's root, 64 hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub root: String,
    /// Its number of leaves.
    pub size: u64,
}

/// A page of a set's leaves.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeafPage {
    pub items: Vec<LeafItemJson>,
    /// The `offset` of the next page, absent on the last.
    pub next: Option<u64>,
}

/// A set leaf (`cid`, `size`, `meta` digest) and, when asked with `meta=true`, its metadata.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeafItemJson {
    #[serde(flatten)]
    pub leaf: SetLeafJson,
    /// Only with `meta=true`: the leaf's metadata, whose canonical JSON (RFC 8785) hashes with
    /// BLAKE3 to `meta`; null when the set was stored without metadata. (Named `metadata`
    /// because `meta` is the leaf's digest.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Option<serde_json::Value>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeavesQuery {
    /// First item (default 0).
    pub offset: Option<u64>,
    /// Items per page (default 100, at most the configured `max_page`).
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
    /// `true`: each item carries its stored metadata (`metadata`), so that anyone can
    /// recompute the digests, the source tree and the statistics. Pages are then at most 256
    /// leaves (follow `next`).
    pub meta: Option<bool>,
}

/// Leaves per page at most with `meta=true`.
const META_PAGE: usize = 256;

fn parse_root(root: &str) -> Result<Digest, ApiError> {
    Digest::from_hex(root).map_err(|e| ApiError::bad_request(format!("set root: {e}")))
}

pub(crate) fn set_view(info: SetInfo) -> SetView {
    SetView {
        root: info.root.to_hex(),
        size: info.size.0,
    }
}

/// `PUT /v1/sets/{root}`: retired. An upload keyed by nothing but its root could be taken over
/// by anyone who knew the root; uploads now start with `POST /v1/uploads`.
#[utoipa::path(put, path = "/v1/sets/{root}", tag = "write", operation_id = "put_set_retired",
    params(("root" = String, Path, description = "The set's claimed root, 64 hex", pattern = "^[0-9a-f]{64}$", example = "678051afbf6b908c87d55374bb4948408db6810e979685094ea1cbbedfd1c8da")),
    responses(
        (status = 410, description = "Retired (`upload-flow-changed`): start with POST /v1/uploads", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit (`payload-too-large`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_set_gone() -> ApiError {
    ApiError::Gone {
        slug: "upload-flow-changed",
        detail: "uploads start with POST /v1/uploads (a signed or anonymous request) and go to \
            /v1/uploads/{upload_id}; see docs/api.md"
            .into(),
    }
}

/// Runs until `stop` turns true: drops idle uploads, and (when `sets.collect_after_secs` is not
/// 0) deletes the stored sets and passage trees older than that which no logged entry names. A collection in
/// progress is finished before it returns.
pub(crate) async fn housekeeping(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let after = state.config().sets.collect_after();
    // Often enough that a set outlives its collect_after by at most half of it (or an hour).
    let every = after.map_or(Duration::from_secs(60), |a| {
        (a / 2).clamp(Duration::from_secs(1), Duration::from_secs(3600))
    });
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let (gone, open) = {
            let mut table = state.uploads();
            (table.sweep(crate::uploads::unix_now()), table.len())
        };
        drop(gone);
        metrics::gauge!("prov_uploads_in_progress").set(open as f64);
        let Some(after) = after else { continue };
        let ledger = state.ledger().clone();
        match tokio::task::spawn_blocking(move || ledger.collect_unnamed_sets(after)).await {
            Ok(Ok(c)) => {
                if !c.removed.is_empty() {
                    tracing::info!(removed = c.removed.len(), "collected unnamed sets");
                }
                metrics::counter!("prov_sets_collected_total").increment(c.removed.len() as u64);
            }
            Ok(Err(e)) => tracing::error!(error = %e, "set collection failed; retrying later"),
            Err(e) => tracing::error!(error = %e, "set collection task failed"),
        }
        // Passage trees (issue 14) that no entry names, on the same clock.
        let ledger = state.ledger().clone();
        match tokio::task::spawn_blocking(move || ledger.collect_unnamed_passages(after)).await {
            Ok(Ok(c)) => {
                if !c.removed.is_empty() {
                    tracing::info!(removed = c.removed.len(), "collected unnamed passage trees");
                }
                metrics::counter!("prov_passage_trees_collected_total")
                    .increment(c.removed.len() as u64);
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "passage-tree collection failed; retrying later")
            }
            Err(e) => tracing::error!(error = %e, "passage-tree collection task failed"),
        }
    }
}

/// `GET /v1/sets/{root}`.
#[utoipa::path(get, path = "/v1/sets/{root}", tag = "read", operation_id = "get_set",
    params(("root" = String, Path, description = "64 hex", pattern = "^[0-9a-f]{64}$", example = "678051afbf6b908c87d55374bb4948408db6810e979685094ea1cbbedfd1c8da")),
    responses(
        (status = 200, description = "The stored set", body = SetView),
        (status = 404, description = "No such set", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed root", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_set(
    State(state): State<AppState>,
    Path(root): Path<String>,
) -> Result<axum::Json<SetView>, ApiError> {
    let root = parse_root(&root)?;
    let info = state
        .ledger()
        .sets()
        .info(&root)?
        .ok_or_else(|| ApiError::not_found(format!("set {root}")))?;
    Ok(axum::Json(set_view(info)))
}

/// `GET /v1/sets/{root}/leaves`: the set's leaves in order, so anyone can re-check its root.
#[utoipa::path(get, path = "/v1/sets/{root}/leaves", tag = "read", operation_id = "list_set_leaves",
    params(("root" = String, Path, description = "64 hex", pattern = "^[0-9a-f]{64}$", example = "678051afbf6b908c87d55374bb4948408db6810e979685094ea1cbbedfd1c8da"), LeavesQuery),
    responses(
        (status = 200, description = "A page of leaves", body = LeafPage),
        (status = 404, description = "No such set", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed root or query parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn leaves(
    State(state): State<AppState>,
    Path(root): Path<String>,
    Query(q): Query<LeavesQuery>,
) -> Result<axum::Json<LeafPage>, ApiError> {
    let root = parse_root(&root)?;
    let offset = q.offset.unwrap_or(0);
    let limit = crate::page::limit(&state, q.limit);
    let with_meta = q.meta.unwrap_or(false);
    // Metadata is up to 64 KiB a leaf: smaller pages keep an answer under 16 MiB.
    let limit = if with_meta {
        limit.min(META_PAGE)
    } else {
        limit
    };
    let page = state
        .blocking(move |l| {
            let size = l
                .sets()
                .info(&root)?
                .ok_or_else(|| ApiError::not_found(format!("set {root}")))?
                .size
                .0;
            let items: Vec<LeafItemJson> = if with_meta {
                l.sets()
                    .leaves_with_meta(&root, offset, limit)?
                    .into_iter()
                    .map(|(leaf, meta)| {
                        let meta = meta
                            .map(|b| serde_json::from_slice(&b))
                            .transpose()
                            .map_err(|e| ApiError::internal(format!("stored metadata: {e}")))?;
                        Ok(LeafItemJson {
                            leaf: SetLeafJson::from(leaf),
                            metadata: Some(meta),
                        })
                    })
                    .collect::<Result<_, ApiError>>()?
            } else {
                l.sets()
                    .leaves(&root, offset, limit)?
                    .into_iter()
                    .map(|leaf| LeafItemJson {
                        leaf: SetLeafJson::from(leaf),
                        metadata: None,
                    })
                    .collect()
            };
            let end = offset.saturating_add(items.len() as u64);
            Ok(LeafPage {
                items,
                next: (end < size).then_some(end),
            })
        })
        .await?;
    Ok(axum::Json(page))
}

/// `GET /v1/sets/{root}/proof/{cid}`: inclusion or exclusion of a content id.
#[utoipa::path(get, path = "/v1/sets/{root}/proof/{cid}", tag = "read", operation_id = "get_set_proof",
    params(("root" = String, Path, description = "64 hex", pattern = "^[0-9a-f]{64}$", example = "678051afbf6b908c87d55374bb4948408db6810e979685094ea1cbbedfd1c8da"), ("cid" = String, Path, description = "A content id, `blake3:<64 lowercase hex>`", pattern = "^blake3:[0-9a-f]{64}$", example = "blake3:004690c0d30fc7b76506bd01a7fca19c8b14893602cff9bb697c287a4490cd29")),
    responses(
        (status = 200, description = "`included` or `excluded`, verifiable against the root and size", body = SetMembershipProofJson),
        (status = 400, description = "Malformed root or content id", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such set", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn proof(
    State(state): State<AppState>,
    Path((root, cid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let root = parse_root(&root)?;
    let cid = parse_cid(&cid)?;
    let proof = state.ledger().set_proof(&root, &cid)?;
    Ok(axum::Json(proof).into_response())
}

pub(crate) fn parse_cid(s: &str) -> Result<ContentId, ApiError> {
    s.parse()
        .map_err(|e| ApiError::bad_request(format!("content id: {e}")))
}
