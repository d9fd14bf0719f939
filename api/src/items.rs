//! What a dataset version's metadata says (issue 13): one item with its metadata and inclusion
//! proof (`/items/{cid}`), and the statistics derived from the metadata at upload (`/stats`).
//! Both read a manifest stored by a `manifest` upload with metadata; the metadata itself is
//! checked against each leaf's `meta` digest at upload, and a client re-checks it (BLAKE3 of
//! the canonical JSON of `meta` is the leaf's `meta`).

use axum::extract::State;
use axum::Json;
use ledger::entry::EntryBody;
use ledger::set::{self, SetMembershipProof};
use ledger::store::stats::{Counts, SetStats, Tally};
use ledger::{Digest, LeafIndex};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::datasets::stored_entry;
use crate::extract::Path;
use crate::problem::ApiError;
use crate::schemas::{SetInclusionProofJson, SetLeafJson};
use crate::sets::parse_cid;
use crate::state::AppState;

/// One item of a dataset version: its leaf, its metadata and the leaf's inclusion proof
/// against the version's manifest root and item count.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemView {
    /// `publisher/dataset@version`.
    pub dataset: String,
    /// The `dataset_version` entry's log index.
    pub entry_index: u64,
    /// The manifest set's root, 64 hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub manifest_root: String,
    /// The manifest's number of leaves.
    pub item_count: u64,
    pub leaf: SetLeafJson,
    /// The leaf's metadata (`{"sources":[...]}`), whose canonical JSON (RFC 8785) hashes with
    /// BLAKE3 to `leaf.meta`; null when the manifest was stored without metadata.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
    pub proof: SetInclusionProofJson,
}

/// Items and bytes of one value.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TallyJson {
    pub value: String,
    pub items: u64,
    pub bytes: u64,
}

/// Items and bytes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CountsJson {
    pub items: u64,
    pub bytes: u64,
}

/// A dataset version's statistics, derived by the service from the manifest's metadata when it
/// was stored (docs/api.md, "Statistics", says exactly how; anyone can recompute them from
/// `GET /v1/sets/{root}/leaves?meta=true`). Lists are sorted by bytes, then items (largest
/// first), then value.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatsView {
    /// `publisher/dataset@version`.
    pub dataset: String,
    pub entry_index: u64,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub manifest_root: String,
    /// Per `license` value (`(none)` when absent): the leaves carrying it and their bytes.
    pub licences: Vec<TallyJson>,
    /// Per `consent` value, the same.
    pub consent: Vec<TallyJson>,
    /// Per host of the source tree (`www.` kept, `:port` when not the default): its source
    /// leaves and their bytes; the 1,000 largest by bytes.
    pub hosts: Vec<TallyJson>,
    /// The source leaves without a usable `source`.
    pub no_source: CountsJson,
}

/// `GET /v1/datasets/{publisher}/{dataset}/{version}/items/{cid}`.
#[utoipa::path(get, path = "/v1/datasets/{publisher}/{dataset}/{version}/items/{cid}", tag = "read", operation_id = "get_dataset_item",
    params(("publisher" = String, Path, example = "spdx-archive"), ("dataset" = String, Path, example = "licences"), ("version" = String, Path, example = "1"),
           ("cid" = String, Path, description = "A content id, `blake3:<64 lowercase hex>`", pattern = "^blake3:[0-9a-f]{64}$", example = "blake3:004690c0d30fc7b76506bd01a7fca19c8b14893602cff9bb697c287a4490cd29")),
    responses(
        (status = 200, description = "The item: leaf, metadata, inclusion proof", body = ItemView),
        (status = 404, description = "Version not in the log or its manifest not stored here (`not-found`), or the content id is not in it (`item-not-found`, with an `exclusion` member: the set exclusion proof)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed content id", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn item(
    State(state): State<AppState>,
    Path((publisher, dataset, version, cid)): Path<(String, String, String, String)>,
) -> Result<Json<ItemView>, ApiError> {
    let cid = parse_cid(&cid)?;
    let v = find(&state, &publisher, &dataset, &version)?;
    state
        .blocking(move |l| {
            let src = l.sets().source(&v.root)?;
            match set::membership_proof(&src, &cid)
                .map_err(ledger::store::sets::SetStoreError::from)?
            {
                SetMembershipProof::Included(p) => {
                    let meta = l
                        .sets()
                        .leaf_meta(&v.root, p.index.0)?
                        .map(|b| serde_json::from_slice(&b))
                        .transpose()
                        .map_err(|e| ApiError::internal(format!("stored metadata: {e}")))?;
                    Ok(Json(ItemView {
                        dataset: v.label,
                        entry_index: v.index.0,
                        manifest_root: v.root.to_hex(),
                        item_count: v.item_count,
                        leaf: SetLeafJson::from(p.leaf),
                        meta,
                        proof: to_json(&p)?,
                    }))
                }
                SetMembershipProof::Excluded(p) => Err(ApiError::Absent {
                    slug: "item-not-found",
                    detail: format!("{cid} is not in {}", v.label),
                    exclusion: Some(Box::new(
                        serde_json::to_value(&p).map_err(ApiError::internal)?,
                    )),
                }),
            }
        })
        .await
}

/// `GET /v1/datasets/{publisher}/{dataset}/{version}/stats`.
#[utoipa::path(get, path = "/v1/datasets/{publisher}/{dataset}/{version}/stats", tag = "read", operation_id = "get_dataset_stats",
    params(("publisher" = String, Path, example = "spdx-archive"), ("dataset" = String, Path, example = "licences"), ("version" = String, Path, example = "1")),
    responses(
        (status = 200, description = "Licence, consent and host statistics of the version's items", body = StatsView),
        (status = 404, description = "Version not in the log or its manifest not stored here (`not-found`), or stored without metadata (`no-metadata`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed path parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn stats(
    State(state): State<AppState>,
    Path((publisher, dataset, version)): Path<(String, String, String)>,
) -> Result<Json<StatsView>, ApiError> {
    let v = find(&state, &publisher, &dataset, &version)?;
    state
        .blocking(move |l| {
            if l.sets().info(&v.root)?.is_none() {
                return Err(ApiError::not_found(format!(
                    "the manifest of {} is not stored here",
                    v.label
                )));
            }
            let s: SetStats = l.sets().stats(&v.root)?.ok_or_else(|| ApiError::Absent {
                slug: "no-metadata",
                detail: format!("the manifest of {} was stored without metadata", v.label),
                exclusion: None,
            })?;
            Ok(Json(StatsView {
                dataset: v.label,
                entry_index: v.index.0,
                manifest_root: v.root.to_hex(),
                licences: tallies(s.licences),
                consent: tallies(s.consent),
                hosts: tallies(s.hosts),
                no_source: counts(s.no_source),
            }))
        })
        .await
}

/// A logged dataset version, the fields these routes need.
pub(crate) struct Version {
    pub label: String,
    pub index: LeafIndex,
    pub root: Digest,
    pub item_count: u64,
    /// The entry's `sources` claim (root, size), accepted by the ledger only if it equals the
    /// source tree derived from the stored metadata.
    pub sources: Option<(Digest, u64)>,
    /// The entry's `passages` (root, size): a stored passage tree (issue 14).
    pub passages: Option<(Digest, u64)>,
}

/// The dataset version `publisher/dataset@version`, or 404.
pub(crate) fn find(
    state: &AppState,
    publisher: &str,
    dataset: &str,
    version: &str,
) -> Result<Version, ApiError> {
    let index = state
        .ledger()
        .dataset_version(publisher, dataset, version)?
        .ok_or_else(|| {
            ApiError::not_found(format!("dataset version {publisher}/{dataset}@{version}"))
        })?;
    version_at(state.ledger(), index)
}

/// The dataset version logged at `index`.
pub(crate) fn version_at(
    l: &ledger::ledger::Ledger,
    index: LeafIndex,
) -> Result<Version, ApiError> {
    let entry = stored_entry(l, index)?;
    let EntryBody::DatasetVersion(d) = entry.body() else {
        return Err(ApiError::internal(format!(
            "index points at entry {index}, which is not a dataset_version"
        )));
    };
    Ok(Version {
        label: d.key().to_string(),
        index,
        root: d.manifest_root,
        item_count: d.item_count,
        sources: d.sources.as_ref().map(|r| (r.root, r.size)),
        passages: d.passages.as_ref().map(|r| (r.root, r.size)),
    })
}

fn to_json<T: Serialize, U: serde::de::DeserializeOwned>(v: &T) -> Result<U, ApiError> {
    serde_json::to_value(v)
        .and_then(serde_json::from_value)
        .map_err(ApiError::internal)
}

fn tallies(v: Vec<Tally>) -> Vec<TallyJson> {
    v.into_iter()
        .map(|t| TallyJson {
            value: t.value,
            items: t.items,
            bytes: t.bytes,
        })
        .collect()
}

fn counts(c: Counts) -> CountsJson {
    CountsJson {
        items: c.items,
        bytes: c.bytes,
    }
}
