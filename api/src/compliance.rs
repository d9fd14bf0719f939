//! `GET /v1/compliance/{index}`: the compliance bundle of a `model_checkpoint` entry (DESIGN.md
//! "Compliance"), assembled against one signed checkpoint: tlog-proofs of the checkpoint entry,
//! of the dataset versions it names, of every opt-out below its horizon and of the entry just
//! below the horizon (`horizon_entry`, for the verdict's time lag); the whole leaf list of every
//! opt-out set; and for each dataset version ONE multi-proof deciding every opted-out id
//! (`train-ai` scope) at once: exclusion, or the inclusion that is the evidence of a violation;
//! and for each dataset version with a source tree, one range proof per site named by a signed
//! `train-ai` opt-out below the horizon (`source_proofs`, issue 13: a count of 0 is a verified
//! exclusion, more is a violation naming up to 1,000 of the items); and (issue 14) for every
//! signed `train-ai` opt-out below the horizon that names a passage tree, the tree's leaves
//! (`passage_optouts`), and for each (such opt-out, dataset version with a passage tree) one
//! multi-range proof over the opt-out's passage ids (`passage_proofs`), as
//! `ledger::compliance::required_passage_optouts` / `required_passage_proofs` plan them (the
//! verifier checks the bundle against the same plan).
//! The verifier (`prov verify compliance`) trusts none of it beyond the log's key.
//!
//! A bundle is a heavy read, and anyone may ask for one, so:
//! - it is built once per checkpoint entry and cached ([`BundleCache`], bounded in entries and
//!   bytes, keyed by the entry and the tree size it was built against). A cached bundle stays
//!   valid when the log grows: its proofs lead to an older checkpoint that the log signed.
//! - at most `limits.heavy_reads` are built at once; over that, 503 with `Retry-After` and the
//!   problem type `busy`.
//! - the build runs on a blocking thread that checks a cancellation flag, set when the request
//!   future is dropped (the client went away, or the request timed out); it stops there and
//!   gives its permit back.
//! - its memory is bounded by what the bundle carries: proofs are built a few ids at a time from
//!   a fresh view of the stored set ([`ledger::set::multi_proof_batched`]), so no more than a
//!   batch's records of a manifest are held at once, whatever its size. Opt-out sets travel
//!   whole (the sequencer caps their size).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use ledger::compliance::{
    dataset_label, passage_ranges, required_passage_optouts, required_passage_proofs, BundleEntry,
    BundleMultiProof, BundlePassageOptOut, BundlePassageProof, BundleSourceProof, ComplianceBundle,
    IndexedEntry, OptOutSetLeaves, PASSAGE_REVEAL,
};
use ledger::entry::{Entry, EntryBody, OptOutIds};
use ledger::ledger::Ledger;
use ledger::range::{range_multi_proof, range_proof, Range};
use ledger::set::{multi_proof_batched, SetError};
use ledger::source::Site;
use ledger::store::log::SignedCheckpoint;
use ledger::store::sets::SetStoreError;
use ledger::{ContentId, LeafIndex, TlogProof, TreeSize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::datasets::stored_entry;
use crate::extract::Path;
use crate::problem::ApiError;
use crate::state::AppState;

/// Opt-out entries read per page while gathering them.
const PAGE: usize = 4096;
/// Ids proven per fresh view of a stored set: bounds the records a view caches.
const PROOF_BATCH: usize = 32;
/// In-range leaves a bundle's range proof reveals at most (the count is proven either way; a
/// violation names the revealed items).
const SITE_REVEAL: u64 = 1000;
/// What a client over the heavy-read limit is told to wait, in seconds.
const BUSY_RETRY_SECS: u64 = 2;

/// `GET /v1/compliance/{index}`.
#[utoipa::path(get, path = "/v1/compliance/{index}", tag = "read", operation_id = "get_compliance_bundle",
    params(("index" = u64, Path, description = "Log index of a model_checkpoint entry", example = 8)),
    responses(
        (status = 200, description = "The bundle (verify with `prov verify compliance`)", body = crate::schemas::ComplianceBundleJson),
        (status = 404, description = "No such entry, or not a model_checkpoint", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A set the bundle needs is not stored here", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many heavy reads at once (type `busy`): retry after `Retry-After` seconds", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed path or query parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn bundle(
    State(state): State<AppState>,
    Path(index): Path<u64>,
) -> Result<Response, ApiError> {
    let heavy = state.heavy();
    if let Some(body) = heavy.cache.get(index) {
        return Ok(json_response(body));
    }
    let permit = heavy.try_permit()?;
    // Set when this future is dropped: the client went away or the request timed out.
    let cancel = CancelOnDrop::default();
    let flag = cancel.flag();
    let built = state
        .blocking(move |l| {
            let _permit = permit; // held until the work stops, not until the client goes
            let size = l.checkpoint().size();
            let bundle = assemble_with(l, LeafIndex(index), &flag)?;
            let body = serde_json::to_vec(&bundle).map_err(ApiError::internal)?;
            Ok((size, Bytes::from(body)))
        })
        .await;
    drop(cancel);
    let (size, body) = built?;
    heavy.cache.insert(index, size, body.clone());
    Ok(json_response(body))
}

/// Builds the bundle of the `model_checkpoint` entry at `index`.
pub fn assemble(l: &Ledger, index: LeafIndex) -> Result<ComplianceBundle, ApiError> {
    assemble_with(l, index, &AtomicBool::new(false))
}

/// [`assemble`], stopping with an error as soon as `cancel` is set.
pub fn assemble_with(
    l: &Ledger,
    index: LeafIndex,
    cancel: &AtomicBool,
) -> Result<ComplianceBundle, ApiError> {
    let check = || {
        if cancel.load(Ordering::Relaxed) {
            Err(ApiError::Unavailable("bundle build cancelled".into()))
        } else {
            Ok(())
        }
    };
    // One checkpoint for every proof: the bundle must be consistent with itself.
    let cp = l.checkpoint();
    if index.0 >= cp.size().0 {
        return Err(ApiError::not_found(format!(
            "no entry {index} in the latest checkpoint"
        )));
    }
    let model = stored_entry(l, index)?;
    let EntryBody::ModelCheckpoint(c) = model.body() else {
        return Err(ApiError::not_found(format!(
            "entry {index} is not a model_checkpoint"
        )));
    };
    let model_checkpoint = bundle_entry(l, &cp, index, &model)?;

    let mut datasets = Vec::with_capacity(c.datasets.len());
    let mut dataset_entries = Vec::with_capacity(c.datasets.len());
    for d in &c.datasets {
        let e = stored_entry(l, d.index)?;
        datasets.push(bundle_entry(l, &cp, d.index, &e)?);
        dataset_entries.push(IndexedEntry {
            index: d.index,
            entry: e,
        });
    }

    // Every opt-out below the horizon, in log order, read a page at a time.
    let mut optouts = Vec::new();
    let mut optout_entries = Vec::new();
    let mut optout_sets = Vec::new();
    let mut ids: BTreeSet<ContentId> = BTreeSet::new();
    let mut sites: BTreeMap<String, Site> = BTreeMap::new();
    let mut after = None;
    'pages: loop {
        check()?;
        let page = l.optouts(after, PAGE)?;
        if page.is_empty() {
            break;
        }
        for &i in &page {
            if i.0 >= c.optout_horizon {
                break 'pages;
            }
            let e = stored_entry(l, i)?;
            optouts.push(bundle_entry(l, &cp, i, &e)?);
            let EntryBody::OptOut(o) = e.body() else {
                return Err(ApiError::internal(format!("opt-out index names entry {i}")));
            };
            if o.passages.is_some() {
                optout_entries.push(IndexedEntry {
                    index: i,
                    entry: e.clone(),
                });
            }
            let covers = o.covers_training();
            // Sites of signed train-ai opt-outs: each gets a range proof in every version with
            // a source tree (the verifier asks for exactly these; anonymous ones are refused
            // by the sequencer and get no site check).
            if covers && e.signer().is_some() {
                for site in &o.sites {
                    sites
                        .entry(site.to_string())
                        .or_insert_with(|| site.clone());
                }
            }
            match &o.ids {
                Some(OptOutIds::Inline(v)) if covers => ids.extend(v.iter().copied()),
                None | Some(OptOutIds::Inline(_)) => {}
                Some(OptOutIds::Set { root, size }) => {
                    check()?;
                    let count = usize::try_from(*size).map_err(ApiError::internal)?;
                    let leaves = l.sets().leaves(root, 0, count).map_err(|e| match e {
                        SetStoreError::UnknownSet(r) => {
                            set_missing(format!("opt-out set {r} of entry {i} is not stored here"))
                        }
                        other => other.into(),
                    })?;
                    if covers {
                        ids.extend(leaves.iter().map(|leaf| leaf.cid));
                    }
                    optout_sets.push(OptOutSetLeaves { leaves });
                }
            }
        }
        after = page.last().copied();
    }

    // One multi-proof per dataset version for every id.
    let ids: Vec<ContentId> = ids.into_iter().collect();
    let mut multi_proofs = Vec::with_capacity(c.datasets.len());
    if !ids.is_empty() {
        for d in &c.datasets {
            check()?;
            let label = dataset_label(&d.key());
            if l.sets().info(&d.manifest_root)?.is_none() {
                return Err(set_missing(format!(
                    "manifest {} of {label} is not stored here",
                    d.manifest_root
                )));
            }
            let open = || {
                if cancel.load(Ordering::Relaxed) {
                    return Err(SetError::Source("cancelled".into()));
                }
                l.sets()
                    .source(&d.manifest_root)
                    .map_err(|e| SetError::Source(e.to_string()))
            };
            let proof = multi_proof_batched(open, &ids, PROOF_BATCH).map_err(|e| {
                if cancel.load(Ordering::Relaxed) {
                    ApiError::Unavailable("bundle build cancelled".into())
                } else {
                    ApiError::internal(format!("multi-proof of {label}: {e}"))
                }
            })?;
            multi_proofs.push(BundleMultiProof {
                dataset: label,
                proof,
            });
        }
    }

    // One range proof per (version with a source tree, opted-out site).
    let mut source_proofs = Vec::new();
    if !sites.is_empty() {
        for d in &c.datasets {
            let e = stored_entry(l, d.index)?;
            let EntryBody::DatasetVersion(v) = e.body() else {
                return Err(ApiError::internal(format!(
                    "checkpoint names entry {}, not a dataset_version",
                    d.index
                )));
            };
            if v.sources.is_none() {
                continue; // the verifier reports it as unproven
            }
            let label = dataset_label(&d.key());
            let Some((tree, _, _)) = l.sets().source_tree(&v.manifest_root)? else {
                return Err(set_missing(format!(
                    "the source tree of {label} is not stored here"
                )));
            };
            for site in sites.values() {
                check()?;
                let proof = range_proof(&tree, &Range::site(site), SITE_REVEAL)
                    .map_err(|e| ApiError::internal(format!("range proof of {label}: {e}")))?;
                source_proofs.push(BundleSourceProof {
                    dataset: label.clone(),
                    site: site.clone(),
                    proof,
                });
            }
        }
    }

    let (passage_optouts, passage_proofs) =
        passage_evidence(l, &dataset_entries, &optout_entries, &check)?;

    let horizon_entry = match c.optout_horizon.checked_sub(1) {
        Some(h) => {
            let i = LeafIndex(h);
            Some(bundle_entry(l, &cp, i, &stored_entry(l, i)?)?)
        }
        None => None,
    };

    Ok(ComplianceBundle {
        checkpoint: cp.note.clone(),
        model_checkpoint,
        datasets,
        optouts,
        optout_sets,
        set_proofs: Vec::new(),
        multi_proofs,
        horizon_entry,
        source_proofs,
        passage_optouts,
        passage_proofs,
    })
}

/// Opt-outs by passage (issue 14): the leaves of every binding opt-out's passage tree, and one
/// multi-range proof per (such opt-out, dataset version with a passage tree), exactly as the
/// verifier's plan asks. Each opt-out tree is at most `max_optout_passages` leaves (the
/// sequencer's cap), so it travels whole; each proof reveals at most [`PASSAGE_REVEAL`] leaves
/// per passage.
fn passage_evidence(
    l: &Ledger,
    datasets: &[IndexedEntry],
    optouts: &[IndexedEntry],
    check: &dyn Fn() -> Result<(), ApiError>,
) -> Result<(Vec<BundlePassageOptOut>, Vec<BundlePassageProof>), ApiError> {
    let mut leaves = HashMap::new();
    let mut passage_optouts = Vec::new();
    for (index, tree) in required_passage_optouts(optouts) {
        check()?;
        let count = usize::try_from(tree.size).map_err(ApiError::internal)?;
        let got = l
            .sets()
            .passage_leaves(&tree.root, 0, count)?
            .filter(|got| got.len() == count)
            .ok_or_else(|| {
                set_missing(format!(
                    "passage tree {} of opt-out {index} is not stored here",
                    tree.root
                ))
            })?;
        leaves.insert(index, passage_ranges(&got));
        passage_optouts.push(BundlePassageOptOut {
            optout: index,
            leaves: got,
        });
    }
    let mut passage_proofs = Vec::new();
    for need in required_passage_proofs(datasets, optouts) {
        check()?;
        let Some((tree, info)) = l.sets().passage_tree(&need.tree.root)? else {
            return Err(set_missing(format!(
                "the passage tree of {} is not stored here",
                need.dataset
            )));
        };
        if info.size.0 != need.tree.size {
            return Err(ApiError::internal(format!(
                "the passage tree of {} has {} leaves, its entry says {}",
                need.dataset, info.size.0, need.tree.size
            )));
        }
        let ranges = leaves.get(&need.optout).map_or(&[][..], Vec::as_slice);
        let proof = range_multi_proof(&tree, ranges, PASSAGE_REVEAL)
            .map_err(|e| ApiError::internal(format!("passage proof of {}: {e}", need.dataset)))?;
        passage_proofs.push(BundlePassageProof {
            optout: need.optout,
            dataset: need.dataset,
            proof,
        });
    }
    Ok((passage_optouts, passage_proofs))
}

/// The heavy-read limit and the bundle cache, one per service.
pub struct HeavyReads {
    permits: Arc<Semaphore>,
    cache: BundleCache,
}

impl HeavyReads {
    /// At most `concurrent` heavy reads at once; a cache of `entries` bundles, `bytes` in all.
    pub fn new(concurrent: usize, entries: usize, bytes: usize) -> Self {
        HeavyReads {
            permits: Arc::new(Semaphore::new(concurrent)),
            cache: BundleCache::new(entries, bytes),
        }
    }

    /// A permit, or 503 `busy` with `Retry-After`.
    pub fn try_permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::Busy {
                retry_after_secs: BUSY_RETRY_SECS,
            })
    }

    /// Permits not taken: the heavy reads that may start now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    pub fn cache(&self) -> &BundleCache {
        &self.cache
    }
}

/// Serialized bundles by checkpoint entry, with the tree size each was built against. Bounded in
/// entries and bytes; the oldest insertion goes first.
pub struct BundleCache {
    max_entries: usize,
    max_bytes: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    map: HashMap<u64, (TreeSize, Bytes)>,
    order: VecDeque<u64>,
    bytes: usize,
}

impl BundleCache {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        BundleCache {
            max_entries,
            max_bytes,
            inner: Mutex::new(CacheInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // A poisoned cache only means a request panicked while holding it; it is intact.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached bundle of entry `index`, whatever tree size it was built against.
    pub fn get(&self, index: u64) -> Option<Bytes> {
        self.lock().map.get(&index).map(|(_, b)| b.clone())
    }

    /// The tree size the cached bundle of `index` was built against.
    pub fn built_at(&self, index: u64) -> Option<TreeSize> {
        self.lock().map.get(&index).map(|(s, _)| *s)
    }

    /// Caches a bundle built against `size`, unless one built against a larger tree is there.
    pub fn insert(&self, index: u64, size: TreeSize, body: Bytes) {
        if body.len() > self.max_bytes || self.max_entries == 0 {
            return;
        }
        let mut c = self.lock();
        if let Some((old_size, old)) = c.map.get(&index) {
            if *old_size >= size {
                return;
            }
            let len = old.len();
            c.bytes -= len;
            c.map.remove(&index);
            c.order.retain(|i| *i != index);
        }
        while c.map.len() >= self.max_entries || c.bytes + body.len() > self.max_bytes {
            let Some(oldest) = c.order.pop_front() else {
                break;
            };
            if let Some((_, b)) = c.map.remove(&oldest) {
                c.bytes -= b.len();
            }
        }
        c.bytes += body.len();
        c.map.insert(index, (size, body));
        c.order.push_back(index);
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A flag set when this guard is dropped: the handler's future holds it, the blocking work
/// watches the flag.
#[derive(Default)]
struct CancelOnDrop(Arc<AtomicBool>);

impl CancelOnDrop {
    fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn json_response(body: Bytes) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn set_missing(detail: String) -> ApiError {
    ApiError::Conflict {
        slug: "set-missing",
        detail,
    }
}

fn bundle_entry(
    l: &Ledger,
    cp: &SignedCheckpoint,
    index: LeafIndex,
    entry: &Entry,
) -> Result<BundleEntry, ApiError> {
    let proof = TlogProof {
        extra: None,
        index,
        proof: l.inclusion_proof(index, cp.size())?,
        checkpoint: cp.note.clone(),
    };
    Ok(BundleEntry::new(entry, &proof))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_is_bounded_and_keeps_the_newest_build() {
        let c = BundleCache::new(2, 10);
        c.insert(1, TreeSize(5), Bytes::from_static(b"aaaa"));
        c.insert(2, TreeSize(5), Bytes::from_static(b"bbbb"));
        c.insert(3, TreeSize(5), Bytes::from_static(b"cc"));
        assert_eq!(c.len(), 2);
        assert!(c.get(1).is_none(), "the oldest went first");
        // Entries bound: 2 goes; 2 + 8 bytes fit exactly.
        c.insert(4, TreeSize(5), Bytes::from_static(b"dddddddd"));
        assert!(c.get(2).is_none());
        assert_eq!(c.get(3).as_deref(), Some(&b"cc"[..]));
        // Bytes bound: 8 + 5 > 10, so 4 goes too.
        c.insert(6, TreeSize(5), Bytes::from_static(b"eeeee"));
        assert!(c.get(3).is_none() && c.get(4).is_none());
        assert_eq!(c.len(), 1);
        // Too large for the cache: not cached.
        c.insert(5, TreeSize(5), Bytes::from(vec![0u8; 11]));
        assert!(c.get(5).is_none());
        // A build against a newer tree replaces one against an older; never the reverse.
        c.insert(4, TreeSize(5), Bytes::from_static(b"dd"));
        c.insert(4, TreeSize(9), Bytes::from_static(b"new"));
        assert_eq!(c.built_at(4), Some(TreeSize(9)));
        c.insert(4, TreeSize(7), Bytes::from_static(b"old"));
        assert_eq!(c.get(4).as_deref(), Some(&b"new"[..]));
        assert_eq!(c.built_at(4), Some(TreeSize(9)));
    }

    #[test]
    fn the_flag_is_set_when_the_guard_is_dropped() {
        let g = CancelOnDrop::default();
        let f = g.flag();
        assert!(!f.load(Ordering::Relaxed));
        drop(g);
        assert!(f.load(Ordering::Relaxed));
    }
}
