//! The route table and the layers every route shares. One function, [`router`], so that tests
//! drive exactly what the server serves.

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::get;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::{explorer, health, metrics, openapi, problem};

/// The whole service: tiles, `/v1/` JSON, operations endpoints and the explorer, with body
/// limits, timeouts, metrics, tracing and problem bodies for every error.
pub fn router(state: AppState) -> Router {
    let limits = state.config().limits.clone();

    // Set uploads stream large bodies: their own size limit and a longer timeout.
    let uploads = Router::new()
        .layer(RequestBodyLimitLayer::new(limits.max_set_body))
        .layer(DefaultBodyLimit::max(limits.max_set_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.upload_timeout(),
        ));

    let rest = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics_handler))
        .route("/openapi.yaml", get(openapi::openapi_yaml))
        .route("/", get(explorer::index))
        .route("/index.html", get(explorer::index))
        .route("/assets/{*path}", get(explorer::asset))
        .layer(RequestBodyLimitLayer::new(limits.max_json_body))
        .layer(DefaultBodyLimit::max(limits.max_json_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout(),
        ));

    uploads
        .merge(rest)
        .fallback(not_found)
        .layer(middleware::from_fn(metrics::track))
        .layer(middleware::map_response(problem::problemize))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> problem::ApiError {
    problem::ApiError::not_found("no such resource")
}
