//! Publishers, datasets and their versions, and set proofs of a content id against a dataset
//! version (`/v1/publishers/...`, `/v1/datasets/...`). Everything here comes from the ledger's
//! indexes and the `dataset_version` entries themselves, which a client can check in the tiles.

use axum::extract::State;
use axum::Json;
use base64::Engine as _;
use ledger::entry::{Entry, EntryBody};
use ledger::ledger::{Cursor, DatasetScope};
use ledger::LeafIndex;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Path, Query};
use crate::problem::ApiError;
use crate::schemas::SetMembershipProofJson;
use crate::sets::parse_cid;
use crate::state::AppState;

/// A registered publisher.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublisherView {
    pub name: String,
    /// The Ed25519 key bound to the name, standard base64.
    #[schema(pattern = "^[A-Za-z0-9+/]{43}=$")]
    pub key: String,
    /// The `publisher` entry that bound it last.
    pub index: u64,
}

/// A dataset version: its `dataset_version` entry, decoded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DatasetVersionView {
    /// `publisher/dataset@version`.
    pub label: String,
    pub publisher: String,
    pub dataset: String,
    pub version: String,
    /// The `dataset_version` entry's log index.
    pub index: u64,
    /// The manifest set's root, 64 hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub manifest_root: String,
    pub item_count: u64,
    pub total_bytes: u64,
    pub corpus_mode: String,
    pub licence: String,
    pub previous: Option<String>,
    /// Whether the manifest's leaves are stored here (so set proofs can be served).
    pub set_stored: bool,
    /// Whether the manifest's metadata is stored here (issue 13): then `/items/{cid}` shows
    /// each item's metadata and `/stats` answers.
    #[serde(default)]
    pub metadata_stored: bool,
    /// The entry's `sources` (its source tree's root and size), absent for a version without
    /// one: then `/sites/{site}` answers with range proofs against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub sources: Option<crate::schemas::SourcesJson>,
    /// The entry's `passages` (its passage tree's root and size, issue 14), absent for a
    /// version without one: then `/passages/{pid}` and `POST /passages` answer with range
    /// proofs against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub passages: Option<crate::schemas::SourcesJson>,
}

/// A page of dataset versions.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DatasetPage {
    pub items: Vec<DatasetVersionView>,
    /// The cursor of the next page, absent on the last.
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CursorQuery {
    /// `next` from the previous page.
    pub cursor: Option<String>,
    /// Items per page (default 100, at most the configured `max_page`).
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
}

/// A content id's membership proof in one dataset version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DatasetProof {
    pub dataset: DatasetVersionView,
    /// The content id asked about.
    #[schema(pattern = "^blake3:[0-9a-f]{64}$")]
    pub cid: String,
    /// Whether the id is in the version (then `proof` is `included`).
    pub included: bool,
    pub proof: SetMembershipProofJson,
}

/// `GET /v1/publishers/{name}`.
#[utoipa::path(get, path = "/v1/publishers/{name}", tag = "read", operation_id = "get_publisher",
    params(("name" = String, Path, example = "spdx-archive")),
    responses(
        (status = 200, description = "The publisher", body = PublisherView),
        (status = 404, description = "Not registered", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed path or query parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn publisher(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<PublisherView>, ApiError> {
    let (key, index) = state
        .ledger()
        .publisher(&name)?
        .ok_or_else(|| ApiError::not_found(format!("publisher {name:?}")))?;
    Ok(Json(PublisherView {
        name,
        key: base64::engine::general_purpose::STANDARD.encode(key),
        index: index.0,
    }))
}

/// A page of publishers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublisherPage {
    pub items: Vec<PublisherView>,
    /// The cursor of the next page, absent on the last.
    pub next: Option<String>,
}

/// `GET /v1/publishers`: every registered publisher, in index order (names are length-prefixed
/// in the index, so by name length, then bytewise), which keeps cursors stable as the log grows.
#[utoipa::path(get, path = "/v1/publishers", tag = "read", operation_id = "list_publishers",
    params(CursorQuery),
    responses(
        (status = 200, description = "A page of publishers", body = PublisherPage),
        (status = 400, description = "Bad cursor", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn publishers(
    State(state): State<AppState>,
    Query(q): Query<CursorQuery>,
) -> Result<Json<PublisherPage>, ApiError> {
    let limit = crate::page::limit(&state, q.limit);
    let after = crate::page::cursor(q.cursor.as_deref())?;
    state
        .blocking(move |l| {
            let page = l.publishers(after.as_ref(), limit)?;
            let items = page
                .items
                .into_iter()
                .map(|p| PublisherView {
                    name: p.name,
                    key: base64::engine::general_purpose::STANDARD.encode(p.key),
                    index: p.index.0,
                })
                .collect();
            let next = page.next.as_ref().map(Cursor::to_string);
            Ok(Json(PublisherPage { items, next }))
        })
        .await
}

/// `GET /v1/datasets`: every dataset version, by publisher, dataset and version name.
#[utoipa::path(get, path = "/v1/datasets", tag = "read", operation_id = "list_dataset_versions",
    params(CursorQuery),
    responses(
        (status = 200, description = "A page of dataset versions", body = DatasetPage),
        (status = 400, description = "Bad cursor", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<CursorQuery>,
) -> Result<Json<DatasetPage>, ApiError> {
    page_of_versions(state, None, None, q).await
}

/// `GET /v1/datasets/{publisher}`: a publisher's dataset versions.
#[utoipa::path(get, path = "/v1/datasets/{publisher}", tag = "read", operation_id = "list_publisher_dataset_versions",
    params(("publisher" = String, Path, example = "spdx-archive"), CursorQuery),
    responses(
        (status = 200, description = "A page of dataset versions", body = DatasetPage),
        (status = 400, description = "Bad cursor, or a malformed parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn of_publisher(
    State(state): State<AppState>,
    Path(publisher): Path<String>,
    Query(q): Query<CursorQuery>,
) -> Result<Json<DatasetPage>, ApiError> {
    page_of_versions(state, Some(publisher), None, q).await
}

/// `GET /v1/datasets/{publisher}/{dataset}`: the versions of one dataset.
#[utoipa::path(get, path = "/v1/datasets/{publisher}/{dataset}", tag = "read", operation_id = "list_dataset_versions_of_dataset",
    params(("publisher" = String, Path, example = "spdx-archive"), ("dataset" = String, Path, example = "licences"), CursorQuery),
    responses(
        (status = 200, description = "A page of dataset versions", body = DatasetPage),
        (status = 400, description = "Bad cursor, or a malformed parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn versions(
    State(state): State<AppState>,
    Path((publisher, dataset)): Path<(String, String)>,
    Query(q): Query<CursorQuery>,
) -> Result<Json<DatasetPage>, ApiError> {
    page_of_versions(state, Some(publisher), Some(dataset), q).await
}

/// A page of the dataset versions of `publisher` (all without one) and of its `dataset` (all of
/// its datasets without one), each decoded from its entry.
async fn page_of_versions(
    state: AppState,
    publisher: Option<String>,
    dataset: Option<String>,
    q: CursorQuery,
) -> Result<Json<DatasetPage>, ApiError> {
    let limit = crate::page::limit(&state, q.limit);
    let after = crate::page::cursor(q.cursor.as_deref())?;
    state
        .blocking(move |l| {
            let scope = match (publisher.as_deref(), dataset.as_deref()) {
                (Some(publisher), Some(dataset)) => DatasetScope::Dataset { publisher, dataset },
                (Some(publisher), None) => DatasetScope::Publisher(publisher),
                (None, _) => DatasetScope::All,
            };
            let page = l.dataset_version_page(scope, after.as_ref(), limit)?;
            let items = page
                .items
                .iter()
                .map(|row| version_view(l, row.index))
                .collect::<Result<Vec<_>, _>>()?;
            let next = page.next.as_ref().map(Cursor::to_string);
            Ok(Json(DatasetPage { items, next }))
        })
        .await
}

/// `GET /v1/datasets/{publisher}/{dataset}/{version}`.
#[utoipa::path(get, path = "/v1/datasets/{publisher}/{dataset}/{version}", tag = "read", operation_id = "get_dataset_version",
    params(("publisher" = String, Path, example = "spdx-archive"), ("dataset" = String, Path, example = "licences"), ("version" = String, Path, example = "1")),
    responses(
        (status = 200, description = "The dataset version", body = DatasetVersionView),
        (status = 404, description = "Not in the log", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed path or query parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn version(
    State(state): State<AppState>,
    Path((publisher, dataset, version)): Path<(String, String, String)>,
) -> Result<Json<DatasetVersionView>, ApiError> {
    let idx = find_version(&state, &publisher, &dataset, &version)?;
    Ok(Json(version_view(state.ledger(), idx)?))
}

/// `GET /v1/datasets/{publisher}/{dataset}/{version}/proof/{cid}`: inclusion or exclusion.
#[utoipa::path(get, path = "/v1/datasets/{publisher}/{dataset}/{version}/proof/{cid}", tag = "read", operation_id = "get_dataset_version_proof",
    params(("publisher" = String, Path, example = "spdx-archive"), ("dataset" = String, Path, example = "licences"), ("version" = String, Path, example = "1"),
           ("cid" = String, Path, description = "A content id, `blake3:<64 lowercase hex>`", pattern = "^blake3:[0-9a-f]{64}$", example = "blake3:004690c0d30fc7b76506bd01a7fca19c8b14893602cff9bb697c287a4490cd29")),
    responses(
        (status = 200, description = "Inclusion or exclusion proof against the version's manifest root and item count", body = DatasetProof),
        (status = 404, description = "Version not in the log, or its manifest not stored here", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed content id", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn proof(
    State(state): State<AppState>,
    Path((publisher, dataset, version, cid)): Path<(String, String, String, String)>,
) -> Result<Json<DatasetProof>, ApiError> {
    let cid = parse_cid(&cid)?;
    let idx = find_version(&state, &publisher, &dataset, &version)?;
    let view = version_view(state.ledger(), idx)?;
    let root = ledger::Digest::from_hex(&view.manifest_root).map_err(ApiError::internal)?;
    let proof = state.ledger().set_proof(&root, &cid)?;
    let included = matches!(proof, ledger::set::SetMembershipProof::Included(_));
    let proof = serde_json::to_value(&proof)
        .and_then(serde_json::from_value)
        .map_err(ApiError::internal)?;
    Ok(Json(DatasetProof {
        dataset: view,
        cid: cid.to_string(),
        included,
        proof,
    }))
}

fn find_version(
    state: &AppState,
    publisher: &str,
    dataset: &str,
    version: &str,
) -> Result<LeafIndex, ApiError> {
    state
        .ledger()
        .dataset_version(publisher, dataset, version)?
        .ok_or_else(|| {
            ApiError::not_found(format!("dataset version {publisher}/{dataset}@{version}"))
        })
}

/// The decoded `dataset_version` entry at `idx`.
pub(crate) fn version_view(
    l: &ledger::ledger::Ledger,
    idx: LeafIndex,
) -> Result<DatasetVersionView, ApiError> {
    let entry = stored_entry(l, idx)?;
    let EntryBody::DatasetVersion(d) = entry.body() else {
        return Err(ApiError::internal(format!(
            "index points at entry {idx}, which is not a dataset_version"
        )));
    };
    Ok(DatasetVersionView {
        label: d.key().to_string(),
        publisher: d.publisher.to_string(),
        dataset: d.dataset.to_string(),
        version: d.version.to_string(),
        index: idx.0,
        manifest_root: d.manifest_root.to_hex(),
        item_count: d.item_count,
        total_bytes: d.total_bytes,
        corpus_mode: d.corpus_mode.to_string(),
        licence: d.licence.clone(),
        previous: d.previous.as_ref().map(ToString::to_string),
        set_stored: l.sets().info(&d.manifest_root)?.is_some(),
        metadata_stored: l.sets().has_meta(&d.manifest_root)?,
        sources: d.sources.as_ref().map(|r| crate::schemas::SourcesJson {
            root: r.root.to_hex(),
            size: r.size,
        }),
        passages: d.passages.as_ref().map(|r| crate::schemas::SourcesJson {
            root: r.root.to_hex(),
            size: r.size,
        }),
    })
}

/// The entry at `idx`, decoded. Stored entries were validated when logged; a failure here is
/// corruption, so it is ours (500), not the client's.
pub(crate) fn stored_entry(l: &ledger::ledger::Ledger, idx: LeafIndex) -> Result<Entry, ApiError> {
    let bytes = l
        .entry(idx)?
        .ok_or_else(|| ApiError::not_found(format!("entry {idx}")))?;
    Entry::from_bytes(&bytes).map_err(|e| ApiError::internal(format!("stored entry {idx}: {e}")))
}
