//! Pagination shared by every list: `limit` (default 100, at most the configured `max_page`)
//! and a cursor that is the last item's position, so pages stay stable while the log grows.

use crate::problem::ApiError;
use crate::state::AppState;

/// Items per page when the client does not say.
pub const DEFAULT_LIMIT: u32 = 100;

/// The page size for a requested `limit`: at least 1, at most `max_page`.
pub fn limit(state: &AppState, requested: Option<u32>) -> usize {
    let max = state.config().limits.max_page;
    requested.unwrap_or(DEFAULT_LIMIT).clamp(1, max) as usize
}

/// A cursor is the hex of the last key returned. Decodes it, refusing one outside `prefix` (a
/// cursor from another list), so a client cannot steer a list into other index records.
pub fn decode_cursor(prefix: &[u8], cursor: &str) -> Result<Vec<u8>, ApiError> {
    let k = hex::decode(cursor).map_err(|_| ApiError::bad_request("bad cursor"))?;
    if !k.starts_with(prefix) {
        return Err(ApiError::bad_request("bad cursor"));
    }
    Ok(k)
}

/// The first key of the page that follows `cursor` in the list of keys under `prefix` (the whole
/// list without a cursor).
pub fn start_after(prefix: &[u8], cursor: Option<&str>) -> Result<Vec<u8>, ApiError> {
    match cursor {
        None => Ok(prefix.to_vec()),
        Some(c) => {
            let mut k = decode_cursor(prefix, c)?;
            k.push(0); // the smallest key after the cursor's
            Ok(k)
        }
    }
}
