//! "Is my site in it?" (issue 13): range proofs over a dataset version's source tree, for a
//! domain (and its subdomains) or a URL prefix. A proof verifies against the `sources` root and
//! size of the version's `dataset_version` entry (`verifier::range::verify_range`), which the
//! ledger accepted only if it equals the tree derived from the manifest's stored metadata; it
//! proves how many (source, content) leaves of the version the site has (none: an exclusion),
//! and reveals up to `reveal` of them.

use axum::extract::State;
use axum::Json;
use ledger::range::{range_proof, verify_range, Range, RangeProof};
use ledger::source::Site;
use ledger::TreeSize;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Path, Query};
use crate::items::{find, version_at, Version};
use crate::problem::ApiError;
use crate::schemas::{RangeProofJson, SourcesJson};
use crate::state::AppState;

/// Leaves a proof reveals when the client does not say.
pub const DEFAULT_REVEAL: u64 = 100;
/// The most leaves a proof reveals.
pub const MAX_REVEAL: u64 = 10_000;
/// Dataset versions scanned per page of `GET /v1/sites/{site}`, at most, in multiples of the
/// page size: versions without a source tree are skipped, so a page may come back short.
const SCAN_PAGES: usize = 10;

/// A site's range proof in one dataset version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SiteProofView {
    /// `publisher/dataset@version`.
    pub dataset: String,
    /// The `dataset_version` entry's log index.
    pub entry_index: u64,
    /// The entry's `sources`: verify `proof` against these.
    pub sources: SourcesJson,
    /// The site, canonical (a domain, or a URL prefix).
    pub site: String,
    /// Source-tree leaves of the site, as the proof proves it (0: none of the version's items
    /// comes from it).
    pub count: u64,
    pub proof: RangeProofJson,
}

/// One dataset version's answer for a site.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SiteVersionView {
    pub dataset: String,
    pub entry_index: u64,
    pub sources: SourcesJson,
    pub count: u64,
    pub proof: RangeProofJson,
}

/// A page of the dataset versions with a source tree, each with its proof for the site.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SitePage {
    /// The site, canonical.
    pub site: String,
    pub items: Vec<SiteVersionView>,
    /// The cursor of the next page, absent on the last.
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevealQuery {
    /// In-range leaves revealed at most (default 100, at most 10,000); past it the proof shows
    /// the first and last half and still proves the count.
    #[param(maximum = 10000_u64)]
    pub reveal: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SitePageQuery {
    /// `next` from the previous page.
    pub cursor: Option<String>,
    /// Dataset versions per page (default 100, at most the configured `max_page`).
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
    /// As for one version (default 100, at most 10,000).
    #[param(maximum = 10000_u64)]
    pub reveal: Option<u64>,
}

/// `GET /v1/datasets/{publisher}/{dataset}/{version}/sites/{site}`.
#[utoipa::path(get, path = "/v1/datasets/{publisher}/{dataset}/{version}/sites/{site}", tag = "read", operation_id = "get_dataset_site",
    params(("publisher" = String, Path, example = "spdx-archive"), ("dataset" = String, Path, example = "licences"), ("version" = String, Path, example = "1"),
           ("site" = String, Path, description = "A domain (`example.com`: it and its subdomains) or a URL prefix (`https://example.com/blog`, percent-encoded in the path)", example = "example.com"),
           RevealQuery),
    responses(
        (status = 200, description = "The site's range proof against the version's source tree", body = SiteProofView),
        (status = 404, description = "Version not in the log (`not-found`), or it has no source tree (`no-source-tree`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Not a site, or `reveal` over 10,000", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn dataset_site(
    State(state): State<AppState>,
    Path((publisher, dataset, version, site)): Path<(String, String, String, String)>,
    Query(q): Query<RevealQuery>,
) -> Result<Json<SiteProofView>, ApiError> {
    let site = parse_site(&site)?;
    let reveal = reveal(q.reveal)?;
    let v = find(&state, &publisher, &dataset, &version)?;
    state
        .blocking(move |l| {
            let Some(answer) = prove(l, &v, &site, reveal)? else {
                return Err(ApiError::Absent {
                    slug: "no-source-tree",
                    detail: format!("{} has no source tree (its entry has no sources)", v.label),
                    exclusion: None,
                });
            };
            Ok(Json(SiteProofView {
                dataset: answer.dataset,
                entry_index: answer.entry_index,
                sources: answer.sources,
                site: site.to_string(),
                count: answer.count,
                proof: answer.proof,
            }))
        })
        .await
}

/// `GET /v1/sites/{site}`.
#[utoipa::path(get, path = "/v1/sites/{site}", tag = "read", operation_id = "get_site",
    params(("site" = String, Path, description = "A domain or a URL prefix (percent-encoded)", example = "example.com"), SitePageQuery),
    responses(
        (status = 200, description = "Every dataset version with a source tree (a page), each with the site's count and range proof", body = SitePage),
        (status = 400, description = "Not a site, a bad cursor, or `reveal` over 10,000", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn site(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<SitePageQuery>,
) -> Result<Json<SitePage>, ApiError> {
    let site = parse_site(&site)?;
    let reveal = reveal(q.reveal)?;
    let limit = crate::page::limit(&state, q.limit);
    let mut after = crate::page::cursor(q.cursor.as_deref())?;
    state
        .blocking(move |l| {
            let mut items = Vec::new();
            let mut next = None;
            for _ in 0..SCAN_PAGES {
                // Each version gives at most one item, so this never overfills the page.
                let want = limit - items.len();
                let page = l.dataset_version_page(
                    ledger::ledger::DatasetScope::All,
                    after.as_ref(),
                    want,
                )?;
                for row in &page.items {
                    let v = version_at(l, row.index)?;
                    if let Some(a) = prove(l, &v, &site, reveal)? {
                        items.push(SiteVersionView {
                            dataset: a.dataset,
                            entry_index: a.entry_index,
                            sources: a.sources,
                            count: a.count,
                            proof: a.proof,
                        });
                    }
                }
                next = page.next;
                if next.is_none() || items.len() >= limit {
                    break;
                }
                after = next.clone();
            }
            Ok(Json(SitePage {
                site: site.to_string(),
                items,
                next: next.as_ref().map(ToString::to_string),
            }))
        })
        .await
}

struct Answer {
    dataset: String,
    entry_index: u64,
    sources: SourcesJson,
    count: u64,
    proof: RangeProofJson,
}

/// The site's range proof in version `v`, `None` when the version has no source tree. The
/// proof is checked here as a client will check it (a failure is ours: 500).
fn prove(
    l: &ledger::ledger::Ledger,
    v: &Version,
    site: &Site,
    reveal: u64,
) -> Result<Option<Answer>, ApiError> {
    let Some((root, size)) = v.sources else {
        return Ok(None);
    };
    let Some((tree, stored_root, stored_size)) = l.sets().source_tree(&v.root)? else {
        return Err(ApiError::internal(format!(
            "{} claims sources but no source tree is stored for its manifest",
            v.label
        )));
    };
    if (stored_root, stored_size) != (root, size) {
        return Err(ApiError::internal(format!(
            "{}: stored source tree differs from the entry's sources",
            v.label
        )));
    }
    let range = Range::site(site);
    let proof: RangeProof = range_proof(&tree, &range, reveal)
        .map_err(|e| ApiError::internal(format!("range proof: {e}")))?;
    let members = verify_range(&root, TreeSize(size), &range, &proof)
        .map_err(|e| ApiError::internal(format!("own range proof does not verify: {e}")))?;
    let proof = serde_json::to_value(&proof)
        .and_then(serde_json::from_value)
        .map_err(ApiError::internal)?;
    Ok(Some(Answer {
        dataset: v.label.clone(),
        entry_index: v.index.0,
        sources: SourcesJson {
            root: root.to_hex(),
            size,
        },
        count: members.count,
        proof,
    }))
}

fn parse_site(s: &str) -> Result<Site, ApiError> {
    Site::parse(s).map_err(|e| ApiError::bad_request(format!("site {s:?}: {e}")))
}

fn reveal(r: Option<u64>) -> Result<u64, ApiError> {
    match r.unwrap_or(DEFAULT_REVEAL) {
        n if n <= MAX_REVEAL => Ok(n),
        n => Err(ApiError::bad_request(format!(
            "reveal {n} is over {MAX_REVEAL}"
        ))),
    }
}
