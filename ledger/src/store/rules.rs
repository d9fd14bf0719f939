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
//!   is in the log at the index and with the manifest root the entry says.

use crate::entry::{Entry, EntryBody};
use crate::sequencer::{SubmitError, ValidateHook};
use crate::types::{Digest, LeafIndex};

use super::index::{
    dataset_version_key, model_checkpoint_key, optout_key, publisher_key, replay_key, set_root_key,
    BatchIndex, Rejection,
};
use super::keys::read_u64;

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

/// Signatures are verified one by one: [`crate::entry::verify_batch`] is sound only with a
/// torsion check per signature that costs what batching saves (see its module docs).
fn prepare(bytes: &[u8]) -> Result<Prepared, Rejection> {
    let entry = Entry::from_bytes(bytes)?;
    let leaf_hash = entry.leaf_hash();
    Ok(Prepared { entry, leaf_hash })
}

/// Checks `p` at `index` against the log and the batch so far, and records its index updates
/// in `view` (written atomically with the entry).
pub fn apply(view: &mut BatchIndex<'_>, p: &Prepared, index: LeafIndex) -> Result<(), Rejection> {
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
            let mut v = index.0.to_be_bytes().to_vec();
            v.extend_from_slice(&d.manifest_root.0);
            puts.push((key, v));
            puts.push((set_root_key(&d.manifest_root, index), Vec::new()));
        }
        EntryBody::OptOut(_) => {
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
            let key = model_checkpoint_key(c.publisher.as_str(), c.model.as_str(), index);
            puts.push((key, c.checkpoint.as_str().as_bytes().to_vec()));
        }
    }
    view.put(rk, index.0.to_be_bytes().to_vec());
    for (k, v) in puts {
        view.put(k, v);
    }
    Ok(())
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
