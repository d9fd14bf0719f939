//! The OpenAPI 3.1 description, generated from the handlers' annotations. The committed
//! `openapi.yaml` at the repository root is this document; a test keeps them equal
//! (`PROV_UPDATE_OPENAPI=1 cargo test -p api openapi` rewrites the file).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use crate::problem::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Provenance Ledger",
        description = "A verifiable training-data provenance ledger: C2SP tlog-tiles read path, \
            write API and JSON read API. Every error is an RFC 9457 problem body \
            (application/problem+json).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        crate::tiles::checkpoint,
        crate::tiles::tile,
        crate::entries::submit,
        crate::entries::register_publisher,
        crate::entries::entry,
        crate::proofs::inclusion,
        crate::proofs::inclusion_tlog_proof,
        crate::proofs::consistency,
        crate::datasets::publishers,
        crate::datasets::publisher,
        crate::keys::names_of_key,
        crate::datasets::list,
        crate::datasets::of_publisher,
        crate::datasets::versions,
        crate::datasets::version,
        crate::datasets::proof,
        crate::uploads::create,
        crate::uploads::put_whole,
        crate::uploads::put_chunk,
        crate::uploads::commit,
        crate::uploads::abandon,
        crate::sets::put_set_gone,
        crate::sets::get_set,
        crate::sets::leaves,
        crate::sets::proof,
        crate::content::appearances,
        crate::optouts::list,
        crate::models::list,
        crate::models::checkpoints,
        crate::compliance::bundle,
        crate::health::healthz,
        crate::metrics::metrics_handler,
    ),
    components(schemas(crate::problem::Problem, crate::schemas::SetInclusionProofJson, crate::schemas::SetExclusionProofJson)),
    tags(
        (name = "tiles", description = "C2SP tlog-tiles: the log itself, byte for byte"),
        (name = "write", description = "Submitting entries and uploading sets"),
        (name = "read", description = "JSON conveniences, each checkable against tiles"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

/// The document as YAML, as committed in `openapi.yaml`.
pub fn yaml() -> Result<String, ApiError> {
    ApiDoc::openapi()
        .to_yaml()
        .map_err(|e| ApiError::internal(format!("openapi to yaml: {e}")))
}

/// `GET /openapi.yaml`.
pub async fn openapi_yaml() -> Result<Response, ApiError> {
    let mut resp = yaml()?.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml")
    }

    /// Keeps the committed openapi.yaml equal to what the code generates.
    #[test]
    fn openapi_yaml_is_up_to_date() {
        let generated = yaml().unwrap();
        assert!(generated.contains("openapi: 3.1.0"), "{generated}");
        let path = committed_path();
        if std::env::var_os("PROV_UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "openapi.yaml is stale: run `PROV_UPDATE_OPENAPI=1 cargo test -p api openapi`"
        );
    }
}
