//! "Was my work used?" (issue 14): range proofs over a dataset version's passage tree, for one
//! passage id or for many at once (one multi-range proof), and the leaves of a stored passage
//! tree (an opt-out's, for a verifier).
//!
//! A proof verifies against the `passages` root and size of the version's `dataset_version`
//! entry (`verifier::range::verify_range` / `verify_ranges` over `Range::passage(pid)`): it
//! proves how many items of the version hold the passage (none: an exclusion) and reveals up to
//! `reveal` of them per passage. Clients trust nothing here: they fetch the entry at
//! `entry_index` with its inclusion proof against a signed checkpoint, as `prov check --site`
//! does. The tree itself is publisher-declared (the service has no texts to recompute it from).

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use ledger::range::{
    range_multi_proof, range_proof, verify_range, verify_ranges, Range, RangeProof,
};
use ledger::types::{ContentId, Digest, TreeSize};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Path, Query};
use crate::items::{find, Version};
use crate::problem::ApiError;
use crate::schemas::{RangeProofJson, SourcesJson};
use crate::state::AppState;

/// Leaves a proof reveals per passage when the client does not say.
pub const DEFAULT_REVEAL: u64 = 16;
/// The most leaves a proof reveals per passage.
pub const MAX_REVEAL: u64 = 10_000;
/// The most passage ids one `POST .../passages` asks about (a work's opt-out sample).
pub const MAX_PASSAGES: usize = 4096;
/// The most leaves one answer may reveal in all (`reveal` × passages asked).
pub const MAX_REVEALED: u64 = 65_536;
/// The body limit of `POST .../passages`: 4,096 quoted `blake3:` ids and room to spare.
pub const MAX_PASSAGES_BODY: usize = 512 * 1024;
/// The most leaves one page of `GET /v1/passages/{root}/leaves` holds.
pub const MAX_LEAVES_PAGE: u64 = 4096;

/// One passage's range proof in one dataset version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PassageProofView {
    /// `publisher/dataset@version`.
    pub dataset: String,
    /// The `dataset_version` entry's log index.
    pub entry_index: u64,
    /// The entry's `passages`: verify `proof` against these.
    pub passages: SourcesJson,
    /// The passage id asked about, `blake3:<64 hex>`.
    #[schema(pattern = "^blake3:[0-9a-f]{64}$")]
    pub passage: String,
    /// Items of the version holding the passage, as the proof proves it (0: none).
    pub count: u64,
    pub proof: RangeProofJson,
}

/// `POST /v1/datasets/{p}/{d}/{v}/passages`: the passage ids of a work (any order; the service
/// sorts and de-duplicates them).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PassagesRequest {
    /// 1 to 4,096 passage ids, `blake3:<64 hex>`.
    #[schema(max_items = 4096, min_items = 1)]
    pub passages: Vec<String>,
    /// Leaves revealed per passage (default 16, at most 10,000; `reveal` × passages at most
    /// 65,536).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, maximum = 10000_u64)]
    pub reveal: Option<u64>,
}

/// How many items of the version hold one passage.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PassageCount {
    #[schema(pattern = "^blake3:[0-9a-f]{64}$")]
    pub passage: String,
    pub count: u64,
}

/// Many passages' counts in one dataset version, with ONE multi-range proof for all of them
/// (`verify_ranges` over `Range::passage` of each, in `results` order).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PassagesProofView {
    pub dataset: String,
    pub entry_index: u64,
    pub passages: SourcesJson,
    /// One per distinct passage asked, sorted by passage id.
    pub results: Vec<PassageCount>,
    pub proof: RangeProofJson,
}

/// A page of a stored passage tree's leaves.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PassageLeavesPage {
    /// The tree's root, 64 hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub root: String,
    /// Its number of leaves.
    pub size: u64,
    /// The index of the first leaf of this page.
    pub start: u64,
    /// Leaves `[start, start + len)`, each 128 hex (`passage id || cid`).
    pub leaves: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PassageRevealQuery {
    /// Items revealed at most (default 16, at most 10,000); past it the proof shows the first
    /// and last half and still proves the count.
    #[param(maximum = 10000_u64)]
    pub reveal: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeavesQuery {
    /// The index of the first leaf (default 0).
    pub start: Option<u64>,
    /// Leaves per page (default 4,096; more is taken as 4,096).
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
}

/// `GET /v1/datasets/{publisher}/{dataset}/{version}/passages/{pid}`.
#[utoipa::path(get, path = "/v1/datasets/{publisher}/{dataset}/{version}/passages/{pid}", tag = "read", operation_id = "get_dataset_passage",
    params(("publisher" = String, Path, example = "spdx-archive"), ("dataset" = String, Path, example = "licences"), ("version" = String, Path, example = "1"),
           ("pid" = String, Path, description = "A passage id, `blake3:<64 hex>` (docs/formats.md, \"Passages\")", pattern = "^blake3:[0-9a-f]{64}$"),
           PassageRevealQuery),
    responses(
        (status = 200, description = "The passage's range proof against the version's passage tree", body = PassageProofView),
        (status = 404, description = "Version not in the log (`not-found`), or it has no passage tree (`no-passage-tree`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Not a passage id, or `reveal` over 10,000", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn dataset_passage(
    State(state): State<AppState>,
    Path((publisher, dataset, version, pid)): Path<(String, String, String, String)>,
    Query(q): Query<PassageRevealQuery>,
) -> Result<Json<PassageProofView>, ApiError> {
    let pid = parse_pid(&pid)?;
    let reveal = reveal(q.reveal)?;
    let v = find(&state, &publisher, &dataset, &version)?;
    state
        .blocking(move |l| {
            let (root, size) = passages_of(&v)?;
            let (tree, _) = stored_tree(l, &v, root, size)?;
            let range = Range::passage(&pid);
            let proof: RangeProof = range_proof(&tree, &range, reveal)
                .map_err(|e| ApiError::internal(format!("range proof: {e}")))?;
            let members = verify_range(&root, TreeSize(size), &range, &proof)
                .map_err(|e| ApiError::internal(format!("own range proof does not verify: {e}")))?;
            Ok(Json(PassageProofView {
                dataset: v.label.clone(),
                entry_index: v.index.0,
                passages: SourcesJson {
                    root: root.to_hex(),
                    size,
                },
                passage: pid.to_string(),
                count: members.count,
                proof: proof_json(&proof)?,
            }))
        })
        .await
}

/// `POST /v1/datasets/{publisher}/{dataset}/{version}/passages`.
#[utoipa::path(post, path = "/v1/datasets/{publisher}/{dataset}/{version}/passages", tag = "read", operation_id = "post_dataset_passages",
    params(("publisher" = String, Path, example = "spdx-archive"), ("dataset" = String, Path, example = "licences"), ("version" = String, Path, example = "1")),
    request_body(content = PassagesRequest, content_type = "application/json",
        description = "A work's passage ids (1 to 4,096, any order)"),
    responses(
        (status = 200, description = "Each passage's count, with one multi-range proof for all against the version's passage tree", body = PassagesProofView),
        (status = 400, description = "Malformed body, a malformed passage id, or `reveal` over 10,000", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Version not in the log (`not-found`), or it has no passage tree (`no-passage-tree`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "More than 4,096 passage ids, or `reveal` × passages over 65,536 (`too-many-passages`); or a body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No passage ids (`no-passages`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many heavy reads at once (`busy`), timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn dataset_passages(
    State(state): State<AppState>,
    Path((publisher, dataset, version)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Json<PassagesProofView>, ApiError> {
    let req: PassagesRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("passages request: {e}")))?;
    if req.passages.len() > MAX_PASSAGES {
        return Err(ApiError::TooLarge {
            slug: "too-many-passages",
            detail: format!(
                "{} passage ids; at most {MAX_PASSAGES} in one request",
                req.passages.len()
            ),
        });
    }
    let mut pids = req
        .passages
        .iter()
        .map(|p| parse_pid(p))
        .collect::<Result<Vec<_>, _>>()?;
    pids.sort();
    pids.dedup();
    if pids.is_empty() {
        return Err(ApiError::Rejected {
            slug: "no-passages",
            detail: "the request names no passage id".into(),
        });
    }
    let reveal = reveal(req.reveal)?;
    if reveal.saturating_mul(pids.len() as u64) > MAX_REVEALED {
        return Err(ApiError::TooLarge {
            slug: "too-many-passages",
            detail: format!(
                "reveal {reveal} for {} passages is over {MAX_REVEALED} leaves; lower reveal",
                pids.len()
            ),
        });
    }
    let v = find(&state, &publisher, &dataset, &version)?;
    // Up to 4,096 searches of a tree that may hold 10^8 leaves: a heavy read, limited like
    // compliance bundles (503 `busy` over `limits.heavy_reads`).
    let permit = state.heavy().try_permit()?;
    state
        .blocking(move |l| {
            let _permit = permit;
            let (root, size) = passages_of(&v)?;
            let (tree, _) = stored_tree(l, &v, root, size)?;
            let ranges: Vec<Range> = pids.iter().map(Range::passage).collect();
            let proof = range_multi_proof(&tree, &ranges, reveal)
                .map_err(|e| ApiError::internal(format!("multi-range proof: {e}")))?;
            let members = verify_ranges(&root, TreeSize(size), &ranges, &proof).map_err(|e| {
                ApiError::internal(format!("own multi-range proof does not verify: {e}"))
            })?;
            let results = pids
                .iter()
                .zip(&members)
                .map(|(pid, m)| PassageCount {
                    passage: pid.to_string(),
                    count: m.count,
                })
                .collect();
            Ok(Json(PassagesProofView {
                dataset: v.label.clone(),
                entry_index: v.index.0,
                passages: SourcesJson {
                    root: root.to_hex(),
                    size,
                },
                results,
                proof: proof_json(&proof)?,
            }))
        })
        .await
}

/// `GET /v1/passages/{root}/leaves`.
#[utoipa::path(get, path = "/v1/passages/{root}/leaves", tag = "read", operation_id = "get_passage_leaves",
    params(("root" = String, Path, description = "A stored passage tree's root, 64 hex", pattern = "^[0-9a-f]{64}$"), LeavesQuery),
    responses(
        (status = 200, description = "A page of the tree's leaves (`passage id || cid`, 128 hex each), in order", body = PassageLeavesPage),
        (status = 400, description = "Not a root", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No passage tree stored with this root", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn leaves(
    State(state): State<AppState>,
    Path(root): Path<String>,
    Query(q): Query<LeavesQuery>,
) -> Result<Json<PassageLeavesPage>, ApiError> {
    let root = Digest::from_hex(&root)
        .map_err(|e| ApiError::bad_request(format!("root {root:?}: {e}")))?;
    let start = q.start.unwrap_or(0);
    let limit = q
        .limit
        .map_or(MAX_LEAVES_PAGE, u64::from)
        .min(MAX_LEAVES_PAGE);
    state
        .blocking(move |l| {
            let info = l
                .sets()
                .passage_info(&root)?
                .ok_or_else(|| ApiError::not_found(format!("passage tree {root}")))?;
            let leaves = l
                .sets()
                .passage_leaves(&root, start, limit as usize)?
                .ok_or_else(|| ApiError::not_found(format!("passage tree {root}")))?;
            Ok(Json(PassageLeavesPage {
                root: root.to_hex(),
                size: info.size.0,
                start,
                leaves: leaves.iter().map(|l| l.to_hex()).collect(),
            }))
        })
        .await
}

/// The version's `passages` claim, or 404 `no-passage-tree`.
fn passages_of(v: &Version) -> Result<(Digest, u64), ApiError> {
    v.passages.ok_or_else(|| ApiError::Absent {
        slug: "no-passage-tree",
        detail: format!(
            "{} has no passage tree (its entry has no passages)",
            v.label
        ),
        exclusion: None,
    })
}

/// The stored tree the entry names. The ledger logged the entry only if the tree was stored
/// with that root and size, and never collects a named tree: a mismatch is ours (500).
fn stored_tree(
    l: &ledger::ledger::Ledger,
    v: &Version,
    root: Digest,
    size: u64,
) -> Result<(ledger::store::ranges::StoredRange, u64), ApiError> {
    let Some((tree, info)) = l.sets().passage_tree(&root)? else {
        return Err(ApiError::internal(format!(
            "{} names passage tree {root}, which is not stored",
            v.label
        )));
    };
    if info.size.0 != size {
        return Err(ApiError::internal(format!(
            "{}: stored passage tree has {} leaves, the entry says {size}",
            v.label, info.size.0
        )));
    }
    Ok((tree, size))
}

fn proof_json(proof: &RangeProof) -> Result<RangeProofJson, ApiError> {
    serde_json::to_value(proof)
        .and_then(serde_json::from_value)
        .map_err(ApiError::internal)
}

fn parse_pid(s: &str) -> Result<ContentId, ApiError> {
    s.parse::<ContentId>()
        .map_err(|e| ApiError::bad_request(format!("passage id {s:?}: {e}")))
}

fn reveal(r: Option<u64>) -> Result<u64, ApiError> {
    match r.unwrap_or(DEFAULT_REVEAL) {
        n if n <= MAX_REVEAL => Ok(n),
        n => Err(ApiError::bad_request(format!(
            "reveal {n} is over {MAX_REVEAL}"
        ))),
    }
}
