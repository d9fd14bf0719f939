//! Pagination shared by every list: `limit` (default 100, at most the configured `max_page`)
//! and a cursor that is the last item's position (the ledger's [`Cursor`]), so pages stay stable
//! while the log grows.

use ledger::ledger::Cursor;

use crate::problem::ApiError;
use crate::state::AppState;

/// Items per page when the client does not say.
pub const DEFAULT_LIMIT: u32 = 100;

/// The page size for a requested `limit`: at least 1, at most `max_page`.
pub fn limit(state: &AppState, requested: Option<u32>) -> usize {
    let max = state.config().limits.max_page;
    requested.unwrap_or(DEFAULT_LIMIT).clamp(1, max) as usize
}

/// The cursor a client sent back (a page's `next`), parsed; the ledger's list refuses one that
/// is not its own.
pub fn cursor(cursor: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    cursor.map(str::parse).transpose().map_err(ApiError::from)
}
