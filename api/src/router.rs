//! The route table and the layers every route shares. One function, [`router`], so that tests
//! drive exactly what the server serves.

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post, put};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::{
    compliance, content, datasets, entries, explorer, health, items, keys, metrics, models,
    openapi, optouts, passages, problem, proofs, sets, sites, tiles, uploads, witnessing,
};

/// The whole service: tiles, `/v1/` JSON, operations endpoints and the explorer, with body
/// limits, timeouts, metrics, tracing, problem bodies for every error and gzip on request.
pub fn router(state: AppState) -> Router {
    let limits = state.config().limits.clone();

    // Set uploads stream large bodies: their own size limit and a longer timeout. Every route
    // names an upload id (a capability from POST /v1/uploads), never just a root.
    let uploads = Router::new()
        .route(
            "/v1/uploads/{id}",
            put(uploads::put_whole).delete(uploads::abandon),
        )
        .route("/v1/uploads/{id}/chunks/{seq}", post(uploads::put_chunk))
        .route("/v1/uploads/{id}/commit", post(uploads::commit))
        .layer(RequestBodyLimitLayer::new(limits.max_set_body))
        .layer(DefaultBodyLimit::max(limits.max_set_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.upload_timeout(),
        ));

    // A work's passage ids (up to 4,096 of them) need more than the usual JSON body limit.
    let passage_body = limits.max_json_body.max(passages::MAX_PASSAGES_BODY);
    let passage_queries = Router::new()
        .route(
            "/v1/datasets/{publisher}/{dataset}/{version}/passages",
            post(passages::dataset_passages),
        )
        .layer(RequestBodyLimitLayer::new(passage_body))
        .layer(DefaultBodyLimit::max(passage_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout(),
        ));

    let rest = Router::new()
        // C2SP tlog-tiles.
        .route("/checkpoint", get(tiles::checkpoint))
        .route("/tile/{*path}", get(tiles::tile))
        // The latest checkpoint with k witness cosignatures (C2SP tlog-witness, log side).
        .route("/checkpoint.cosigned", get(witnessing::checkpoint_cosigned))
        // Writes.
        .route("/v1/entries", post(entries::submit))
        .route("/v1/uploads", post(uploads::create))
        .route(
            "/v1/sets/{root}",
            get(sets::get_set).put(sets::put_set_gone),
        )
        .route(
            "/v1/publishers",
            post(entries::register_publisher).get(datasets::publishers),
        )
        // JSON reads.
        .route("/v1/entries/{index}", get(entries::entry))
        .route("/v1/entries/{index}/inclusion", get(proofs::inclusion))
        .route(
            "/v1/entries/{index}/inclusion.tlog-proof",
            get(proofs::inclusion_tlog_proof),
        )
        .route("/v1/proofs/consistency", get(proofs::consistency))
        .route("/v1/publishers/{name}", get(datasets::publisher))
        .route("/v1/keys/{key}", get(keys::names_of_key))
        .route("/v1/datasets", get(datasets::list))
        .route("/v1/datasets/{publisher}", get(datasets::of_publisher))
        .route(
            "/v1/datasets/{publisher}/{dataset}",
            get(datasets::versions),
        )
        .route(
            "/v1/datasets/{publisher}/{dataset}/{version}",
            get(datasets::version),
        )
        .route(
            "/v1/datasets/{publisher}/{dataset}/{version}/proof/{cid}",
            get(datasets::proof),
        )
        .route(
            "/v1/datasets/{publisher}/{dataset}/{version}/items/{cid}",
            get(items::item),
        )
        .route(
            "/v1/datasets/{publisher}/{dataset}/{version}/stats",
            get(items::stats),
        )
        .route(
            "/v1/datasets/{publisher}/{dataset}/{version}/sites/{site}",
            get(sites::dataset_site),
        )
        .route(
            "/v1/datasets/{publisher}/{dataset}/{version}/passages/{pid}",
            get(passages::dataset_passage),
        )
        .route("/v1/passages/{root}/leaves", get(passages::leaves))
        .route("/v1/sites/{site}", get(sites::site))
        .route("/v1/sets/{root}/leaves", get(sets::leaves))
        .route("/v1/sets/{root}/proof/{cid}", get(sets::proof))
        .route("/v1/content/{cid}", get(content::appearances))
        .route("/v1/optouts", get(optouts::list))
        .route("/v1/models", get(models::list))
        .route(
            "/v1/models/{publisher}/{model}/checkpoints",
            get(models::checkpoints),
        )
        .route("/v1/compliance/{index}", get(compliance::bundle))
        // Operations.
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics_handler))
        .route("/openapi.yaml", get(openapi::openapi_yaml))
        // The explorer (issue #7).
        .route("/", get(explorer::index))
        .route("/index.html", get(explorer::index_html))
        .route("/assets/{*path}", get(explorer::asset))
        .layer(RequestBodyLimitLayer::new(limits.max_json_body))
        .layer(DefaultBodyLimit::max(limits.max_json_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout(),
        ));

    uploads
        .merge(passage_queries)
        .merge(rest)
        .fallback(not_found)
        .layer(middleware::from_fn(metrics::track))
        .layer(middleware::map_response(problem::problemize))
        .layer(CatchPanicLayer::new())
        // gzip only for clients that send `Accept-Encoding: gzip`; everyone else (tlog clients
        // reading tiles and /checkpoint) gets the identity bytes. Outside `problemize`, which
        // reads bodies, so it sees them uncompressed.
        .layer(CompressionLayer::new().gzip(true))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> problem::ApiError {
    problem::ApiError::not_found("no such resource")
}
