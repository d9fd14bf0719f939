//! Prometheus metrics: request counts and latencies by route template (never by raw path, which
//! would give every tile its own series), plus counters the handlers bump (problems, entries),
//! and the mirror's (`crate::publish`): `prov_publish_lag_entries`, `prov_publish_published_size`,
//! `prov_publish_errors_total{kind}`; and set ingest's (`crate::setdevice`):
//! `prov_set_ingest_leaves_total{hasher="device"|"cpu"}` (leaves of full 256-leaf records whose
//! hashes came from the device, or were computed on the CPU), `prov_set_ingest_device_errors_total`,
//! `prov_set_ingest_device_refused_total` and `prov_set_ingest_device_disabled` (1 once a refused
//! answer disabled the device).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide recorder, installed on first use. Metrics are global in the `metrics`
/// crate, so several routers in one process (tests) share one registry. `None` when another
/// recorder was installed first by the embedding program; `/metrics` is then empty.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
                ])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Middleware: counts every request and times it, labelled by route template and status.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("prov_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("prov_http_request_duration_seconds", "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}

/// `GET /metrics`: the Prometheus text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "get_metrics",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn metrics_handler(State(state): State<AppState>) -> Response {
    set_ingest(&state);
    let body = handle().map(|h| h.render()).unwrap_or_default();
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// Set ingest's counters, read from the ledger's set store at each scrape (the ledger has no
/// metrics dependency).
fn set_ingest(state: &AppState) {
    let s = state.ledger().sets().ingest_stats();
    metrics::counter!("prov_set_ingest_leaves_total", "hasher" => "device")
        .absolute(s.device_leaves);
    metrics::counter!("prov_set_ingest_leaves_total", "hasher" => "cpu").absolute(s.cpu_leaves);
    metrics::counter!("prov_set_ingest_device_errors_total").absolute(s.device_errors);
    metrics::counter!("prov_set_ingest_device_refused_total").absolute(s.device_refused);
    metrics::gauge!("prov_set_ingest_device_disabled").set(if s.device_disabled {
        1.0
    } else {
        0.0
    });
}
