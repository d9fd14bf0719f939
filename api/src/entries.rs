//! Submitting entries (`POST /v1/entries`, `POST /v1/publishers`) and reading them back
//! (`GET /v1/entries/{index}`).
//!
//! The ledger's sequencer validates every entry (size, canonical JSON, fields, signature, the
//! cross-entry rules) and answers with the index and a covering checkpoint. This module only
//! canonicalises the body (so a client may send JSON with any whitespace or key order; the
//! signature covers the canonical form anyway), applies what only the service knows (the
//! publisher allow-list, the opt-out rate limit), and maps the answer.
//!
//! The opt-out rate limit (per client, `limits.anonymous_optouts_*`) covers every opt-out that
//! anyone could make for free: anonymous ones, and signed ones whose key is neither on the
//! publisher allow-list nor the current key of a registered publisher (a throwaway key costs
//! nothing to make). Both kinds draw on the same bucket per client.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use ledger::{LeafIndex, TreeSize};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::extract::Path;
use crate::limits::PeerIp;
use crate::problem::ApiError;
use crate::state::AppState;

/// The sequencer's answer to a submission.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Receipt {
    /// The entry's index in the log.
    pub index: u64,
    /// `SHA-256(0x00 || entry)`, 64 hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub leaf_hash: String,
    /// The size of the checkpoint below, which covers the entry (`tree_size > index`).
    pub tree_size: u64,
    /// A signed checkpoint (C2SP signed note) covering the entry.
    pub checkpoint: String,
}

/// An entry of the log.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct EntryView {
    pub index: u64,
    /// `SHA-256(0x00 || canonical)`, 64 hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub leaf_hash: String,
    /// The entry's `type`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The entry's exact bytes: canonical JSON (RFC 8785), as hashed into the log.
    pub canonical: String,
    /// The same entry, parsed.
    #[schema(value_type = Object)]
    pub entry: Value,
}

/// `POST /v1/entries`: submit a signed entry of any type.
#[utoipa::path(post, path = "/v1/entries", tag = "write", operation_id = "submit_entry",
    request_body(content = crate::schemas::EntryJson, description = "A signed entry of one of the four types (docs/format-sets-entries.md); canonicalised (RFC 8785) before submission", content_type = "application/json"),
    responses(
        (status = 201, description = "Logged and covered by a signed checkpoint", body = Receipt),
        (status = 400, description = "Not a JSON object", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Signed by a key not allowed to publish under this name", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Replay, name taken, or dataset version already published", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid entry: bad signature, unknown publisher, unknown dataset version, ...", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many opt-outs from this client (anonymous, or signed by a key of no registered publisher); see Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ledger cannot accept writes now (busy, shutting down, storage-unavailable); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 507, description = "The ledger's disk is below its free-space floor (insufficient-storage); nothing was written; retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn submit(
    State(state): State<AppState>,
    PeerIp(ip): PeerIp,
    body: Bytes,
) -> Result<Response, ApiError> {
    submit_inner(state, ip, body, None).await
}

/// `POST /v1/publishers`: register a publisher (a signed `publisher` entry).
#[utoipa::path(post, path = "/v1/publishers", tag = "write", operation_id = "register_publisher",
    request_body(content = crate::schemas::PublisherEntryJson, description = "A signed `publisher` entry", content_type = "application/json"),
    responses(
        (status = 201, description = "Registered", body = Receipt),
        (status = 400, description = "Not a publisher entry", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Key not allowed", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name taken by another key, or replay", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid entry", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ledger cannot accept writes now; retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 507, description = "The ledger's disk is below its free-space floor; retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit (`payload-too-large`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many new publisher names from this client; see Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn register_publisher(
    State(state): State<AppState>,
    PeerIp(ip): PeerIp,
    body: Bytes,
) -> Result<Response, ApiError> {
    submit_inner(state, ip, body, Some("publisher")).await
}

async fn submit_inner(
    state: AppState,
    ip: std::net::IpAddr,
    body: Bytes,
    want_type: Option<&str>,
) -> Result<Response, ApiError> {
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("body is not JSON: {e}")))?;
    let Value::Object(obj) = &value else {
        return Err(ApiError::bad_request("entry must be a JSON object"));
    };
    let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
    if let Some(want) = want_type {
        if ty != want {
            return Err(ApiError::bad_request(format!(
                "expected an entry of type {want:?}, got {ty:?}"
            )));
        }
    }
    let signer = obj.get("signer").and_then(Value::as_str);
    let bytes = serde_json_canonicalizer::to_vec(&value)
        .map_err(|e| ApiError::bad_request(format!("cannot canonicalise the entry: {e}")))?;
    match (ty, signer) {
        ("optout", None) => state
            .optout_limiter()
            .check(ip)
            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?,
        // A key that no publisher uses costs nothing to make: limited like no key at all.
        ("optout", Some(signer)) if !signer_is_publisher(&state, signer, &bytes)? => state
            .optout_limiter()
            .check(ip)
            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?,
        ("publisher" | "dataset_version" | "model_checkpoint", Some(signer)) => {
            let key = base64::engine::general_purpose::STANDARD
                .decode(signer)
                .map(hex::encode)
                .unwrap_or_default();
            if !state.publisher_allowed(&key) {
                return Err(ApiError::Forbidden(
                    "this deployment accepts publishers from its allow-list only".into(),
                ));
            }
            // A new name (not a key change) is a registered publisher for the opt-out limit
            // above: registering throwaway names is rate-limited per client instead.
            if ty == "publisher" && !state.on_allowlist(&key) {
                let name = obj.get("name").and_then(Value::as_str).unwrap_or("");
                let new_name = state
                    .blocking({
                        let name = name.to_string();
                        move |l| Ok(l.publisher(&name)?.is_none())
                    })
                    .await?;
                if new_name {
                    state
                        .registration_limiter()
                        .check(ip)
                        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
                }
            }
        }
        _ => {}
    }
    let leaf_hash = ledger::leaf_hash(&bytes);
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.ledger().submit_with(bytes, move |r| {
        let _ = tx.send(r);
    });
    let receipt = rx
        .await
        .map_err(|_| ApiError::Unavailable("ledger is shutting down".into()))??;
    metrics::counter!("prov_entries_submitted_total", "type" => type_label(ty)).increment(1);
    if ty == "publisher" {
        if let Some(key) = obj.get("key").and_then(Value::as_str).and_then(decode_key) {
            state.publisher_keys().insert(key);
        }
    }
    let body = Receipt {
        index: receipt.index.0,
        leaf_hash: leaf_hash.to_hex(),
        tree_size: receipt.checkpoint.size().0,
        checkpoint: receipt.checkpoint.note.clone(),
    };
    let mut resp = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("/v1/entries/{}", receipt.index.0)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

/// A base64 Ed25519 public key, as entries carry them.
fn decode_key(b64: &str) -> Option<[u8; 32]> {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
}

/// Whether an opt-out (canonical `bytes`) is signed by a key that the log knows: on the
/// publisher allow-list, or the current key of a registered publisher, *and* the signature
/// verifies (naming a publisher's key with a bad signature earns no exemption). Anything else (a
/// key made for the occasion, or not a key at all: the sequencer refuses those) is rate-limited
/// like an anonymous opt-out.
fn signer_is_publisher(state: &AppState, signer_b64: &str, bytes: &[u8]) -> Result<bool, ApiError> {
    let Some(key) = decode_key(signer_b64) else {
        return Ok(false);
    };
    let known = state.on_allowlist(&hex::encode(key))
        || state.publisher_keys().contains(state.ledger(), &key)?;
    // Verified only for known keys, so that a flood of throwaway keys costs no extra work.
    Ok(known && ledger::entry::Entry::from_bytes(bytes).is_ok())
}

/// The current keys of all publishers, cached: rebuilt from the ledger
/// ([`ledger::ledger::Ledger::publisher_keys`], one index scan) when the log has grown, at most
/// once per [`PublisherKeys::REFRESH`]; keys registered through this service are added at once.
/// Between refreshes a key that was just replaced may still count as a publisher's: it then
/// escapes the opt-out rate limit for at most that long.
#[derive(Debug, Default)]
pub(crate) struct PublisherKeys {
    cache: std::sync::Mutex<KeyCache>,
}

#[derive(Debug, Default)]
struct KeyCache {
    keys: std::collections::HashSet<[u8; 32]>,
    /// The tree size the keys were read at, and when.
    built: Option<(u64, std::time::Instant)>,
}

impl PublisherKeys {
    const REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

    pub(crate) fn contains(
        &self,
        ledger: &ledger::ledger::Ledger,
        key: &[u8; 32],
    ) -> Result<bool, ApiError> {
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let size = ledger.checkpoint().size().0;
        let stale = match c.built {
            None => true,
            Some((at, when)) => at != size && when.elapsed() >= Self::REFRESH,
        };
        if stale {
            c.keys = ledger.publisher_keys()?;
            c.built = Some((size, std::time::Instant::now()));
        }
        Ok(c.keys.contains(key))
    }

    fn insert(&self, key: [u8; 32]) {
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        c.keys.insert(key);
    }
}

fn type_label(ty: &str) -> &'static str {
    match ty {
        "publisher" => "publisher",
        "dataset_version" => "dataset_version",
        "optout" => "optout",
        "model_checkpoint" => "model_checkpoint",
        _ => "other",
    }
}

/// `GET /v1/entries/{index}`.
#[utoipa::path(get, path = "/v1/entries/{index}", tag = "read", operation_id = "get_entry",
    params(("index" = u64, Path, description = "Log index", example = 2)),
    responses(
        (status = 200, description = "The entry", body = EntryView),
        (status = 404, description = "Not covered by the latest checkpoint", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed path or query parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn entry(
    State(state): State<AppState>,
    Path(index): Path<u64>,
) -> Result<axum::Json<EntryView>, ApiError> {
    Ok(axum::Json(entry_view(&state, index)?))
}

/// The entry at `index` as a view, or 404.
pub(crate) fn entry_view(state: &AppState, index: u64) -> Result<EntryView, ApiError> {
    let bytes = state
        .ledger()
        .entry(LeafIndex(index))?
        .ok_or_else(|| ApiError::not_found(format!("no entry {index} in the latest checkpoint")))?;
    view_of(index, bytes)
}

pub(crate) fn view_of(index: u64, bytes: Vec<u8>) -> Result<EntryView, ApiError> {
    let entry: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::internal(format!("stored entry {index} is not JSON: {e}")))?;
    let type_ = entry
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let leaf_hash = ledger::leaf_hash(&bytes).to_hex();
    let canonical = String::from_utf8(bytes)
        .map_err(|_| ApiError::internal(format!("stored entry {index} is not UTF-8")))?;
    Ok(EntryView {
        index,
        leaf_hash,
        type_,
        canonical,
        entry,
    })
}

/// The latest tree size.
pub(crate) fn latest_size(state: &AppState) -> TreeSize {
    state.ledger().checkpoint().size()
}
