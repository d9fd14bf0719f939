//! Set uploads that belong to a writer: a dataset manifest, an opt-out set or a model's weight
//! files, stored under its root once the ledger has checked that the leaves are strictly
//! increasing and hash to the claimed root.
//!
//! An upload starts with a request (`POST /v1/uploads`, signed by the uploader's key or
//! anonymous; `ledger::set::upload` owns its format) and gets a random 128-bit upload id. Every
//! later request names the id, which is the upload's capability: knowing the root is not enough
//! to add to, commit or abandon someone else's upload. The body goes either whole
//! (`PUT /v1/uploads/{id}`, streamed: it never sits in memory) or in numbered chunks
//! (`POST /v1/uploads/{id}/chunks/{seq}`, seq 0, 1, 2, ...) committed with
//! `POST /v1/uploads/{id}/commit`, so that one failed request does not restart a large upload.
//! Bodies are the format the request declared: concatenated 72-byte leaves, the JSON Lines
//! manifest that `prov hash` writes (docs/format-manifest.md), whose header's root must be the
//! declared one, or (format `passages`, issue 14) a passage tree's concatenated 64-byte leaves
//! `passage id || cid`, strictly increasing, whose range-tree root must be the declared one
//! (stored by the ledger's passage-tree store, not as a set).
//!
//! Quotas (config `[uploads]`): uploads in progress per key, per client address and in all;
//! leaves in flight per key; the size of one upload (anonymous ones small). An upload idle for
//! `idle_secs` is dropped, and its staged records with it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use ledger::set::upload::{UploadFormat, UploadRequest};
use ledger::set::SetLeaf;
use ledger::store::passages::{PassageWriter, PASSAGE_LEAF_LEN};
use ledger::store::sets::{SetInfo, SetStoreError, SetWriter};
use ledger::Digest;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::Path;
use crate::limits::PeerIp;
use crate::problem::ApiError;
use crate::sets::{set_view, SetView};
use crate::state::AppState;

/// Longest manifest line accepted (a leaf plus its metadata, or the header).
const MAX_LINE: usize = 1 << 20;
/// Signed requests remembered at most (each about 100 bytes). Past it the memory is cleared
/// (replays become possible again for a while) rather than growing without bound.
const MAX_SEEN: usize = 200_000;

/// `POST /v1/uploads`: the request (docs/formats.md, "Upload requests"). For the schema only:
/// the handler parses the bytes with `ledger::set::upload::UploadRequest::from_json`, which
/// refuses unknown fields and integers above 2^53 - 1.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "root": "819757fbddc33b994d5692aabf0b69cd672759e5a5e5b8ef140e9c7112d05357",
    "size": 2,
    "format": "leaves",
    "time": 1767225600
}))]
pub struct UploadRequestJson {
    /// The set's claimed root, 64 lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub root: String,
    /// Its number of leaves.
    #[schema(maximum = 9007199254740991_u64)]
    pub size: u64,
    /// `leaves` (concatenated 72-byte leaves), `manifest` (prov-manifest/v1 JSON Lines) or
    /// `passages` (a passage tree's concatenated 64-byte leaves; `root` and `size` are the
    /// range tree's).
    pub format: UploadFormatJson,
    /// Unix seconds; refused when further than `uploads.max_skew_secs` from the server's clock.
    #[schema(maximum = 9007199254740991_u64)]
    pub time: u64,
    /// Makes otherwise identical signed requests differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, maximum = 9007199254740991_u64)]
    pub nonce: Option<u64>,
    /// The uploader's Ed25519 public key, standard base64; absent for an anonymous upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, pattern = "^[A-Za-z0-9+/]{43}=$")]
    pub signer: Option<String>,
    /// Ed25519 signature (base64) of `"prov-ledger/upload/v1\n" || JCS(request without sig)`;
    /// present exactly when `signer` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, pattern = "^[A-Za-z0-9+/]{86}==$")]
    pub sig: Option<String>,
}

/// The body format an upload request declares.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UploadFormatJson {
    Leaves,
    Manifest,
    Passages,
}

/// An upload started.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadCreated {
    /// 32 lowercase hex: the capability every later request of this upload names.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub upload_id: String,
    /// Unix seconds after which the upload is dropped unless a request touches it.
    pub expires: u64,
}

/// Progress of a chunked upload.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChunkReceipt {
    /// The chunk just taken.
    pub seq: u64,
    /// Leaves received so far, all chunks together.
    pub leaves: u64,
    /// The upload's new expiry, unix seconds.
    pub expires: u64,
}

/// The uploads in progress, by id, and the signed requests seen recently (a replayed request
/// is refused, so that a captured request cannot spend its key's quota).
#[derive(Default)]
pub struct UploadTable {
    by_id: HashMap<[u8; 16], Arc<Slot>>,
    seen: HashMap<[u8; 64], u64>,
}

/// One upload in progress.
pub struct Slot {
    owner: Owner,
    addr: IpAddr,
    size: u64,
    format: UploadFormat,
    /// Unix seconds; refreshed by every chunk.
    expires: AtomicU64,
    /// In an `Arc` so that a chunk's blocking worker can own the lock: a client that goes
    /// away mid-chunk leaves the chunk taken whole (or the upload ended by its error).
    state: Arc<tokio::sync::Mutex<Progress>>,
}

struct Progress {
    /// `None` once the upload ended (committed, failed or abandoned) under a request in flight.
    ingest: Option<Ingest>,
    next_seq: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Key([u8; 32]),
    Anonymous,
}

impl UploadTable {
    /// Drops the uploads idle past their expiry (unless a request holds them) and the replay
    /// memory that has aged out. Returns the dropped uploads, to be dropped outside the lock
    /// (dropping discards their staged records).
    pub fn sweep(&mut self, now: u64) -> Vec<Arc<Slot>> {
        let mut gone = Vec::new();
        self.by_id.retain(|_, s| {
            // `expires` is the last whole second the upload is held ("after which it is
            // dropped"): with `>` an upload started late in a second lost up to a second of
            // its `idle_secs`, and with `idle_secs = 1` could expire within a millisecond.
            let keep = s.expires.load(Ordering::Relaxed) >= now || s.state.try_lock().is_err();
            if !keep {
                gone.push(s.clone());
            }
            keep
        });
        self.seen.retain(|_, until| *until > now);
        gone
    }

    /// Uploads in progress.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Refuses an upload that would break a quota.
    fn admit(
        &self,
        owner: Owner,
        addr: IpAddr,
        size: u64,
        q: &crate::config::UploadLimits,
        now: u64,
    ) -> Result<(), ApiError> {
        // Retry after the soonest of the counted uploads could expire.
        let retry = |f: &dyn Fn(&Slot) -> bool| -> u64 {
            let soonest = self
                .by_id
                .values()
                .filter(|s| f(s))
                .map(|s| s.expires.load(Ordering::Relaxed))
                .min()
                .unwrap_or(now);
            soonest.saturating_sub(now).max(1)
        };
        let busy = |what: String, f: &dyn Fn(&Slot) -> bool| -> ApiError {
            ApiError::OverQuota {
                slug: "too-many-uploads",
                detail: format!("{what}; finish or abandon one (DELETE /v1/uploads/{{id}})"),
                retry_after_secs: retry(f),
            }
        };
        if self.by_id.len() >= q.max_uploads as usize {
            return Err(busy(
                format!("{} uploads in progress, the server's limit", q.max_uploads),
                &|_| true,
            ));
        }
        let from_addr = |s: &Slot| s.addr == addr;
        if self.by_id.values().filter(|s| from_addr(s)).count() >= q.per_address as usize {
            return Err(busy(
                format!("{} uploads in progress from this address", q.per_address),
                &from_addr,
            ));
        }
        match owner {
            Owner::Anonymous => {
                let anon = |s: &Slot| s.addr == addr && s.owner == Owner::Anonymous;
                let n = self.by_id.values().filter(|s| anon(s)).count();
                if n >= q.anonymous_per_address as usize {
                    return Err(busy(
                        format!(
                            "{} anonymous uploads in progress from this address; sign the \
                             request for more",
                            q.anonymous_per_address
                        ),
                        &anon,
                    ));
                }
            }
            Owner::Key(_) => {
                let mine = |s: &Slot| s.owner == owner;
                let n = self.by_id.values().filter(|s| mine(s)).count();
                if n >= q.per_key as usize {
                    return Err(busy(
                        format!("{} uploads in progress for this key", q.per_key),
                        &mine,
                    ));
                }
                let leaves: u64 = self
                    .by_id
                    .values()
                    .filter(|s| mine(s))
                    .map(|s| s.size)
                    .sum();
                if leaves.saturating_add(size) > q.leaves_in_flight_per_key {
                    return Err(ApiError::OverQuota {
                        slug: "upload-quota-exceeded",
                        detail: format!(
                            "this key has {leaves} leaves in uploads in progress; {size} more \
                             would pass its {} limit",
                            q.leaves_in_flight_per_key
                        ),
                        retry_after_secs: retry(&mine),
                    });
                }
            }
        }
        Ok(())
    }
}

/// `POST /v1/uploads`: starts an upload.
#[utoipa::path(post, path = "/v1/uploads", tag = "write", operation_id = "create_upload",
    request_body(content = UploadRequestJson, content_type = "application/json",
        description = "The upload request, signed or anonymous (docs/formats.md)"),
    responses(
        (status = 201, description = "Started: send the body to /v1/uploads/{upload_id}", body = UploadCreated,
            headers(("Location" = String, description = "/v1/uploads/{upload_id}"))),
        (status = 400, description = "Malformed request", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A signed request seen before (`upload-request-replay`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Declared size over the limit (`upload-too-large`; anonymous uploads are small)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad signature (`bad-signature`) or `time` too far from the server's clock (`stale-upload-request`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many uploads in progress (`too-many-uploads`), too many leaves in flight for the key (`upload-quota-exceeded`), or too many upload requests from the address (`upload-rate-limited`); see Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    PeerIp(ip): PeerIp,
    body: Bytes,
) -> Result<Response, ApiError> {
    let addr = address_bucket(ip);
    if let Err(retry_after_secs) = state.upload_limiter().check(addr) {
        return Err(ApiError::OverQuota {
            slug: "upload-rate-limited",
            detail: format!(
                "more than {} upload requests a minute from this address",
                state.config().uploads.starts_per_minute
            ),
            retry_after_secs,
        });
    }
    let req = UploadRequest::from_json(&body)?;
    let q = &state.config().uploads;
    let now = unix_now();
    if req.time.abs_diff(now) > q.max_skew_secs {
        return Err(ApiError::Rejected {
            slug: "stale-upload-request",
            detail: format!(
                "request time {} is more than {} s from the server's clock ({now})",
                req.time, q.max_skew_secs
            ),
        });
    }
    let (owner, cap) = match req.signer() {
        Some(k) => (
            Owner::Key(k.to_bytes()),
            state.config().limits.max_set_leaves,
        ),
        None => (Owner::Anonymous, q.anonymous_max_leaves),
    };
    if req.size > cap {
        let whose = match owner {
            Owner::Key(_) => "a set",
            Owner::Anonymous => "an anonymous upload; sign the request for more",
        };
        return Err(ApiError::TooLarge {
            slug: "upload-too-large",
            detail: format!("{} leaves; at most {cap} for {whose}", req.size),
        });
    }
    let mut id = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
    let expires = now.saturating_add(q.idle_secs);
    let gone = {
        let mut table = state.uploads();
        let gone = table.sweep(now);
        if let Some(sig) = req.signature_bytes() {
            if table.seen.contains_key(&sig) {
                return Err(ApiError::Conflict {
                    slug: "upload-request-replay",
                    detail: "this signed upload request was already used; sign a new one".into(),
                });
            }
        }
        table.admit(owner, addr, req.size, q, now)?;
        if let Some(sig) = req.signature_bytes() {
            if table.seen.len() >= MAX_SEEN {
                tracing::warn!("upload replay memory full; cleared");
                table.seen.clear();
            }
            // After this, the time check refuses the request anyway.
            table
                .seen
                .insert(sig, req.time.max(now).saturating_add(q.max_skew_secs + 1));
        }
        let sink = match req.format {
            UploadFormat::Passages => Sink::Passages(state.ledger().passage_writer()),
            _ => Sink::Set(state.ledger().set_writer()),
        };
        let ingest = Ingest::new(sink, &req, q.manifest_bytes_per_leaf);
        table.by_id.insert(
            id,
            Arc::new(Slot {
                owner,
                addr,
                size: req.size,
                format: req.format,
                expires: AtomicU64::new(expires),
                state: Arc::new(tokio::sync::Mutex::new(Progress {
                    ingest: Some(ingest),
                    next_seq: 0,
                })),
            }),
        );
        gone
    };
    drop(gone);
    metrics::counter!("prov_uploads_started_total").increment(1);
    let upload_id = hex::encode(id);
    let mut resp = (
        StatusCode::CREATED,
        axum::Json(UploadCreated {
            upload_id: upload_id.clone(),
            expires,
        }),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/uploads/{upload_id}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// `PUT /v1/uploads/{id}`: the whole set in one streamed body; stores it and ends the upload.
#[utoipa::path(put, path = "/v1/uploads/{id}", tag = "write", operation_id = "upload_whole_set",
    params(("id" = String, Path, description = "The upload id from POST /v1/uploads (32 lowercase hex; any other string is an unknown upload, 404)", pattern = "^[0-9a-f]{32}$")),
    request_body(description = "Concatenated 72-byte leaves, a prov-manifest/v1 JSON Lines manifest, or concatenated 64-byte passage leaves, as the request declared",
        content((Vec<u8> = "application/octet-stream"), (String = "application/x-ndjson"), (Vec<u8> = "application/vnd.prov.passage-leaves"))),
    responses(
        (status = 201, description = "Stored (or already stored: the existing set)", body = SetView),
        (status = 400, description = "Malformed body (partial 72-byte leaf, bad manifest line)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No upload with this id", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The upload is being sent in chunks (`upload-in-chunks`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "More than the declared size (`upload-too-large`), or a body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "A content type other than the declared format", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Leaves not strictly increasing (`invalid-set`), root mismatch (`root-mismatch`), a partial 64-byte passage leaf (`partial-passage-leaf`), or a size other than the declared one (`size-mismatch`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 507, description = "The ledger's disk is below its free-space floor (`insufficient-storage`); nothing was written; retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_whole(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (key, slot) = lookup(&state, &id)?;
    check_content_type(&headers, slot.format)?;
    let mut progress = slot.state.lock().await;
    if progress.next_seq != 0 {
        return Err(ApiError::Conflict {
            slug: "upload-in-chunks",
            detail: format!(
                "{} chunks already taken; send the rest as chunks and commit",
                progress.next_seq
            ),
        });
    }
    let mut ingest = progress.ingest.take().ok_or_else(unknown)?;
    // Whatever happens now, this request ends the upload.
    let result = stream_whole(&mut ingest, body).await;
    drop(progress);
    state.uploads().by_id.remove(&key);
    result?;
    let stored = finish(ingest).await?;
    Ok((StatusCode::CREATED, axum::Json(stored.view())).into_response())
}

/// `POST /v1/uploads/{id}/chunks/{seq}`: one chunk of the upload, in order from 0.
#[utoipa::path(post, path = "/v1/uploads/{id}/chunks/{seq}", tag = "write", operation_id = "upload_chunk",
    params(("id" = String, Path, description = "The upload id from POST /v1/uploads (32 lowercase hex; any other string is an unknown upload, 404)", pattern = "^[0-9a-f]{32}$"),
           ("seq" = u64, Path, description = "Chunk number: 0, 1, 2, ...")),
    request_body(description = "The next bytes of the leaves, manifest or passage leaves; chunks may split a leaf or line anywhere",
        content((Vec<u8> = "application/octet-stream"), (String = "application/x-ndjson"), (Vec<u8> = "application/vnd.prov.passage-leaves"))),
    responses(
        (status = 200, description = "Taken", body = ChunkReceipt),
        (status = 404, description = "No upload with this id", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Out of order (the detail names the expected chunk)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "More than the declared size (`upload-too-large`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Leaves not strictly increasing (the upload ends)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed chunk number or body", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "A content type other than the declared format (`unsupported-media-type`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 507, description = "The ledger's disk is below its free-space floor (`insufficient-storage`); nothing was written; retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_chunk(
    State(state): State<AppState>,
    Path((id, seq)): Path<(String, u64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (key, slot) = lookup(&state, &id)?;
    check_content_type(&headers, slot.format)?;
    let mut progress = slot.state.clone().lock_owned().await;
    if progress.ingest.is_none() {
        return Err(unknown());
    }
    if seq != progress.next_seq {
        return Err(ApiError::Conflict {
            slug: "chunk-out-of-order",
            detail: format!("expected chunk {}, got {seq}", progress.next_seq),
        });
    }
    // The worker holds the lock until the chunk is taken or has ended the upload, even if this
    // request is dropped meanwhile.
    let result = tokio::task::spawn_blocking(move || {
        let p = &mut *progress;
        let Some(ingest) = p.ingest.as_mut() else {
            return Err(unknown());
        };
        match ingest.push(&body) {
            Ok(()) => {
                p.next_seq += 1;
                Ok(ingest.size())
            }
            Err(e) => {
                // A bad chunk ends the upload: the set is wrong, not the transfer.
                p.ingest = None;
                Err(e)
            }
        }
    })
    .await
    .map_err(|e| ApiError::internal(format!("set ingest task: {e}")))?;
    let leaves = match result {
        Ok(leaves) => leaves,
        Err(e) => {
            state.uploads().by_id.remove(&key);
            return Err(e);
        }
    };
    let expires = unix_now().saturating_add(state.config().uploads.idle_secs);
    slot.expires.store(expires, Ordering::Relaxed);
    Ok(axum::Json(ChunkReceipt {
        seq,
        leaves,
        expires,
    })
    .into_response())
}

/// `POST /v1/uploads/{id}/commit`: checks the chunks received against the declared root and
/// size, stores the set and ends the upload.
#[utoipa::path(post, path = "/v1/uploads/{id}/commit", tag = "write", operation_id = "commit_upload",
    params(("id" = String, Path, description = "The upload id from POST /v1/uploads (32 lowercase hex; any other string is an unknown upload, 404)", pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 201, description = "Stored (or already stored: the existing set)", body = SetView),
        (status = 404, description = "No upload with this id", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Root mismatch (`root-mismatch`), a partial 64-byte passage leaf (`partial-passage-leaf`), or a size other than the declared one (`size-mismatch`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed path or query parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 507, description = "The ledger's disk is below its free-space floor (`insufficient-storage`); nothing was written; retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn commit(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (key, slot) = lookup(&state, &id)?;
    let ingest = slot.state.lock().await.ingest.take().ok_or_else(unknown)?;
    state.uploads().by_id.remove(&key);
    let stored = finish(ingest).await?;
    Ok((StatusCode::CREATED, axum::Json(stored.view())).into_response())
}

/// `DELETE /v1/uploads/{id}`: abandons an upload; its staged records are discarded.
#[utoipa::path(delete, path = "/v1/uploads/{id}", tag = "write", operation_id = "abandon_upload",
    params(("id" = String, Path, description = "The upload id from POST /v1/uploads (32 lowercase hex; any other string is an unknown upload, 404)", pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 204, description = "Abandoned"),
        (status = 404, description = "No upload with this id", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed path or query parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn abandon(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key = parse_id(&id)?;
    let slot = state.uploads().by_id.remove(&key).ok_or_else(unknown)?;
    // Dropping the last reference discards the staged records; a request in flight holds one
    // until it ends.
    drop(slot);
    Ok(StatusCode::NO_CONTENT)
}

fn unknown() -> ApiError {
    ApiError::not_found("no upload with this id (it ended, expired, or never existed)")
}

/// The id as a map key: 32 lowercase hex, or no such upload.
fn parse_id(id: &str) -> Result<[u8; 16], ApiError> {
    let mut key = [0u8; 16];
    if id.len() != 32
        || !id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        || hex::decode_to_slice(id, &mut key).is_err()
    {
        return Err(unknown());
    }
    Ok(key)
}

/// The upload with this id. Ids are found by hash-map lookup, never compared byte by byte
/// against a secret, so their timing says nothing about other uploads' ids.
fn lookup(state: &AppState, id: &str) -> Result<([u8; 16], Arc<Slot>), ApiError> {
    let key = parse_id(id)?;
    let slot = state
        .uploads()
        .by_id
        .get(&key)
        .cloned()
        .ok_or_else(unknown)?;
    Ok((key, slot))
}

/// The address an upload counts against: an IPv4 address, or an IPv6 address's /64 (one
/// subscriber's usual allocation, so rotating addresses inside it does not multiply quotas).
fn address_bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The content type of a `passages` upload's body.
pub const PASSAGE_LEAVES: &str = "application/vnd.prov.passage-leaves";

/// A content type, when given, must be the declared format's.
fn check_content_type(headers: &HeaderMap, format: UploadFormat) -> Result<(), ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let mime = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let sent = match mime.as_str() {
        "application/octet-stream" => UploadFormat::Leaves,
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => {
            UploadFormat::Manifest
        }
        PASSAGE_LEAVES => UploadFormat::Passages,
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "{other}: send application/octet-stream (72-byte leaves), application/x-ndjson (a manifest) or {PASSAGE_LEAVES} (64-byte passage leaves)"
            )))
        }
    };
    if sent != format {
        return Err(ApiError::UnsupportedMediaType(format!(
            "{mime} is not the declared format {:?}",
            format.as_str()
        )));
    }
    Ok(())
}

/// Streams a whole body into `ingest` on a blocking worker, chunk by chunk as it arrives.
async fn stream_whole(ingest: &mut Ingest, body: Body) -> Result<(), ApiError> {
    // The worker owns the ingest while it runs; it comes back through the join handle.
    let taken = std::mem::replace(ingest, Ingest::placeholder());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let worker = tokio::task::spawn_blocking(move || {
        let mut ingest = taken;
        let mut result = Ok(());
        while let Some(chunk) = rx.blocking_recv() {
            if let Err(e) = ingest.push(&chunk) {
                result = Err(e);
                break;
            }
        }
        (ingest, result)
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
    let (back, result) = worker
        .await
        .map_err(|e| ApiError::internal(format!("set ingest task: {e}")))?;
    *ingest = back;
    if let Some(e) = read_error {
        return Err(body_error(e));
    }
    result
}

async fn finish(ingest: Ingest) -> Result<Stored, ApiError> {
    let stored = tokio::task::spawn_blocking(move || ingest.finish())
        .await
        .map_err(|e| ApiError::internal(format!("set commit task: {e}")))??;
    match stored {
        Stored::Set(_) => metrics::counter!("prov_sets_stored_total").increment(1),
        Stored::Passages { .. } => {
            metrics::counter!("prov_passage_trees_stored_total").increment(1)
        }
    }
    Ok(stored)
}

/// What an upload stored: a set, or a passage tree (root, size).
enum Stored {
    Set(SetInfo),
    Passages { root: Digest, size: u64 },
}

impl Stored {
    fn view(&self) -> SetView {
        match self {
            Stored::Set(info) => set_view(*info),
            Stored::Passages { root, size } => SetView {
                root: root.to_hex(),
                size: *size,
            },
        }
    }
}

/// Where an upload's leaves go: the set store, or the passage-tree store.
enum Sink {
    Set(SetWriter),
    Passages(PassageWriter),
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

/// Feeds body bytes into a [`SetWriter`], decoding manifest lines when needed, and holds the
/// upload to what its request declared. Runs on a blocking thread: the writer stages records in
/// the store as it goes.
struct Ingest {
    format: UploadFormat,
    writer: Option<Sink>,
    claimed: Digest,
    declared: u64,
    bytes: u64,
    max_bytes: u64,
    line: Vec<u8>,
    lines: u64,
    /// The manifest header's `meta`: `Some(true)` for `full` (every leaf line carries its
    /// metadata, which is stored), `Some(false)` for `none`, `None` when the header omits it
    /// (then each line is taken as it is, and the set store holds them to all or none).
    meta: Option<bool>,
}

impl Ingest {
    fn new(writer: Sink, req: &UploadRequest, manifest_bytes_per_leaf: u64) -> Self {
        let max_bytes = match req.format {
            UploadFormat::Leaves => req.size.saturating_mul(SetLeaf::LEN as u64),
            UploadFormat::Passages => req.size.saturating_mul(PASSAGE_LEAF_LEN as u64),
            UploadFormat::Manifest => req
                .size
                .saturating_mul(manifest_bytes_per_leaf)
                .saturating_add(MAX_LINE as u64),
        };
        Ingest {
            format: req.format,
            writer: Some(writer),
            claimed: req.root,
            declared: req.size,
            bytes: 0,
            max_bytes,
            line: Vec::new(),
            lines: 0,
            meta: None,
        }
    }

    /// Stands in while the real one is on a worker thread; never pushed to.
    fn placeholder() -> Self {
        Ingest {
            format: UploadFormat::Leaves,
            writer: None,
            claimed: Digest([0; 32]),
            declared: 0,
            bytes: 0,
            max_bytes: 0,
            line: Vec::new(),
            lines: 0,
            meta: None,
        }
    }

    fn writer(&mut self) -> Result<&mut SetWriter, ApiError> {
        match self.writer.as_mut() {
            Some(Sink::Set(w)) => Ok(w),
            _ => Err(ApiError::internal("upload without a set writer")),
        }
    }

    fn passage_writer(&mut self) -> Result<&mut PassageWriter, ApiError> {
        match self.writer.as_mut() {
            Some(Sink::Passages(w)) => Ok(w),
            _ => Err(ApiError::internal("upload without a passage writer")),
        }
    }

    fn size(&self) -> u64 {
        match &self.writer {
            Some(Sink::Set(w)) => w.size().0,
            Some(Sink::Passages(w)) => w.size().0,
            None => 0,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) -> Result<(), ApiError> {
        self.bytes = self.bytes.saturating_add(bytes.len() as u64);
        if self.bytes > self.max_bytes {
            return Err(ApiError::TooLarge {
                slug: "upload-too-large",
                detail: format!(
                    "more than the {} bytes an upload of {} leaves may send",
                    self.max_bytes, self.declared
                ),
            });
        }
        match self.format {
            UploadFormat::Leaves => self.writer()?.push_bytes(bytes)?,
            UploadFormat::Passages => self.passage_writer()?.push_bytes(bytes)?,
            UploadFormat::Manifest => {
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
        if self.size() > self.declared {
            return Err(ApiError::TooLarge {
                slug: "upload-too-large",
                detail: format!("more leaves than the declared {}", self.declared),
            });
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
                #[serde(default, borrow)]
                meta: Option<&'a str>,
            }
            let h: Header = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
            self.meta = match h.meta {
                Some("full") => Some(true),
                Some("none") => Some(false),
                None => None,
                Some(other) => return Err(bad(format!("unknown meta mode {other:?}"))),
            };
            let root = Digest::from_hex(h.root).map_err(|e| bad(e.to_string()))?;
            if root != self.claimed {
                return Err(ApiError::Rejected {
                    slug: "root-mismatch",
                    detail: format!(
                        "manifest root {root} is not the declared root {}",
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
            #[serde(default)]
            meta: Option<serde_json::Value>,
        }
        let l: Leaf = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
        let mut b = [0u8; SetLeaf::LEN];
        hex::decode_to_slice(l.leaf, &mut b)
            .map_err(|_| bad("leaf is not 144 hex digits".into()))?;
        let leaf = SetLeaf::from_bytes(&b);
        match (self.meta, l.meta) {
            (Some(false), Some(_)) => {
                return Err(bad(
                    "metadata in a manifest whose header says \"meta\":\"none\"".into(),
                ))
            }
            (Some(true), None) => {
                return Err(bad(
                    "no metadata in a manifest whose header says \"meta\":\"full\"".into(),
                ))
            }
            // Kept as its canonical JSON (RFC 8785), the bytes the leaf's meta digest commits
            // to; the set store checks the digest and the size.
            (_, Some(meta)) => {
                let bytes = ledger::set::meta::canonical(&meta)
                    .map_err(|e| bad(format!("metadata: {e}")))?;
                self.writer()?.push_with_meta(&leaf, &bytes)?;
            }
            (_, None) => self.writer()?.push(&leaf)?,
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Stored, ApiError> {
        if self.format == UploadFormat::Manifest && !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.take_line(&line)?;
        }
        if self.format == UploadFormat::Manifest && self.lines == 0 {
            return Err(ApiError::bad_request("empty manifest: no header line"));
        }
        let left = self.bytes % SetLeaf::LEN as u64;
        if self.format == UploadFormat::Leaves && left != 0 {
            return Err(ApiError::bad_request(format!(
                "set leaves must be whole 72-byte leaves; {left} bytes left over"
            )));
        }
        let left = self.bytes % PASSAGE_LEAF_LEN as u64;
        if self.format == UploadFormat::Passages && left != 0 {
            return Err(SetStoreError::PartialPassageLeaf(left as usize).into());
        }
        if self.size() != self.declared {
            return Err(ApiError::Rejected {
                slug: "size-mismatch",
                detail: format!(
                    "{} leaves received, the request declared {}",
                    self.size(),
                    self.declared
                ),
            });
        }
        let claimed = self.claimed;
        match self.writer.take() {
            Some(Sink::Set(w)) => Ok(Stored::Set(w.commit(&claimed)?)),
            Some(Sink::Passages(w)) => {
                let info = w.commit(&claimed)?;
                Ok(Stored::Passages {
                    root: info.root,
                    size: info.size.0,
                })
            }
            None => Err(ApiError::internal("upload without a writer")),
        }
    }
}
