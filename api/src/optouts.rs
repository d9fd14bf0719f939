//! `GET /v1/optouts`: the opt-out entries in log order, paged by index (`after`), which is what
//! a model publisher walks to honour them up to a horizon.

use axum::extract::State;
use axum::Json;
use ledger::LeafIndex;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::entries::{entry_view, EntryView};
use crate::extract::Query;
use crate::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AfterQuery {
    /// Only entries with a larger index (the previous page's `next`).
    pub after: Option<u64>,
    /// Only entries with a smaller index (e.g. a checkpoint's horizon).
    pub before: Option<u64>,
    /// Items per page (default 100, at most the configured `max_page`).
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
}

/// A page of entries in log order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EntryPage {
    pub items: Vec<EntryView>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<u64>,
}

/// `GET /v1/optouts`.
#[utoipa::path(get, path = "/v1/optouts", tag = "read", operation_id = "list_optouts",
    params(AfterQuery),
    responses(
        (status = 200, description = "A page of opt-out entries, in log order", body = EntryPage),
        (status = 400, description = "Malformed path or query parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<AfterQuery>,
) -> Result<Json<EntryPage>, ApiError> {
    let limit = crate::page::limit(&state, q.limit);
    let page = state
        .blocking(move |l| {
            let size = l.checkpoint().size().0;
            let bound = q.before.unwrap_or(u64::MAX).min(size);
            let idx = l.optouts(q.after.map(LeafIndex), limit + 1)?;
            let idx: Vec<LeafIndex> = idx.into_iter().filter(|i| i.0 < bound).collect();
            let more = idx.len() > limit;
            Ok(idx.into_iter().take(limit).map(|i| i.0).collect::<Vec<_>>()).map(|v| (v, more))
        })
        .await?;
    let (indexes, more) = page;
    let items = indexes
        .iter()
        .map(|&i| entry_view(&state, i))
        .collect::<Result<Vec<_>, _>>()?;
    let next = if more { indexes.last().copied() } else { None };
    Ok(Json(EntryPage { items, next }))
}
