//! The rules the sequencer enforces before an entry gets an index: the entry's own
//! ([`Entry::from_bytes`]: size, canonical JSON, fields, signature; [`Entry::validate_at`]:
//! horizon and dataset references before the entry's index), then the cross-entry rules against
//! the indexes and the batch so far:
//!
//! - **replay**: an entry with identical bytes already in the log is refused;
//! - **publisher names**: first come; the first `publisher` entry for a name is signed by the key
//!   it binds, a later one (a key change) by the key it replaces;
//! - **dataset versions**: signed by the publisher's current key; `publisher/dataset@version`
//!   unique;
//! - **model checkpoints**: signed by the publisher's current key; every dataset version named
//!   is in the log at the index and with the manifest root the entry says; the opt-out horizon
//!   is no lower than the model's previous checkpoint's;
//! - **the log and the time** (issue 11): a new entry names this log's origin in `log` (a v2
//!   entry, whose signature covers it), and its `time` is within `max_skew_secs` of the
//!   sequencer's clock;
//! - **sources** (issue 13): a dataset version's `sources` (root and size of its source tree)
//!   equals the tree the ledger derived from the manifest's stored metadata;
//! - **sets**: every set root an entry names (a dataset version's manifest, an opt-out's set, a
//!   checkpoint's weights) is stored, with the size the entry claims. A set is stored only after
//!   the ledger checked its leaves sorted, unique and hashing to the root, so a root over
//!   unsorted leaves (which would prove both inclusion and exclusion of one id) is never named;
//! - **opt-outs**: an anonymous one carries inline ids only (no set, no sites: only a signer
//!   can show it controls a site); a signed one's set has at most `max_optout_set` ids, so that
//!   nobody can make every compliance bundle load a huge set; a new one uses only current aipref
//!   labels (`ai-use` was withdrawn: logged entries with it stay valid when replayed);
//! - **passages** (issue 14): a dataset version's or an opt-out's `passages` names a passage
//!   tree stored with that root and size (`passages-not-stored`); only a signed opt-out may name
//!   passages (`anonymous-passages`: every compliance bundle carries an opt-out's passage tree),
//!   and at most `max_optout_passages` of them (`optout-passages-too-large`). A version's tree is
//!   publisher-declared: the service has no texts to recompute it from.
//!
//! What only a deployment decides (its publisher allow-list, and which per-client limit an entry
//! draws on) is in [`super::admission`], decided on the typed entry before it is submitted; an
//! entry submitted typed ([`crate::sequencer::Sequencer::submit_entry_with`]) is not decoded
//! again here ([`prepare_decoded`]).
//!
//! [`apply`] is also what an auditor replays over a whole log (`prov audit`), with
//! [`RuleContext::now`] `None`: the time rule then does not apply, and neither does the refusal
//! of entries without `log`, which logs accepted (as v1 entries) before entries were bound; an
//! entry naming another log is refused either way.

use crate::entry::{Entry, EntryBody, OptOutIds};
use crate::sequencer::{SubmitError, ValidateHook};
use crate::types::{Digest, LeafIndex};

use super::index::{
    dataset_version_key, model_checkpoint_key, model_horizon_key, model_prefix, optout_key,
    passages_named_key, publisher_key, replay_key, set_named_key, set_root_key, BatchIndex,
    Rejection, SetRole,
};
use super::keys::{self, read_u64};
use super::sets::SetStore;
use super::{Column, StoreError};

/// Where the rules find the stored sets: the ledger's [`SetStore`], or an auditor's copy.
pub trait SetLookup {
    /// The number of leaves of the stored set with this root, `None` if it is not stored.
    fn stored_size(&self, root: &Digest) -> Result<Option<u64>, StoreError>;

    /// The source tree (root, size) derived from the stored set's metadata; `None` when the set
    /// is not stored with metadata. The default knows none: a lookup that cannot derive source
    /// trees refuses every `sources` claim rather than accepting it unchecked.
    fn stored_sources(&self, root: &Digest) -> Result<Option<(Digest, u64)>, StoreError> {
        let _ = root;
        Ok(None)
    }

    /// The number of leaves of the stored passage tree with this root (issue 14), `None` if
    /// none is stored. The default knows none: a lookup that cannot check passage trees refuses
    /// every `passages` claim rather than accepting it unchecked.
    fn stored_passages(&self, root: &Digest) -> Result<Option<u64>, StoreError> {
        let _ = root;
        Ok(None)
    }
}

impl SetLookup for SetStore {
    fn stored_size(&self, root: &Digest) -> Result<Option<u64>, StoreError> {
        Ok(self.info(root)?.map(|i| i.size.0))
    }

    fn stored_sources(&self, root: &Digest) -> Result<Option<(Digest, u64)>, StoreError> {
        self.sources(root)
    }

    fn stored_passages(&self, root: &Digest) -> Result<Option<u64>, StoreError> {
        Ok(self.passage_info(root)?.map(|i| i.size.0))
    }
}

/// What the rules need beyond the indexes: whose log this is, and the clock.
#[derive(Clone, Copy, Debug)]
pub struct RuleContext<'a> {
    /// The log's origin: a new entry's `log` must equal it.
    pub origin: &'a str,
    /// The sequencer's clock (unix seconds); `None` when replaying a log (an auditor), which
    /// skips the time rule and accepts v1 entries (see the module docs).
    pub now: Option<u64>,
    /// How far an entry's `time` may be from `now`, in seconds.
    pub max_skew_secs: u64,
    /// The most ids a signed opt-out's set may have.
    pub max_optout_set: u64,
    /// The most leaves a signed opt-out's passage tree may have (issue 14).
    pub max_optout_passages: u64,
}

/// An entry that passed its own rules, ready for the cross-entry rules.
#[derive(Debug)]
pub struct Prepared {
    pub entry: Entry,
    pub leaf_hash: Digest,
}

/// Decodes and checks every entry of a batch (signatures included), on up to
/// `available_parallelism` threads: this is the CPU-heavy part of integration.
///
/// Exactly one outcome per entry, in order, whatever happens: each entry is validated under its
/// own `catch_unwind`, so a panic (a bug in the ledger) fails that entry alone with the
/// retryable [`SubmitError::ValidationPanicked`], never its neighbours, and never shifts the
/// outcomes of the entries after it. `hook` is the tests' [`ValidateHook`].
pub fn prepare_batch(
    entries: &[&[u8]],
    hook: Option<&ValidateHook>,
) -> Vec<Result<Prepared, SubmitError>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = entries.len().div_ceil(threads).max(64);
    let one = |e: &[u8]| prepare_isolated(e, hook);
    if entries.len() <= per {
        return entries.iter().map(|e| one(e)).collect();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = entries
            .chunks(per)
            .map(|chunk| {
                let spawned = std::thread::Builder::new()
                    .name("ledger-validate".into())
                    .spawn_scoped(s, move || chunk.iter().map(|e| one(e)).collect::<Vec<_>>());
                (chunk, spawned)
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(chunk, spawned)| {
                let done = match spawned {
                    Ok(h) => h.join().ok().filter(|v| v.len() == chunk.len()),
                    // No thread to be had: validate this chunk here.
                    Err(_) => Some(chunk.iter().map(|e| one(e)).collect()),
                };
                // A thread that died outside the per-entry guard (it cannot: every entry is
                // guarded) still fails only its own chunk's entries, one outcome each.
                done.unwrap_or_else(|| {
                    chunk
                        .iter()
                        .map(|_| Err(SubmitError::ValidationPanicked))
                        .collect()
                })
            })
            .collect()
    })
}

/// [`prepare`] under `catch_unwind`.
fn prepare_isolated(bytes: &[u8], hook: Option<&ValidateHook>) -> Result<Prepared, SubmitError> {
    let run = std::panic::AssertUnwindSafe(|| {
        if let Some(h) = hook {
            (h.0)(bytes);
        }
        prepare(bytes)
    });
    match std::panic::catch_unwind(run) {
        Ok(r) => r.map_err(SubmitError::from),
        Err(_) => Err(SubmitError::ValidationPanicked),
    }
}

/// An entry the caller already decoded (and so checked: [`Entry`] is only ever built
/// signature-checked), ready for the cross-entry rules without decoding it again. Under the same
/// `catch_unwind` and `hook` as [`prepare_batch`], so a panic here fails this entry alone.
pub fn prepare_decoded(
    entry: &Entry,
    hook: Option<&ValidateHook>,
) -> Result<Prepared, SubmitError> {
    let run = std::panic::AssertUnwindSafe(|| {
        if let Some(h) = hook {
            (h.0)(entry.as_bytes());
        }
        Prepared {
            entry: entry.clone(),
            leaf_hash: entry.leaf_hash(),
        }
    });
    std::panic::catch_unwind(run).map_err(|_| SubmitError::ValidationPanicked)
}

/// Signatures are verified one by one: [`crate::entry::verify_batch`] is sound only with a
/// torsion check per signature that costs what batching saves (see its module docs).
fn prepare(bytes: &[u8]) -> Result<Prepared, Rejection> {
    let entry = Entry::from_bytes(bytes)?;
    let leaf_hash = entry.leaf_hash();
    Ok(Prepared { entry, leaf_hash })
}

/// Checks `p` at `index` against the log, the batch so far, the stored sets and `ctx`, and
/// records its index updates in `view` (written atomically with the entry). A failed read (of
/// the indexes or the sets) is recorded in `view` and fails the whole batch.
pub fn apply(
    view: &mut BatchIndex<'_>,
    sets: &dyn SetLookup,
    ctx: &RuleContext<'_>,
    p: &Prepared,
    index: LeafIndex,
) -> Result<(), Rejection> {
    let entry = &p.entry;
    entry.validate_at(index)?;
    let rk = replay_key(&p.leaf_hash);
    if let Some(v) = view.get(&rk) {
        let Some(at) = read_u64(&v) else {
            view.corrupt("replay value");
            return Err(Rejection::Replay(u64::MAX));
        };
        return Err(Rejection::Replay(at));
    }
    match entry.log() {
        Some(log) if log != ctx.origin => {
            return Err(Rejection::WrongLog {
                expected: ctx.origin.to_string(),
                found: log.to_string(),
            })
        }
        Some(_) => {}
        None if ctx.now.is_some() => return Err(Rejection::UnboundEntry),
        None => {}
    }
    if let Some(now) = ctx.now {
        if entry.time().abs_diff(now) > ctx.max_skew_secs {
            return Err(Rejection::TimeSkew {
                time: entry.time(),
                now,
            });
        }
    }
    let signer = entry.signer().map(|k| k.to_bytes());
    let mut puts: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    match entry.body() {
        EntryBody::Publisher(p) => {
            let key = publisher_key(p.name.as_str());
            let owner = match view.get(&key) {
                // First come: the name is bound by its own key.
                None => p.key.to_bytes(),
                // A key change, signed by the key it replaces.
                Some(v) => match v.get(..32).and_then(|k| <[u8; 32]>::try_from(k).ok()) {
                    Some(k) => k,
                    None => {
                        view.corrupt("publisher value");
                        return Err(Rejection::NameTaken(p.name.to_string()));
                    }
                },
            };
            if signer != Some(owner) {
                return Err(Rejection::NameTaken(p.name.to_string()));
            }
            let mut v = p.key.to_bytes().to_vec();
            v.extend_from_slice(&index.0.to_be_bytes());
            puts.push((key, v));
        }
        EntryBody::DatasetVersion(d) => {
            check_publisher_key(view, d.publisher.as_str(), signer)?;
            let key =
                dataset_version_key(d.publisher.as_str(), d.dataset.as_str(), d.version.as_str());
            if view.get(&key).is_some() {
                return Err(Rejection::DuplicateVersion(d.key().to_string()));
            }
            check_set(
                view,
                sets,
                &d.manifest_root,
                SetRole::Manifest,
                d.item_count,
            )?;
            if let Some(claim) = &d.sources {
                check_sources(view, sets, &d.manifest_root, claim.root, claim.size)?;
            }
            if let Some(p) = &d.passages {
                check_passages(view, sets, p.root, p.size)?;
            }
            let mut v = index.0.to_be_bytes().to_vec();
            v.extend_from_slice(&d.manifest_root.0);
            puts.push((key, v));
            puts.push((set_root_key(&d.manifest_root, index), Vec::new()));
            puts.push((set_named_key(&d.manifest_root, index), Vec::new()));
            if let Some(p) = &d.passages {
                puts.push((passages_named_key(&p.root, index), Vec::new()));
            }
        }
        EntryBody::OptOut(o) => {
            if !o.sites.is_empty() && signer.is_none() {
                return Err(Rejection::AnonymousSites);
            }
            if o.passages.is_some() && signer.is_none() {
                return Err(Rejection::AnonymousPassages);
            }
            // Logged entries with a withdrawn label stay valid (an auditor replays them).
            if let (Some(scope), Some(_)) = (o.withdrawn_scope(), ctx.now) {
                return Err(Rejection::ScopeWithdrawn { scope });
            }
            if let Some(OptOutIds::Set { root, size }) = &o.ids {
                if signer.is_none() {
                    return Err(Rejection::AnonymousOptOutSet);
                }
                if *size > ctx.max_optout_set {
                    return Err(Rejection::OptOutSetTooLarge {
                        size: *size,
                        max: ctx.max_optout_set,
                    });
                }
                check_set(view, sets, root, SetRole::OptOutSet, *size)?;
                puts.push((set_named_key(root, index), Vec::new()));
            }
            if let Some(p) = &o.passages {
                if p.size > ctx.max_optout_passages {
                    return Err(Rejection::OptOutPassagesTooLarge {
                        size: p.size,
                        max: ctx.max_optout_passages,
                    });
                }
                check_passages(view, sets, p.root, p.size)?;
                puts.push((passages_named_key(&p.root, index), Vec::new()));
            }
            puts.push((optout_key(index), Vec::new()));
        }
        EntryBody::ModelCheckpoint(c) => {
            check_publisher_key(view, c.publisher.as_str(), signer)?;
            for d in &c.datasets {
                let key = dataset_version_key(
                    d.publisher.as_str(),
                    d.dataset.as_str(),
                    d.version.as_str(),
                );
                let found = view.get(&key);
                let matches = found.as_deref().is_some_and(|v| {
                    read_u64(v) == Some(d.index.0) && v.get(8..40) == Some(&d.manifest_root.0[..])
                });
                if !matches {
                    return Err(Rejection::UnknownDatasetVersion(d.key().to_string()));
                }
            }
            let (publisher, model) = (c.publisher.as_str(), c.model.as_str());
            if let Some(previous) = previous_horizon(view, publisher, model) {
                if c.optout_horizon < previous {
                    return Err(Rejection::HorizonBackwards {
                        previous,
                        horizon: c.optout_horizon,
                    });
                }
            }
            check_set(
                view,
                sets,
                &c.weights_root,
                SetRole::Weights,
                c.weights_count,
            )?;
            let key = model_checkpoint_key(publisher, model, index);
            puts.push((key, c.checkpoint.as_str().as_bytes().to_vec()));
            puts.push((
                model_horizon_key(publisher, model),
                c.optout_horizon.to_be_bytes().to_vec(),
            ));
            puts.push((set_named_key(&c.weights_root, index), Vec::new()));
        }
    }
    view.put(rk, index.0.to_be_bytes().to_vec());
    for (k, v) in puts {
        view.put(k, v);
    }
    Ok(())
}

/// The set `root` must be stored, with `claimed` leaves.
fn check_set(
    view: &mut BatchIndex<'_>,
    sets: &dyn SetLookup,
    root: &Digest,
    role: SetRole,
    claimed: u64,
) -> Result<(), Rejection> {
    match sets.stored_size(root) {
        Ok(Some(stored)) if stored == claimed => Ok(()),
        Ok(Some(stored)) => Err(Rejection::SetSizeMismatch {
            root: *root,
            role,
            stored,
            claimed,
        }),
        Ok(None) => Err(Rejection::SetNotStored { root: *root, role }),
        Err(e) => {
            // The batch fails on this error; the rejection below is never sent.
            view.read_failed(e);
            Err(Rejection::SetNotStored { root: *root, role })
        }
    }
}

/// A dataset version's `sources` claim (issue 13) must be the source tree the ledger derived
/// from the manifest's stored metadata: a publisher cannot commit to a source tree that leaves
/// out a domain's items (which would make opt-out checks pass falsely), nor claim one for a
/// manifest whose metadata nobody holds. A version without `sources` is still accepted.
fn check_sources(
    view: &mut BatchIndex<'_>,
    sets: &dyn SetLookup,
    manifest: &Digest,
    claimed: Digest,
    claimed_size: u64,
) -> Result<(), Rejection> {
    match sets.stored_sources(manifest) {
        Ok(Some((derived, derived_size))) if (derived, derived_size) == (claimed, claimed_size) => {
            Ok(())
        }
        Ok(Some((derived, derived_size))) => Err(Rejection::SourcesMismatch {
            claimed,
            claimed_size,
            derived,
            derived_size,
        }),
        Ok(None) => Err(Rejection::SourcesNotStored {
            manifest: *manifest,
        }),
        Err(e) => {
            // The batch fails on this error; the rejection below is never sent.
            view.read_failed(e);
            Err(Rejection::SourcesNotStored {
                manifest: *manifest,
            })
        }
    }
}

/// A `passages` claim (issue 14) must name a passage tree stored with that root and size: the
/// ledger stored it only after checking its 64-byte leaves strictly increasing and hashing to
/// the root, so proofs from it are sound, and a named tree is never collected.
fn check_passages(
    view: &mut BatchIndex<'_>,
    sets: &dyn SetLookup,
    root: Digest,
    claimed: u64,
) -> Result<(), Rejection> {
    match sets.stored_passages(&root) {
        Ok(Some(stored)) if stored == claimed => Ok(()),
        Ok(stored) => Err(Rejection::PassagesNotStored {
            root,
            claimed,
            stored,
        }),
        Err(e) => {
            // The batch fails on this error; the rejection below is never sent.
            view.read_failed(e);
            Err(Rejection::PassagesNotStored {
                root,
                claimed,
                stored: None,
            })
        }
    }
}

/// The highest horizon of `publisher/model`'s checkpoints so far: the `0x07` record, or, in a
/// ledger written before it existed, the horizon of the model's latest checkpoint entry. `None`
/// for a model without checkpoints (or after a failed read, which fails the batch).
fn previous_horizon(view: &mut BatchIndex<'_>, publisher: &str, model: &str) -> Option<u64> {
    if let Some(v) = view.get(&model_horizon_key(publisher, model)) {
        let h = read_u64(&v);
        if h.is_none() {
            view.corrupt("model horizon value");
        }
        return h;
    }
    // No 0x07 record: no checkpoint of this model in this batch either (it would have written
    // one), so the store's latest 0x05 record is the model's latest checkpoint.
    let prefix = model_prefix(publisher, model);
    let end = keys::prefix_end(&prefix)?;
    let (k, _) = view.last_stored(Column::Index, &prefix, &end)?;
    let Some(at) = k.len().checked_sub(8).and_then(|at| read_u64(&k[at..])) else {
        view.corrupt("model checkpoint key");
        return None;
    };
    let bytes = view.stored(Column::Entries, &keys::entry_key(at))?;
    match Entry::from_bytes(&bytes).map(|e| e.body().clone()) {
        Ok(EntryBody::ModelCheckpoint(c)) => Some(c.optout_horizon),
        _ => {
            view.corrupt("model checkpoint entry");
            None
        }
    }
}

/// The entry must be signed by the current key of publisher `name`.
fn check_publisher_key(
    view: &mut BatchIndex<'_>,
    name: &str,
    signer: Option<[u8; 32]>,
) -> Result<(), Rejection> {
    let Some(v) = view.get(&publisher_key(name)) else {
        return Err(Rejection::UnknownPublisher(name.to_string()));
    };
    if v.get(..32) != signer.as_ref().map(|s| &s[..]) {
        return Err(Rejection::NotPublisherKey(name.to_string()));
    }
    Ok(())
}
