//! The C2SP tlog-tiles read path (<https://c2sp.org/tlog-tiles>), byte for byte: `/checkpoint`,
//! `/tile/<L>/<N>[.p/<W>]` and `/tile/entries/<N>[.p/<W>]`.
//!
//! A tile's bytes are a function of its path alone (a partial tile `.p/W` is the same W hashes
//! forever), so every tile is served with long-lived immutable caching and kept in a small
//! in-process cache: a full tile is 256 stored hashes, and the busiest tiles (the right edge
//! and the top levels) are read by every client.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::extract::Path;
use crate::problem::ApiError;
use crate::state::AppState;

/// `Cache-Control` of tiles and entry bundles: immutable, per the spec's "long-lived".
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of the checkpoint: mutable, so "SHOULD prevent caching beyond a few seconds".
pub const CHECKPOINT_CACHE: &str = "no-cache";

/// Cached tile bytes, at most `capacity` entries (about 8 KiB each); when full, the cache is
/// emptied and refilled by what is read next. Cheap and good enough: hot tiles come back at once.
#[derive(Debug)]
pub struct TileCache {
    capacity: usize,
    map: RwLock<HashMap<String, Bytes>>,
}

impl TileCache {
    pub fn new(capacity: usize) -> Self {
        TileCache {
            capacity,
            map: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, path: &str) -> Option<Bytes> {
        self.map.read().ok()?.get(path).cloned()
    }

    fn put(&self, path: String, bytes: Bytes) {
        if let Ok(mut m) = self.map.write() {
            if m.len() >= self.capacity {
                m.clear();
            }
            m.insert(path, bytes);
        }
    }
}

/// `GET /checkpoint`: the latest signed checkpoint note.
#[utoipa::path(get, path = "/checkpoint", tag = "tiles", operation_id = "get_checkpoint",
    responses(
        (status = 200, description = "The latest checkpoint, a C2SP signed note", content_type = "text/plain; charset=utf-8", body = String),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn checkpoint(State(state): State<AppState>) -> Response {
    let cp = state.ledger().checkpoint();
    text_response(cp.note.clone(), CHECKPOINT_CACHE)
}

/// `GET /tile/{*path}`: a hash tile or an entry bundle.
#[utoipa::path(get, path = "/tile/{path}", tag = "tiles", operation_id = "get_tile",
    params(("path" = String, Path, description = "`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`, N in 3-digit groups (`x001/x234/067`)", pattern = "^(entries|[0-9]{1,2})/(x[0-9]{3}/)*[0-9]{3}(\\.p/[0-9]{1,3})?$")),
    responses(
        (status = 200, description = "Tile or entry bundle bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "Not a canonical tile path", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Beyond the latest checkpoint", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let full = format!("tile/{path}");
    let bytes = match state.tiles().get(&full) {
        Some(b) => b,
        None => {
            let b = Bytes::from(state.ledger().tile(&full)?);
            state.tiles().put(full, b.clone());
            b
        }
    };
    Ok(octets_response(bytes, IMMUTABLE))
}

pub(crate) fn text_response(body: String, cache: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}

fn octets_response(body: Bytes, cache: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}
