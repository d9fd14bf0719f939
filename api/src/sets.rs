//! Set uploads and reads: a dataset manifest, an opt-out set or a model's weight files, stored
//! under its root after the ledger has checked that the leaves are strictly increasing and hash
//! to the claimed root.
//!
//! Uploads stream: `PUT /v1/sets/{root}` takes the whole set in one body, which never sits in
//! memory (chunks go to a blocking worker as they arrive); large sets may instead be sent in
//! numbered chunks (`POST /v1/sets/{root}/chunks/{seq}`, seq 0, 1, 2, ...) and committed with
//! `POST /v1/sets/{root}/commit`, so that one failed request does not restart the upload.
//! Bodies are either concatenated 72-byte leaves (`application/octet-stream`) or the JSON Lines
//! manifest that `prov hash` writes (`application/x-ndjson`; docs/format-manifest.md): the
//! header line's root must be the claimed one, and each leaf line's `leaf` is taken.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use ledger::set::SetLeaf;
use ledger::store::sets::{SetInfo, SetWriter};
use ledger::{ContentId, Digest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Path, Query};
use crate::problem::ApiError;
use crate::schemas::{SetLeafJson, SetMembershipProofJson};
use crate::state::AppState;

/// Longest manifest line accepted (a leaf plus its metadata).
const MAX_LINE: usize = 1 << 20;

/// A stored set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SetView {
    /// The set's root, 64 hex.
    pub root: String,
    /// Its number of leaves.
    pub size: u64,
}

/// Progress of a chunked upload.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChunkReceipt {
    /// The chunk just taken.
    pub seq: u64,
    /// Leaves received so far, all chunks together.
    pub leaves: u64,
}

/// A page of a set's leaves.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeafPage {
    pub items: Vec<SetLeafJson>,
    /// The `offset` of the next page, absent on the last.
    pub next: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OffsetQuery {
    /// First item (default 0).
    pub offset: Option<u64>,
    /// Items per page (default 100, at most the configured `max_page`).
    pub limit: Option<u32>,
}

/// A chunked upload in progress.
pub struct Upload {
    ingest: Option<Ingest>,
    next_seq: u64,
    touched: Instant,
}

/// The body format of an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Leaves,
    Manifest,
}

/// Feeds body bytes into a [`SetWriter`], decoding manifest lines when needed. Runs on a
/// blocking thread: the writer stages records in the store as it goes.
struct Ingest {
    format: Format,
    writer: SetWriter,
    claimed: Digest,
    line: Vec<u8>,
    lines: u64,
    max_leaves: u64,
}

impl Ingest {
    fn push(&mut self, mut bytes: &[u8]) -> Result<(), ApiError> {
        match self.format {
            Format::Leaves => self.writer.push_bytes(bytes)?,
            Format::Manifest => {
                while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
                    self.line.extend_from_slice(&bytes[..nl]);
                    bytes = &bytes[nl + 1..];
                    let line = std::mem::take(&mut self.line);
                    self.take_line(&line)?;
                }
                self.line.extend_from_slice(bytes);
                if self.line.len() > MAX_LINE {
                    return Err(ApiError::bad_request(format!(
                        "manifest line {} is longer than {MAX_LINE} bytes",
                        self.lines + 1
                    )));
                }
            }
        }
        if self.writer.size().0 > self.max_leaves {
            return Err(ApiError::PayloadTooLarge);
        }
        Ok(())
    }

    fn take_line(&mut self, line: &[u8]) -> Result<(), ApiError> {
        self.lines += 1;
        let n = self.lines;
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let bad = |why: String| ApiError::bad_request(format!("manifest line {n}: {why}"));
        if n == 1 {
            #[derive(Deserialize)]
            struct Header<'a> {
                #[serde(borrow)]
                root: &'a str,
            }
            let h: Header = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
            let root = Digest::from_hex(h.root).map_err(|e| bad(e.to_string()))?;
            if root != self.claimed {
                return Err(ApiError::Rejected {
                    slug: "root-mismatch",
                    detail: format!(
                        "manifest root {root} is not the claimed root {}",
                        self.claimed
                    ),
                });
            }
            return Ok(());
        }
        #[derive(Deserialize)]
        struct Leaf<'a> {
            #[serde(borrow)]
            leaf: &'a str,
        }
        let l: Leaf = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
        let mut b = [0u8; SetLeaf::LEN];
        hex::decode_to_slice(l.leaf, &mut b)
            .map_err(|_| bad("leaf is not 144 hex digits".into()))?;
        self.writer.push(&SetLeaf::from_bytes(&b))?;
        Ok(())
    }

    fn finish(mut self) -> Result<SetInfo, ApiError> {
        if self.format == Format::Manifest && !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.take_line(&line)?;
        }
        if self.format == Format::Manifest && self.lines == 0 {
            return Err(ApiError::bad_request("empty manifest: no header line"));
        }
        let claimed = self.claimed;
        Ok(self.writer.commit(&claimed)?)
    }
}

fn format_of(headers: &HeaderMap) -> Result<Format, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/octet-stream" => Ok(Format::Leaves),
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => {
            Ok(Format::Manifest)
        }
        other => Err(ApiError::UnsupportedMediaType(format!(
            "{other}: send application/octet-stream (72-byte leaves) or application/x-ndjson (a manifest)"
        ))),
    }
}

fn parse_root(root: &str) -> Result<Digest, ApiError> {
    Digest::from_hex(root).map_err(|e| ApiError::bad_request(format!("set root: {e}")))
}

fn set_view(info: SetInfo) -> SetView {
    SetView {
        root: info.root.to_hex(),
        size: info.size.0,
    }
}

/// `PUT /v1/sets/{root}`: upload a whole set in one streamed body.
#[utoipa::path(put, path = "/v1/sets/{root}", tag = "write",
    params(("root" = String, Path, description = "The set's claimed root, 64 hex")),
    request_body(description = "Concatenated 72-byte leaves, or a prov-manifest/v1 JSON Lines manifest",
        content((Vec<u8> = "application/octet-stream"), (String = "application/x-ndjson"))),
    responses(
        (status = 201, description = "Stored", body = SetView),
        (status = 200, description = "Already stored", body = SetView),
        (status = 400, description = "Malformed body (partial leaf, bad manifest line)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Unknown body format", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Leaves not strictly increasing, or root mismatch", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_set(
    State(state): State<AppState>,
    Path(root): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let claimed = parse_root(&root)?;
    let format = format_of(&headers)?;
    if let Some(info) = state.ledger().sets().info(&claimed)? {
        return Ok((StatusCode::OK, axum::Json(set_view(info))).into_response());
    }
    let mut ingest = new_ingest(&state, format, claimed);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let worker = tokio::task::spawn_blocking(move || -> Result<SetInfo, ApiError> {
        while let Some(chunk) = rx.blocking_recv() {
            ingest.push(&chunk)?;
        }
        ingest.finish()
    });
    let mut stream = body.into_data_stream();
    let mut read_error = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => {
                if tx.send(c).await.is_err() {
                    break; // the worker stopped on an error: it is reported below
                }
            }
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    drop(tx);
    if let Some(e) = read_error {
        // The worker sees a truncated body; its result no longer matters.
        worker.abort();
        return Err(body_error(e));
    }
    let info = worker
        .await
        .map_err(|e| ApiError::internal(format!("set ingest task: {e}")))??;
    metrics::counter!("prov_sets_stored_total").increment(1);
    Ok((StatusCode::CREATED, axum::Json(set_view(info))).into_response())
}

/// A body that failed to arrive: over the size limit (413), or cut off (400).
fn body_error(e: axum::Error) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return ApiError::PayloadTooLarge;
        }
        source = s.source();
    }
    ApiError::bad_request(format!("reading the body: {e}"))
}

fn new_ingest(state: &AppState, format: Format, claimed: Digest) -> Ingest {
    Ingest {
        format,
        writer: state.ledger().set_writer(),
        claimed,
        line: Vec::new(),
        lines: 0,
        max_leaves: state.config().limits.max_set_leaves,
    }
}

/// `POST /v1/sets/{root}/chunks/{seq}`: one chunk of a large upload, in order from 0.
#[utoipa::path(post, path = "/v1/sets/{root}/chunks/{seq}", tag = "write",
    params(("root" = String, Path, description = "The set's claimed root, 64 hex"),
           ("seq" = u64, Path, description = "Chunk number: 0, 1, 2, ... (the first fixes the format)")),
    request_body(description = "The next bytes of the leaves or manifest; chunks may split a leaf or line anywhere",
        content((Vec<u8> = "application/octet-stream"), (String = "application/x-ndjson"))),
    responses(
        (status = 200, description = "Taken", body = ChunkReceipt),
        (status = 409, description = "Out of order (the detail names the expected chunk)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Leaves not strictly increasing", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_chunk(
    State(state): State<AppState>,
    Path((root, seq)): Path<(String, u64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let claimed = parse_root(&root)?;
    let upload = {
        let mut uploads = state.uploads();
        let idle = state.config().limits.upload_timeout();
        // Uploads abandoned for longer than the upload timeout are dropped (and discarded).
        uploads.retain(|_, u| u.try_lock().map_or(true, |u| u.touched.elapsed() < idle));
        if seq == 0 && !uploads.contains_key(&claimed) {
            let ingest = new_ingest(&state, format_of(&headers)?, claimed);
            uploads.insert(
                claimed,
                Arc::new(tokio::sync::Mutex::new(Upload {
                    ingest: Some(ingest),
                    next_seq: 0,
                    touched: Instant::now(),
                })),
            );
        }
        uploads
            .get(&claimed)
            .cloned()
            .ok_or_else(|| ApiError::Conflict {
                slug: "no-upload",
                detail: format!("no upload in progress for {claimed}; start with chunk 0"),
            })?
    };
    let mut u = upload.lock().await;
    if seq != u.next_seq {
        return Err(ApiError::Conflict {
            slug: "chunk-out-of-order",
            detail: format!("expected chunk {}, got {seq}", u.next_seq),
        });
    }
    let mut ingest = u
        .ingest
        .take()
        .ok_or_else(|| ApiError::internal("upload without an ingest"))?;
    let (ingest, result) = tokio::task::spawn_blocking(move || {
        let r = ingest.push(&body);
        (ingest, r)
    })
    .await
    .map_err(|e| ApiError::internal(format!("set ingest task: {e}")))?;
    if let Err(e) = result {
        // A bad chunk ends the upload: the set is wrong, not the transfer.
        drop(u);
        state.uploads().remove(&claimed);
        return Err(e);
    }
    let leaves = ingest.writer.size().0;
    u.ingest = Some(ingest);
    u.next_seq += 1;
    u.touched = Instant::now();
    Ok(axum::Json(ChunkReceipt { seq, leaves }).into_response())
}

/// `POST /v1/sets/{root}/commit`: check the chunks received against the root and store the set.
#[utoipa::path(post, path = "/v1/sets/{root}/commit", tag = "write",
    params(("root" = String, Path, description = "The set's claimed root, 64 hex")),
    responses(
        (status = 201, description = "Stored", body = SetView),
        (status = 409, description = "No upload in progress", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Root mismatch", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn commit(
    State(state): State<AppState>,
    Path(root): Path<String>,
) -> Result<Response, ApiError> {
    let claimed = parse_root(&root)?;
    let upload = state
        .uploads()
        .remove(&claimed)
        .ok_or_else(|| ApiError::Conflict {
            slug: "no-upload",
            detail: format!("no upload in progress for {claimed}"),
        })?;
    let ingest = upload
        .lock()
        .await
        .ingest
        .take()
        .ok_or_else(|| ApiError::internal("upload without an ingest"))?;
    let info = tokio::task::spawn_blocking(move || ingest.finish())
        .await
        .map_err(|e| ApiError::internal(format!("set commit task: {e}")))??;
    metrics::counter!("prov_sets_stored_total").increment(1);
    Ok((StatusCode::CREATED, axum::Json(set_view(info))).into_response())
}

/// `DELETE /v1/sets/{root}/upload`: abandon a chunked upload.
#[utoipa::path(delete, path = "/v1/sets/{root}/upload", tag = "write",
    params(("root" = String, Path, description = "The set's claimed root, 64 hex")),
    responses(
        (status = 204, description = "Abandoned"),
        (status = 404, description = "No upload in progress", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn abandon(
    State(state): State<AppState>,
    Path(root): Path<String>,
) -> Result<StatusCode, ApiError> {
    let claimed = parse_root(&root)?;
    match state.uploads().remove(&claimed) {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(ApiError::not_found(format!(
            "no upload in progress for {claimed}"
        ))),
    }
}

/// `GET /v1/sets/{root}`.
#[utoipa::path(get, path = "/v1/sets/{root}", tag = "read",
    params(("root" = String, Path, description = "64 hex")),
    responses(
        (status = 200, description = "The stored set", body = SetView),
        (status = 404, description = "No such set", body = crate::problem::Problem, content_type = "application/problem+json"),
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
#[utoipa::path(get, path = "/v1/sets/{root}/leaves", tag = "read",
    params(("root" = String, Path, description = "64 hex"), OffsetQuery),
    responses(
        (status = 200, description = "A page of leaves", body = LeafPage),
        (status = 404, description = "No such set", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn leaves(
    State(state): State<AppState>,
    Path(root): Path<String>,
    Query(q): Query<OffsetQuery>,
) -> Result<axum::Json<LeafPage>, ApiError> {
    let root = parse_root(&root)?;
    let offset = q.offset.unwrap_or(0);
    let limit = crate::page::limit(&state, q.limit);
    let page = state
        .blocking(move |l| {
            let size = l
                .sets()
                .info(&root)?
                .ok_or_else(|| ApiError::not_found(format!("set {root}")))?
                .size
                .0;
            let leaves = l.sets().leaves(&root, offset, limit)?;
            let end = offset.saturating_add(leaves.len() as u64);
            Ok(LeafPage {
                items: leaves.into_iter().map(SetLeafJson::from).collect(),
                next: (end < size).then_some(end),
            })
        })
        .await?;
    Ok(axum::Json(page))
}

/// `GET /v1/sets/{root}/proof/{cid}`: inclusion or exclusion of a content id.
#[utoipa::path(get, path = "/v1/sets/{root}/proof/{cid}", tag = "read",
    params(("root" = String, Path, description = "64 hex"), ("cid" = String, Path, description = "blake3:<64 hex>")),
    responses(
        (status = 200, description = "`included` or `excluded`, verifiable against the root and size", body = SetMembershipProofJson),
        (status = 400, description = "Malformed root or content id", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such set", body = crate::problem::Problem, content_type = "application/problem+json"),
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
