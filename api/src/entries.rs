//! Submitting entries (`POST /v1/entries`, `POST /v1/publishers`) and reading them back
//! (`GET /v1/entries/{index}`).
//!
//! The body is decoded once: canonicalised (so a client may send JSON with any whitespace or key
//! order; the signature covers the canonical form anyway), then decoded into a typed,
//! signature-checked entry. The ledger's admission rules (`ledger/src/store/admission.rs`: the
//! publisher allow-list and the entry's rate class) decide on that entry; this module applies
//! the per-client limiter of the class (the limiters are per-client state, the service's own)
//! and submits the typed entry, which the sequencer checks against the cross-entry rules
//! without decoding it again. Errors map in `problem.rs`, a decoding error exactly like the
//! sequencer's.
//!
//! The opt-out rate limit (per client, `limits.anonymous_optouts_*`) covers every opt-out that
//! anyone could make for free: anonymous ones, and signed ones whose key is neither on the
//! publisher allow-list nor the current key of a registered publisher (a throwaway key costs
//! nothing to make). Both kinds draw on the same bucket per client. New publisher names draw on
//! `limits.publisher_registrations_*`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ledger::entry::{Entry, EntryBody, EntryKind};
use ledger::sequencer::SubmitError;
use ledger::store::admission::{admission, Admission, AdmissionLookup, RateClass, VerifyingKey};
use ledger::store::index::Rejection;
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
        (status = 429, description = "Too many opt-outs from this client (anonymous, or signed by a key of no registered publisher), or too many new publisher names; see Retry-After (the rate classes: docs/format-sets-entries.md#acceptance-rules)", body = crate::problem::Problem, content_type = "application/problem+json"),
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
    submit_inner(state, ip, body, Some(EntryKind::Publisher)).await
}

async fn submit_inner(
    state: AppState,
    ip: std::net::IpAddr,
    body: Bytes,
    want: Option<EntryKind>,
) -> Result<Response, ApiError> {
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("entry must be a JSON object"));
    }
    let bytes = serde_json_canonicalizer::to_vec(&value)
        .map_err(|e| ApiError::bad_request(format!("cannot canonicalise the entry: {e}")))?;
    let entry = {
        let state = state.clone();
        guarded(move || admit(&state, ip, &bytes, want)).await?
    };
    let kind = entry.kind();
    let leaf_hash = entry.leaf_hash();
    let new_key = match entry.body() {
        EntryBody::Publisher(p) => Some(p.key.to_bytes()),
        _ => None,
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.ledger().submit_entry_with(entry, move |r| {
        let _ = tx.send(r);
    });
    let receipt = rx
        .await
        .map_err(|_| ApiError::Unavailable("ledger is shutting down".into()))??;
    metrics::counter!("prov_entries_submitted_total", "type" => kind.as_str()).increment(1);
    if let Some(key) = new_key {
        state.publisher_keys().insert(key);
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

/// Every acceptance step the service takes before submitting, in order: decodes the canonical
/// `bytes` once into a typed entry (the sequencer's own decoding,
/// [`Entry::from_bytes_unverified`]: size, JSON, fields, canonical form; a refusal maps like the
/// sequencer's), checks the route's entry type, asks the ledger's admission rules
/// (`ledger::store::admission`: allow-list, rate class), applies the limiter of the class, and
/// only then checks the signature ([`ledger::entry::UnverifiedEntry::verify`]), so that the limits bite before
/// a throwaway key costs a signature check. The result is the typed entry the sequencer takes
/// without decoding or verifying it again. Blocking: the rules read the store.
fn admit(
    state: &AppState,
    ip: std::net::IpAddr,
    bytes: &[u8],
    want: Option<EntryKind>,
) -> Result<Entry, ApiError> {
    let entry = Entry::from_bytes_unverified(bytes).map_err(Rejection::Entry)?;
    if let Some(want) = want {
        if entry.kind() != want {
            return Err(ApiError::bad_request(format!(
                "expected an entry of type {:?}, got {:?}",
                want.as_str(),
                entry.kind().as_str()
            )));
        }
    }
    let limiter = match admission(&entry, state.admission(), &Lookup(state))? {
        Admission::NotOnAllowList => {
            return Err(ApiError::Forbidden(
                "this deployment accepts publishers from its allow-list only".into(),
            ))
        }
        Admission::Admit(RateClass::Free) => None,
        Admission::Admit(RateClass::PerClient) => Some(state.optout_limiter()),
        Admission::Admit(RateClass::Registration) => Some(state.registration_limiter()),
    };
    if let Some(limiter) = limiter {
        limiter
            .check(ip)
            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    }
    Ok(entry.verify().map_err(Rejection::Entry)?)
}

/// Runs the entry's own checks on a blocking thread. A panic inside is the retryable
/// [`SubmitError::ValidationPanicked`] (503), as it is inside the sequencer.
async fn guarded<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(SubmitError::ValidationPanicked.into()),
        Err(e) => Err(ApiError::internal(format!("blocking task: {e}"))),
    }
}

/// What the admission rules read from the log: the cached publisher keys and the name index.
struct Lookup<'a>(&'a AppState);

impl AdmissionLookup for Lookup<'_> {
    type Error = ApiError;

    fn is_publisher_key(&self, key: &VerifyingKey) -> Result<bool, ApiError> {
        self.0
            .publisher_keys()
            .contains(self.0.ledger(), key.as_bytes())
    }

    fn is_registered(&self, name: &str) -> Result<bool, ApiError> {
        Ok(self.0.ledger().publisher(name)?.is_some())
    }
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
