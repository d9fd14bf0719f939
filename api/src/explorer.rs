//! The hook for the public web explorer (issue #7): its files are served at `/` and
//! `/assets/...`, from the copy embedded at build time (see build.rs) or, when configured, from a
//! directory on disk (for working on the explorer without rebuilding the service). With neither,
//! `/` is a small built-in page saying the explorer is not built, and the API works as usual.

use std::path::{Component, Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::problem::ApiError;
use crate::state::AppState;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/explorer_assets.rs"));
}

/// Where the explorer's files come from.
#[derive(Clone, Debug)]
pub enum ExplorerSource {
    Embedded,
    Dir(PathBuf),
}

const NOT_BUILT: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Provenance Ledger</title></head>\
<body><h1>Provenance Ledger</h1><p>The explorer is not built into this binary. The log is served at \
<a href=\"/checkpoint\">/checkpoint</a> and <code>/tile/...</code>, the JSON API under <code>/v1/</code> \
(<a href=\"/openapi.yaml\">openapi.yaml</a>).</p></body></html>";

/// `GET /`: the explorer's index.html.
#[utoipa::path(get, path = "/", tag = "explorer", operation_id = "get_explorer",
    responses(
        (status = 200, description = "The explorer's page (or a note that it is not built into this binary)", content_type = "text/html; charset=utf-8", body = String),
        (status = 503, description = "Timed out; retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn index(State(state): State<AppState>) -> Result<Response, ApiError> {
    match load(state.explorer(), "index.html").await? {
        Some(bytes) => Ok(file_response("index.html", bytes)),
        None => Ok(file_response("index.html", NOT_BUILT.as_bytes().to_vec())),
    }
}

/// `GET /index.html`: the same page as `/`.
#[utoipa::path(get, path = "/index.html", tag = "explorer", operation_id = "get_explorer_index_html",
    responses(
        (status = 200, description = "The explorer's page", content_type = "text/html; charset=utf-8", body = String),
        (status = 503, description = "Timed out; retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn index_html(state: State<AppState>) -> Result<Response, ApiError> {
    index(state).await
}

/// `GET /assets/{*path}`: one of the explorer's files.
#[utoipa::path(get, path = "/assets/{path}", tag = "explorer", operation_id = "get_explorer_asset",
    params(("path" = String, Path, description = "A file under the explorer's `assets/`")),
    responses(
        (status = 200, description = "The file, with its media type", content_type = "*/*", body = Vec<u8>),
        (status = 400, description = "A path that is not UTF-8", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out; retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn asset(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
) -> Result<Response, ApiError> {
    let rel = format!("assets/{path}");
    match load(state.explorer(), &rel).await? {
        Some(bytes) => Ok(file_response(&rel, bytes)),
        None => Err(ApiError::not_found(format!("no asset {path:?}"))),
    }
}

/// The bytes of `rel` (a path under dist/), if present. Paths that climb out (`..`) or are
/// absolute are treated as absent.
async fn load(source: &ExplorerSource, rel: &str) -> Result<Option<Vec<u8>>, ApiError> {
    if !is_safe(rel) {
        return Ok(None);
    }
    match source {
        ExplorerSource::Embedded => Ok(embedded::EMBEDDED
            .iter()
            .find(|(name, _)| *name == rel)
            .map(|(_, bytes)| bytes.to_vec())),
        ExplorerSource::Dir(dir) => match tokio::fs::read(dir.join(rel)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(ApiError::internal(format!("explorer file {rel}: {e}"))),
        },
    }
}

fn is_safe(rel: &str) -> bool {
    !rel.is_empty()
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn file_response(name: &str, bytes: Vec<u8>) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    // index.html names the current assets, so it must be revalidated; assets may be cached briefly.
    let cache = if name == "index.html" {
        "no-cache"
    } else {
        "public, max-age=3600"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_climb_out_are_refused() {
        assert!(is_safe("assets/app.js"));
        assert!(!is_safe("assets/../../etc/passwd"));
        assert!(!is_safe("/etc/passwd"));
        assert!(!is_safe(""));
    }

    #[tokio::test]
    async fn directory_source_serves_files_and_misses_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("assets/app.js"), b"let x = 1;").unwrap();
        let src = ExplorerSource::Dir(dir.path().to_path_buf());
        assert_eq!(
            load(&src, "assets/app.js").await.unwrap().unwrap(),
            b"let x = 1;"
        );
        assert!(load(&src, "assets/none.js").await.unwrap().is_none());
        assert!(load(&src, "assets/../assets/app.js")
            .await
            .unwrap()
            .is_none());
    }
}
