//! Every error the service answers with, mapped to an RFC 9457 `application/problem+json` body in
//! ONE place ([`ApiError::into_response`]). Client faults are 4xx with a detail that helps the
//! client; server faults are 5xx whose detail is logged here, once, and never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ledger::entry::EntryError;
use ledger::ledger::QueryError;
use ledger::sequencer::SubmitError;
use ledger::set::upload::UploadRequestError;
use ledger::store::index::Rejection;
use ledger::store::log::ReadError;
use ledger::store::sets::SetStoreError;
use ledger::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem details object.
#[derive(Clone, Debug, Serialize, serde::Deserialize, ToSchema, PartialEq)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:prov-ledger:problem:<slug>`. Stable: clients may
    /// branch on it.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short, human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `item-not-found` only: the proof that the content id is not in the dataset version's
    /// manifest (a set exclusion proof against its root and item count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::schemas::SetExclusionProofJson>, nullable = false)]
    pub exclusion: Option<serde_json::Value>,
}

/// Why a request failed. Handlers return this; it becomes a problem body in one place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Malformed input: bad JSON, a bad path or query parameter, a malformed entry.
    #[error("{0}")]
    BadRequest(String),
    /// A well-formed entry that the ledger's rules refuse (bad signature, unknown publisher, ...).
    #[error("{slug}: {detail}")]
    Rejected { slug: &'static str, detail: String },
    #[error("not authorized: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// 404 with its own problem type, and for `item-not-found` the exclusion proof that shows
    /// the absence.
    #[error("{slug}: {detail}")]
    Absent {
        slug: &'static str,
        detail: String,
        exclusion: Option<Box<serde_json::Value>>,
    },
    /// Refused because it conflicts with what the log already holds (a replay, a version
    /// published twice, a name taken).
    #[error("{slug}: {detail}")]
    Conflict { slug: &'static str, detail: String },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("not acceptable: {0}")]
    NotAcceptable(String),
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// Over a quota that frees up (concurrent uploads, leaves in flight): 429 with
    /// `Retry-After`.
    #[error("{slug}: {detail}")]
    OverQuota {
        slug: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    /// Over a size limit that waiting does not change: 413.
    #[error("{slug}: {detail}")]
    TooLarge { slug: &'static str, detail: String },
    /// A resource or route that no longer exists, with what replaced it: 410.
    #[error("{slug}: {detail}")]
    Gone { slug: &'static str, detail: String },
    /// The service cannot take this request now (the sequencer is busy, the service is
    /// shutting down, a request timed out, a validation failed inside the ledger). Retry later
    /// (`Retry-After`), possibly elsewhere.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Too many heavy reads (compliance bundles) at once: retry after `retry_after_secs`.
    #[error("too many heavy reads at once; retry later")]
    Busy { retry_after_secs: u64 },
    /// Storage failed (a read, or a write that stopped the sequencer). The cause is logged
    /// here, once per response, and never sent: its text may name paths and internals. The
    /// client gets a generic `storage-unavailable` problem with `Retry-After`.
    #[error("storage unavailable")]
    StorageUnavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The ledger's disk is below its free-space floor: nothing was written, nothing is broken;
    /// writing resumes by itself once space is freed (507, `insufficient-storage`).
    #[error("the ledger's disk is below its free-space floor; nothing was written; retry later")]
    InsufficientStorage { available: u64, floor: u64 },
    /// A fault of ours. The string is logged and never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::BadRequest(detail.into())
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound(what.into())
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError::Internal(detail.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::Absent { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::RateLimited { .. } | ApiError::OverQuota { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::Unavailable(_) | ApiError::Busy { .. } | ApiError::StorageUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::InsufficientStorage { .. } => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable slug of the problem type.
    pub fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Rejected { slug, .. } => slug,
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict { slug, .. } => slug,
            ApiError::PayloadTooLarge => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::NotAcceptable(_) => "not-acceptable",
            ApiError::RateLimited { .. } => "rate-limited",
            ApiError::OverQuota { slug, .. }
            | ApiError::TooLarge { slug, .. }
            | ApiError::Absent { slug, .. }
            | ApiError::Gone { slug, .. } => slug,
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Busy { .. } => "busy",
            ApiError::StorageUnavailable(_) => "storage-unavailable",
            ApiError::InsufficientStorage { .. } => "insufficient-storage",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Seconds a client should wait before retrying (the `Retry-After` header), for the
    /// problems that are worth retrying.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after_secs }
            | ApiError::Busy { retry_after_secs }
            | ApiError::OverQuota {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            ApiError::Unavailable(_) => Some(UNAVAILABLE_RETRY_SECS),
            ApiError::StorageUnavailable(_) => Some(STORAGE_RETRY_SECS),
            ApiError::InsufficientStorage { .. } => Some(STORAGE_RETRY_SECS),
            _ => None,
        }
    }

    /// The problem body. Internal detail is replaced by a generic sentence.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let detail = match self {
            ApiError::Internal(_) => None,
            ApiError::StorageUnavailable(_) => {
                Some("the ledger cannot write now; retry later".to_string())
            }
            ApiError::Rejected { detail, .. }
            | ApiError::Conflict { detail, .. }
            | ApiError::OverQuota { detail, .. }
            | ApiError::TooLarge { detail, .. }
            | ApiError::Absent { detail, .. }
            | ApiError::Gone { detail, .. } => Some(detail.clone()),
            other => Some(other.to_string()),
        };
        Problem {
            type_: format!("urn:prov-ledger:problem:{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail,
            exclusion: match self {
                ApiError::Absent { exclusion, .. } => exclusion.as_deref().cloned(),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            // Logged once, here; the client learns only that it was our fault.
            ApiError::Internal(detail) => tracing::error!(%detail, "internal error"),
            ApiError::Unavailable(detail) => tracing::warn!(%detail, "unavailable"),
            ApiError::StorageUnavailable(cause) => {
                tracing::error!(error = %chain(&**cause), "storage unavailable")
            }
            ApiError::InsufficientStorage { available, floor } => tracing::warn!(
                available,
                floor,
                "free space below the floor: refusing writes until space is freed"
            ),
            other => tracing::debug!(error = %other, "client error"),
        }
        metrics::counter!("prov_http_problems_total", "type" => self.slug()).increment(1);
        let status = self.status();
        let mut resp = problem_response(&self.problem());
        if let Some(secs) = self.retry_after_secs() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        *resp.status_mut() = status;
        resp
    }
}

/// `Retry-After` of a plain 503 (busy, shutting down, timed out).
const UNAVAILABLE_RETRY_SECS: u64 = 1;
/// `Retry-After` of a storage failure or a disk below the floor: an operator has to act.
const STORAGE_RETRY_SECS: u64 = 60;

/// An error and its sources, `outer: inner: innermost`, for the log.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// A problem body as a response with its media type.
pub fn problem_response(p: &Problem) -> Response {
    // Serializing a struct of strings and an integer cannot fail.
    let body = serde_json::to_vec(p).unwrap_or_default();
    let mut resp = (
        StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Turns an error response produced outside our handlers (axum's own 404/405, tower-http's
/// body limit and timeout, a caught panic) into a problem body with the same status, so that
/// every error the service sends has the same shape.
pub async fn problemize(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    // Problem bodies, and JSON bodies a handler chose to send with an error status (the
    // health report), are kept; everything else (plain text from a layer) is replaced.
    let keep = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.starts_with(PROBLEM_JSON.as_bytes()) || v.starts_with(b"application/json")
    });
    if keep {
        return resp;
    }
    let err = match status {
        StatusCode::NOT_FOUND => ApiError::not_found("no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => {
            let mut r = problem_response(&Problem {
                type_: "urn:prov-ledger:problem:method-not-allowed".into(),
                title: "Method Not Allowed".into(),
                status: 405,
                detail: Some("method not allowed on this resource".into()),
                exclusion: None,
            });
            if let Some(allow) = resp.headers().get(header::ALLOW) {
                r.headers_mut().insert(header::ALLOW, allow.clone());
            }
            return r;
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
            ApiError::Unavailable("request timed out".into())
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::UnsupportedMediaType("expected a different content type".into())
        }
        s if s.is_client_error() => ApiError::bad_request(
            s.canonical_reason()
                .unwrap_or("bad request")
                .to_ascii_lowercase(),
        ),
        _ => ApiError::internal(format!("unhandled {status} from a layer")),
    };
    // Keep the layer's own status (408 stays 408) in both the response and the body.
    let problem = Problem {
        status: status.as_u16(),
        ..err.problem()
    };
    if let ApiError::Internal(detail) = &err {
        tracing::error!(%detail, "internal error");
    }
    problem_response(&problem)
}

// ---- The ledger's errors, mapped here and nowhere else. ----

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Rejected(r) => r.into(),
            SubmitError::Busy => ApiError::Unavailable("sequencer is busy; retry".into()),
            SubmitError::NoSpace { available, floor } => {
                ApiError::InsufficientStorage { available, floor }
            }
            SubmitError::ValidationPanicked => {
                tracing::error!("an entry's validation panicked; the entry was refused alone");
                ApiError::Unavailable("the entry could not be validated now; retry".into())
            }
            SubmitError::Closed => ApiError::Unavailable("ledger is shutting down".into()),
            // A failed read (nothing written) or a stopped sequencer: the cause is logged, the
            // client gets the generic storage problem.
            e @ (SubmitError::Retry(_) | SubmitError::Fatal(_)) => {
                ApiError::StorageUnavailable(Box::new(e))
            }
            other => ApiError::StorageUnavailable(Box::new(other)),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        let detail = r.to_string();
        match r {
            Rejection::Entry(e) => ApiError::Rejected {
                slug: match e {
                    EntryError::BadSignature | EntryError::UnexpectedSignature => "bad-signature",
                    EntryError::TooLarge { .. } => "entry-too-large",
                    _ => "invalid-entry",
                },
                detail,
            },
            Rejection::Invalid(_) => ApiError::Rejected {
                slug: "invalid-entry",
                detail,
            },
            Rejection::Replay(_) => ApiError::Conflict {
                slug: "replay",
                detail,
            },
            Rejection::NameTaken(_) => ApiError::Conflict {
                slug: "name-taken",
                detail,
            },
            Rejection::UnknownPublisher(_) => ApiError::Rejected {
                slug: "unknown-publisher",
                detail,
            },
            Rejection::NotPublisherKey(_) => ApiError::Forbidden(detail),
            Rejection::DuplicateVersion(_) => ApiError::Conflict {
                slug: "duplicate-version",
                detail,
            },
            Rejection::UnknownDatasetVersion(_) => ApiError::Rejected {
                slug: "unknown-dataset-version",
                detail,
            },
            Rejection::SetNotStored { .. } => ApiError::Rejected {
                slug: "set-not-stored",
                detail,
            },
            Rejection::SetSizeMismatch { .. } => ApiError::Rejected {
                slug: "set-size-mismatch",
                detail,
            },
            Rejection::AnonymousOptOutSet => ApiError::Rejected {
                slug: "anonymous-optout-set",
                detail,
            },
            Rejection::OptOutSetTooLarge { .. } => ApiError::Rejected {
                slug: "optout-set-too-large",
                detail,
            },
            Rejection::UnboundEntry => ApiError::Rejected {
                slug: "unbound-entry",
                detail,
            },
            Rejection::WrongLog { .. } => ApiError::Rejected {
                slug: "wrong-log",
                detail,
            },
            Rejection::TimeSkew { .. } => ApiError::Rejected {
                slug: "time-skew",
                detail,
            },
            Rejection::HorizonBackwards { .. } => ApiError::Rejected {
                slug: "horizon-backwards",
                detail,
            },
            Rejection::AnonymousSites => ApiError::Rejected {
                slug: "anonymous-sites",
                detail,
            },
            Rejection::ScopeWithdrawn { .. } => ApiError::Rejected {
                slug: "scope-withdrawn",
                detail,
            },
            Rejection::SourcesNotStored { .. } => ApiError::Rejected {
                slug: "sources-not-stored",
                detail,
            },
            Rejection::SourcesMismatch { .. } => ApiError::Rejected {
                slug: "sources-mismatch",
                detail,
            },
            Rejection::PassagesNotStored { .. } => ApiError::Rejected {
                slug: "passages-not-stored",
                detail,
            },
            Rejection::AnonymousPassages => ApiError::Rejected {
                slug: "anonymous-passages",
                detail,
            },
            Rejection::OptOutPassagesTooLarge { .. } => ApiError::Rejected {
                slug: "optout-passages-too-large",
                detail,
            },
            _ => ApiError::Rejected {
                slug: "invalid-entry",
                detail,
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // A damaged record will not heal by retrying: our fault, 500.
            e @ StoreError::Corrupt { .. } => ApiError::internal(chain(&e)),
            e => ApiError::StorageUnavailable(Box::new(e)),
        }
    }
}

/// A paged list's refusal of a cursor is the client's (400); a storage failure as above.
impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::BadCursor => ApiError::bad_request("bad cursor"),
            QueryError::Store(e) => e.into(),
            e => ApiError::internal(chain(&e)),
        }
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::NotFound(what) => ApiError::NotFound(what),
            ReadError::Tile(t) => ApiError::bad_request(t.to_string()),
            ReadError::Store(e) => e.into(),
            other => ApiError::internal(chain(&other)),
        }
    }
}

impl From<UploadRequestError> for ApiError {
    fn from(e: UploadRequestError) -> Self {
        let detail = e.to_string();
        match e {
            UploadRequestError::BadSignature
            | UploadRequestError::UnexpectedSignature
            | UploadRequestError::MissingSignature => ApiError::Rejected {
                slug: "bad-signature",
                detail,
            },
            UploadRequestError::TooLarge { .. } => ApiError::PayloadTooLarge,
            UploadRequestError::Encode(_) => ApiError::internal(detail),
            _ => ApiError::BadRequest(detail),
        }
    }
}

impl From<SetStoreError> for ApiError {
    fn from(e: SetStoreError) -> Self {
        let detail = e.to_string();
        match e {
            SetStoreError::Invalid(_) => ApiError::Rejected {
                slug: "invalid-set",
                detail,
            },
            SetStoreError::PartialLeaf(_) => ApiError::BadRequest(detail),
            SetStoreError::RootMismatch { .. } => ApiError::Rejected {
                slug: "root-mismatch",
                detail,
            },
            SetStoreError::MetaTooLarge { .. } => ApiError::Rejected {
                slug: "meta-too-large",
                detail,
            },
            SetStoreError::MetaMismatch { .. } => ApiError::Rejected {
                slug: "meta-mismatch",
                detail,
            },
            SetStoreError::MetaInvalid { .. } | SetStoreError::MetaMixed { .. } => {
                ApiError::Rejected {
                    slug: "invalid-meta",
                    detail: chain(&e),
                }
            }
            SetStoreError::UnknownSet(root) => ApiError::NotFound(format!("set {root}")),
            SetStoreError::PartialPassageLeaf(_) | SetStoreError::PassageLeafLength(_) => {
                ApiError::Rejected {
                    slug: "partial-passage-leaf",
                    detail,
                }
            }
            SetStoreError::UploadEnded => ApiError::Rejected {
                slug: "upload-ended",
                detail,
            },
            SetStoreError::NoSpace { available, floor } => {
                ApiError::InsufficientStorage { available, floor }
            }
            SetStoreError::Store(e) => e.into(),
            other => ApiError::internal(chain(&other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_detail_is_never_sent() {
        let resp = ApiError::internal("rocksdb exploded at /secret/path").into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("secret"), "{text}");
        let p: Problem = serde_json::from_str(&text).unwrap();
        assert_eq!(p.status, 500);
        assert_eq!(p.type_, "urn:prov-ledger:problem:internal");
    }

    #[tokio::test]
    async fn a_set_upload_below_the_floor_is_507_and_storage_faults_say_nothing() {
        let e: ApiError = SetStoreError::NoSpace {
            available: 5,
            floor: 10,
        }
        .into();
        let resp = e.into_response();
        assert_eq!(resp.status(), StatusCode::INSUFFICIENT_STORAGE);
        assert!(resp.headers().contains_key(header::RETRY_AFTER));
        let e: ApiError = SetStoreError::Store(StoreError::Io(std::io::Error::other(
            "rocksdb: /secret/path/000012.sst",
        )))
        .into();
        let resp = e.into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let p: Problem = serde_json::from_slice(&body).unwrap();
        assert_eq!(p.type_, "urn:prov-ledger:problem:storage-unavailable");
        assert!(!String::from_utf8_lossy(&body).contains("secret"));
    }

    #[tokio::test]
    async fn rate_limited_carries_retry_after() {
        let resp = ApiError::RateLimited {
            retry_after_secs: 3,
        }
        .into_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "3");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }

    #[test]
    fn each_acceptance_refusal_is_422_with_its_own_type() {
        use ledger::store::index::SetRole;
        use ledger::Digest;
        let root = Digest([3; 32]);
        let cases = [
            (
                Rejection::SetNotStored {
                    root,
                    role: SetRole::Manifest,
                },
                "set-not-stored",
            ),
            (
                Rejection::SetSizeMismatch {
                    root,
                    role: SetRole::Weights,
                    stored: 2,
                    claimed: 3,
                },
                "set-size-mismatch",
            ),
            (Rejection::AnonymousOptOutSet, "anonymous-optout-set"),
            (
                Rejection::OptOutSetTooLarge { size: 11, max: 10 },
                "optout-set-too-large",
            ),
            (Rejection::UnboundEntry, "unbound-entry"),
            (
                Rejection::WrongLog {
                    expected: "a".into(),
                    found: "b".into(),
                },
                "wrong-log",
            ),
            (Rejection::TimeSkew { time: 0, now: 1 }, "time-skew"),
            (
                Rejection::HorizonBackwards {
                    previous: 4,
                    horizon: 3,
                },
                "horizon-backwards",
            ),
            (Rejection::AnonymousSites, "anonymous-sites"),
            (
                Rejection::ScopeWithdrawn {
                    scope: ledger::entry::Scope::AiUse,
                },
                "scope-withdrawn",
            ),
            (
                Rejection::SourcesNotStored { manifest: root },
                "sources-not-stored",
            ),
            (
                Rejection::SourcesMismatch {
                    claimed: root,
                    claimed_size: 1,
                    derived: root,
                    derived_size: 2,
                },
                "sources-mismatch",
            ),
        ];
        for (r, slug) in cases {
            let e = ApiError::from(r);
            assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY, "{slug}");
            assert_eq!(e.slug(), slug);
            assert!(e.problem().detail.is_some_and(|d| !d.is_empty()));
        }
    }
}
