//! Log proofs: inclusion (`GET /v1/entries/{index}/inclusion`, JSON or, with `Accept:
//! text/plain` or the `.tlog-proof` path, a C2SP tlog-proof file) and consistency
//! (`GET /v1/proofs/consistency`). Each is what a client could compute from the tiles; the JSON
//! is a convenience.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ledger::tree::{split_stored_hash_index, HashReader, TreeError};
use ledger::{LeafIndex, TlogProof, TreeSize};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::entries::latest_size;
use crate::extract::{wants_text, Path, Query};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::tiles::{text_response, IMMUTABLE};

/// Which tree a proof is for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The tree size to prove against; default the latest checkpoint's. A tlog-proof needs a
    /// size at which a checkpoint was signed.
    pub tree_size: Option<u64>,
}

/// An RFC 6962 inclusion proof.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    /// The entry's leaf hash, 64 hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub leaf_hash: String,
    /// The audit path, leaf side first, 64 hex each.
    pub hashes: Vec<String>,
    /// The checkpoint signed at `tree_size`, if one was.
    pub checkpoint: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size (at least 1).
    #[param(minimum = 1)]
    pub old: u64,
    /// The newer tree size; default the latest checkpoint's.
    pub new: Option<u64>,
}

/// An RFC 6962 consistency proof.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub new_size: u64,
    /// 64 hex each.
    pub hashes: Vec<String>,
}

/// `GET /v1/entries/{index}/inclusion`.
#[utoipa::path(get, path = "/v1/entries/{index}/inclusion", tag = "read", operation_id = "get_inclusion_proof",
    params(("index" = u64, Path, description = "Log index", example = 2), InclusionQuery),
    responses(
        (status = 200, description = "The proof: JSON, or a tlog-proof with `Accept: text/plain`", body = InclusionProof,
            content((InclusionProof = "application/json"), (String = "text/plain; charset=utf-8"))),
        (status = 400, description = "Bad index or size", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Entry or tree size not in the log, or no checkpoint at that size (text form)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn inclusion(
    State(state): State<AppState>,
    Path(index): Path<u64>,
    Query(q): Query<InclusionQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if wants_text(&headers) {
        return tlog_proof(&state, index, q.tree_size);
    }
    let size = TreeSize(q.tree_size.unwrap_or_else(|| latest_size(&state).0));
    let (leaf_hash, hashes) = proof_parts(&state, index, size)?;
    let checkpoint = signed_at(&state, size)?;
    Ok(axum::Json(InclusionProof {
        index,
        tree_size: size.0,
        leaf_hash: leaf_hash.to_hex(),
        hashes: hashes.iter().map(|h| h.to_hex()).collect(),
        checkpoint,
    })
    .into_response())
}

/// `GET /v1/entries/{index}/inclusion.tlog-proof`.
#[utoipa::path(get, path = "/v1/entries/{index}/inclusion.tlog-proof", tag = "read", operation_id = "get_inclusion_tlog_proof",
    params(("index" = u64, Path, description = "Log index", example = 2), InclusionQuery),
    responses(
        (status = 200, description = "A c2sp.org/tlog-proof@v1 file", content_type = "text/plain; charset=utf-8", body = String),
        (status = 404, description = "Entry not in the log, or no checkpoint at that size", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed path or query parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn inclusion_tlog_proof(
    State(state): State<AppState>,
    Path(index): Path<u64>,
    Query(q): Query<InclusionQuery>,
) -> Result<Response, ApiError> {
    tlog_proof(&state, index, q.tree_size)
}

fn tlog_proof(state: &AppState, index: u64, size: Option<u64>) -> Result<Response, ApiError> {
    let latest = state.ledger().checkpoint();
    let (size, note) = match size {
        None => (latest.size(), latest.note.clone()),
        Some(s) => (
            TreeSize(s),
            signed_at(state, TreeSize(s))?.ok_or_else(|| {
                ApiError::not_found(format!("no checkpoint was signed at size {s}"))
            })?,
        ),
    };
    let (_, hashes) = proof_parts(state, index, size)?;
    let proof = TlogProof {
        extra: None,
        index: LeafIndex(index),
        proof: hashes,
        checkpoint: note,
    };
    // A proof against a fixed, signed size never changes.
    Ok(text_response(proof.to_text(), IMMUTABLE))
}

/// The entry's leaf hash and its audit path in the tree of `size`.
fn proof_parts(
    state: &AppState,
    index: u64,
    size: TreeSize,
) -> Result<(ledger::Digest, Vec<ledger::Digest>), ApiError> {
    if index >= size.0 {
        return Err(ApiError::not_found(format!(
            "entry {index} is not in the tree of size {size}"
        )));
    }
    if size > latest_size(state) {
        return Err(ApiError::not_found(format!(
            "tree size {size} is beyond the latest checkpoint"
        )));
    }
    let reader = state.hashes().reader(state.ledger());
    let hashes = ledger::tree::inclusion_proof(size, LeafIndex(index), &reader)
        .map_err(ApiError::internal)?;
    let leaf = reader
        .read_hashes(&[ledger::tree::stored_hash_index(0, index)])
        .map_err(ApiError::internal)?;
    let leaf = leaf
        .first()
        .copied()
        .ok_or_else(|| ApiError::internal("no leaf hash"))?;
    Ok((leaf, hashes))
}

/// Stored tree hashes above the bottom levels, kept in memory: a stored hash never changes once
/// written, and the upper ones are shared by the proofs of many entries, so most proof reads
/// then touch the store only for the few hashes near their leaf. Bounded: emptied when full.
#[derive(Debug)]
pub struct HashCache {
    capacity: usize,
    map: RwLock<HashMap<u64, ledger::Digest>>,
}

/// Levels below this are read from the store every time (they are rarely shared).
const CACHED_FROM_LEVEL: u8 = 4;

impl HashCache {
    pub fn new(capacity: usize) -> Self {
        HashCache {
            capacity,
            map: RwLock::new(HashMap::new()),
        }
    }

    pub fn reader<'a>(&'a self, l: &'a ledger::ledger::Ledger) -> CachedHashes<'a> {
        CachedHashes { cache: self, l }
    }
}

/// A [`HashReader`] over the ledger's store through a [`HashCache`].
pub struct CachedHashes<'a> {
    cache: &'a HashCache,
    l: &'a ledger::ledger::Ledger,
}

impl HashReader for CachedHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<ledger::Digest>, TreeError> {
        let mut out = Vec::with_capacity(indexes.len());
        let mut missing = Vec::new();
        if let Ok(m) = self.cache.map.read() {
            for (i, idx) in indexes.iter().enumerate() {
                match m.get(idx) {
                    Some(d) => out.push(*d),
                    None => {
                        out.push(ledger::Digest::default());
                        missing.push(i);
                    }
                }
            }
        } else {
            out.resize(indexes.len(), ledger::Digest::default());
            missing.extend(0..indexes.len());
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let want: Vec<u64> = missing.iter().map(|&i| indexes[i]).collect();
        let got = self.l.stored_hashes(&want)?;
        let mut fresh = Vec::new();
        for (&i, d) in missing.iter().zip(got) {
            out[i] = d;
            if split_stored_hash_index(indexes[i]).0 >= CACHED_FROM_LEVEL {
                fresh.push((indexes[i], d));
            }
        }
        if !fresh.is_empty() {
            if let Ok(mut m) = self.cache.map.write() {
                if m.len() + fresh.len() > self.cache.capacity {
                    m.clear();
                }
                m.extend(fresh);
            }
        }
        Ok(out)
    }
}

/// The checkpoint note signed at exactly `size`: the latest, or a stored older one.
pub(crate) fn signed_at(state: &AppState, size: TreeSize) -> Result<Option<String>, ApiError> {
    let latest = state.ledger().checkpoint();
    if latest.size() == size {
        return Ok(Some(latest.note.clone()));
    }
    Ok(state.ledger().checkpoint_at(size)?)
}

/// `GET /v1/proofs/consistency?old=M&new=N`.
#[utoipa::path(get, path = "/v1/proofs/consistency", tag = "read", operation_id = "get_consistency_proof",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof: JSON, or base64 hashes one per line with `Accept: text/plain`", body = ConsistencyProof,
            content((ConsistencyProof = "application/json"), (String = "text/plain; charset=utf-8"))),
        (status = 400, description = "old is 0 or larger than new", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "new is beyond the latest checkpoint", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn consistency(
    State(state): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let new = q.new.unwrap_or_else(|| latest_size(&state).0);
    if q.old == 0 || q.old > new {
        return Err(ApiError::bad_request(format!(
            "need 1 <= old <= new, got old={} new={new}",
            q.old
        )));
    }
    if new > latest_size(&state).0 {
        return Err(ApiError::not_found(format!(
            "tree size {new} is beyond the latest checkpoint"
        )));
    }
    let reader = state.hashes().reader(state.ledger());
    let hashes = ledger::tree::consistency_proof(TreeSize(q.old), TreeSize(new), &reader)
        .map_err(ApiError::internal)?;
    if wants_text(&headers) {
        let text: String = hashes.iter().map(|h| h.to_base64() + "\n").collect();
        return Ok(text_response(text, IMMUTABLE));
    }
    Ok(axum::Json(ConsistencyProof {
        old_size: q.old,
        new_size: new,
        hashes: hashes.iter().map(|h| h.to_hex()).collect(),
    })
    .into_response())
}
