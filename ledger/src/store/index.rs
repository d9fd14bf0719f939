//! Cross-entry rules and query indexes, in the `index` column.
//!
//! The entry's own rules (signature, size, canonical form, horizon) are `crate::entry`'s; the
//! rules that need the rest of the log are here, checked by the sequencer against the indexes
//! and the batch so far, and the index records of an accepted entry go into the same atomic
//! write as the entry itself, so the indexes never disagree with the log.
//!
//! Every key starts with a one-byte tag; names are length-prefixed (u16 big-endian) so that no
//! name can run into the next field. Layouts (docs/storage.md):
//!
//! | tag | key | value | question |
//! |---|---|---|---|
//! | `0x01` | leaf hash (32) | index (u64) | is this exact entry already logged (replay)? |
//! | `0x02` | name | key (32) ‖ index (u64) | who owns publisher name X? |
//! | `0x03` | publisher ‖ dataset ‖ version | index (u64) ‖ manifest root (32) | does this dataset version exist; a publisher's datasets and versions |
//! | `0x04` | index (u64) | empty | the opt-out entries, in log order |
//! | `0x05` | publisher ‖ model ‖ index (u64) | checkpoint name | a model's checkpoint entries |
//! | `0x06` | set root (32) ‖ index (u64) | empty | which dataset version entries name set root R |
//! | `0x07` | publisher ‖ model | highest horizon (u64) | may a new checkpoint of this model name horizon N? |
//! | `0x08` | set root (32) ‖ index (u64) | empty | which entries name set root R (manifest, opt-out set, weights): may R be collected? |
//! | `0x09` | passage-tree root (32) ‖ index (u64) | empty | which entries name passage tree R (a version's or an opt-out's `passages`): may R be collected? |
//!
//! `0x07` and `0x08` came with the acceptance rules of issue 11; a ledger written before has
//! neither for its older entries. The horizon rule then falls back to the model's latest
//! checkpoint entry (`0x05`), and a set named only by an older entry has no `0x08` record.

use std::collections::HashMap;

use crate::types::{Digest, LeafIndex};

use super::keys::prefix_end;
use super::{Column, LogStore, Record, StoreError};

pub(crate) const TAG_REPLAY: u8 = 0x01;
pub(crate) const TAG_PUBLISHER: u8 = 0x02;
pub(crate) const TAG_DATASET_VERSION: u8 = 0x03;
pub(crate) const TAG_OPTOUT: u8 = 0x04;
pub(crate) const TAG_MODEL_CHECKPOINT: u8 = 0x05;
pub(crate) const TAG_SET_ROOT: u8 = 0x06;
pub(crate) const TAG_MODEL_HORIZON: u8 = 0x07;
pub(crate) const TAG_SET_NAMED: u8 = 0x08;
pub(crate) const TAG_PASSAGES_NAMED: u8 = 0x09;

/// Which part of an entry names a set: a dataset version's manifest, an opt-out's set, or a
/// checkpoint's weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetRole {
    Manifest,
    OptOutSet,
    Weights,
}

impl SetRole {
    /// The entry field that names the set.
    pub fn field(self) -> &'static str {
        match self {
            SetRole::Manifest => "manifest_root",
            SetRole::OptOutSet => "set.root",
            SetRole::Weights => "weights_root",
        }
    }
}

impl std::fmt::Display for SetRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SetRole::Manifest => "manifest",
            SetRole::OptOutSet => "opt-out set",
            SetRole::Weights => "weights set",
        })
    }
}

/// Why the sequencer refused an entry. The entry is wrong; resubmitting it will not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    #[error(transparent)]
    Entry(#[from] crate::entry::EntryError),
    #[error("invalid entry: {0}")]
    Invalid(String),
    #[error("entry is already in the log at index {0}")]
    Replay(u64),
    #[error("publisher name {0:?} belongs to another key")]
    NameTaken(String),
    #[error("publisher {0:?} is not registered")]
    UnknownPublisher(String),
    #[error("entry is not signed by the key of publisher {0:?}")]
    NotPublisherKey(String),
    #[error("dataset version {0} already exists")]
    DuplicateVersion(String),
    #[error("dataset version {0} is not in the log")]
    UnknownDatasetVersion(String),
    /// The entry names a set (by `role`) that is not stored: upload it first.
    #[error("the {role} {root} is not stored; upload the set before the entry")]
    SetNotStored { root: Digest, role: SetRole },
    /// The stored set's size is not the size the entry claims.
    #[error("the {role} {root} has {stored} leaves, the entry claims {claimed}")]
    SetSizeMismatch {
        root: Digest,
        role: SetRole,
        stored: u64,
        claimed: u64,
    },
    /// An anonymous opt-out may only carry inline ids.
    #[error("an anonymous opt-out may only carry inline ids; sign it to name an opt-out set")]
    AnonymousOptOutSet,
    /// A signed opt-out's set is over the log's limit.
    #[error("opt-out set of {size} ids is over this log's limit of {max}")]
    OptOutSetTooLarge { size: u64, max: u64 },
    /// A new entry without `log` (a v1 entry): it could be replayed into another log.
    #[error("entry has no log field; new entries must name the log's origin")]
    UnboundEntry,
    /// The entry is for another log.
    #[error("entry is for log {found:?}, this log is {expected:?}")]
    WrongLog { expected: String, found: String },
    /// The entry's `time` is too far from the sequencer's clock.
    #[error("entry time {time} is too far from the log's clock ({now})")]
    TimeSkew { time: u64, now: u64 },
    /// A checkpoint names a lower horizon than an earlier checkpoint of the same model.
    #[error("optout_horizon {horizon} is below the model's previous horizon {previous}")]
    HorizonBackwards { previous: u64, horizon: u64 },
    /// An anonymous opt-out names sites: only a signer can show it controls a site.
    #[error("an anonymous opt-out may not name sites; sign it with a key the site publishes")]
    AnonymousSites,
    /// A new opt-out uses a label the aipref vocabulary no longer has (`ai-use`).
    #[error("scope {} is withdrawn from the aipref vocabulary; use train-ai or search", .scope.label())]
    ScopeWithdrawn { scope: crate::entry::Scope },
    /// A dataset version claims a source tree, but its manifest was stored without metadata
    /// (a `leaves` upload, or `"meta":"none"`): nobody can check the claim.
    #[error("the manifest {manifest} was stored without metadata, so its source tree cannot be checked; upload it as a manifest with metadata")]
    SourcesNotStored { manifest: Digest },
    /// A dataset version's `sources` is not the source tree the ledger derived from its
    /// manifest's metadata.
    #[error("sources claims root {claimed} over {claimed_size} leaves; the manifest's metadata gives {derived} over {derived_size}")]
    SourcesMismatch {
        claimed: Digest,
        claimed_size: u64,
        derived: Digest,
        derived_size: u64,
    },
    /// A `passages` claim names no passage tree stored with that root and size (issue 14):
    /// upload the tree (format `passages`) before the entry.
    #[error("{}", passages_not_stored(.root, *.claimed, *.stored))]
    PassagesNotStored {
        root: Digest,
        claimed: u64,
        /// The size of the tree stored with that root, if one is.
        stored: Option<u64>,
    },
    /// An anonymous opt-out names passages: every compliance bundle carries them.
    #[error("an anonymous opt-out may not name passages; sign it")]
    AnonymousPassages,
    /// A signed opt-out's passage tree is over the log's limit.
    #[error("opt-out passage tree of {size} leaves is over this log's limit of {max}; name the work's {max} smallest passage ids")]
    OptOutPassagesTooLarge { size: u64, max: u64 },
}

fn passages_not_stored(root: &Digest, claimed: u64, stored: Option<u64>) -> String {
    match stored {
        Some(stored) => {
            format!("the passage tree {root} has {stored} leaves, the entry claims {claimed}")
        }
        None => format!(
            "no passage tree {root} is stored; upload it (format passages) before the entry"
        ),
    }
}

/// The index as the sequencer sees it while checking a batch: the store plus the batch's own
/// index records so far. Reads that fail are remembered and fail the whole batch in
/// [`BatchIndex::into_ops`], so a storage error never turns into a wrong answer.
pub struct BatchIndex<'a> {
    store: &'a dyn LogStore,
    pending: HashMap<Vec<u8>, Vec<u8>>,
    ops: Vec<Record>,
    error: Option<StoreError>,
}

impl<'a> BatchIndex<'a> {
    pub fn new(store: &'a dyn LogStore) -> Self {
        BatchIndex {
            store,
            pending: HashMap::new(),
            ops: Vec::new(),
            error: None,
        }
    }

    pub fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        if let Some(v) = self.pending.get(key) {
            return Some(v.clone());
        }
        match self.store.get(Column::Index, key) {
            Ok(v) => v,
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }

    /// Records that an index value read back is malformed: the batch then fails in
    /// [`BatchIndex::into_ops`], as for a failed read, instead of deciding on a guess.
    pub fn corrupt(&mut self, what: &str) {
        self.error
            .get_or_insert_with(|| StoreError::corrupt(Column::Index, what));
    }

    /// The last store record (not the batch's) with a key in `[start, end)`; a failed read is
    /// remembered like [`BatchIndex::get`]'s.
    pub fn last_stored(&mut self, col: Column, start: &[u8], end: &[u8]) -> Option<Record> {
        match self.store.last_in_range(col, start, end) {
            Ok(r) => r,
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }

    /// A store record (not the batch's), for reading entries; failures as [`BatchIndex::get`].
    pub fn stored(&mut self, col: Column, key: &[u8]) -> Option<Vec<u8>> {
        match self.store.get(col, key) {
            Ok(v) => v,
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }

    /// Records a failed read made outside the view (a set lookup), failing the batch.
    pub fn read_failed(&mut self, e: StoreError) {
        self.error.get_or_insert(e);
    }

    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.pending.insert(key.clone(), value.clone());
        self.ops.push((key, value));
    }

    /// The index records to write with the batch, or the first read error.
    pub fn into_ops(self) -> Result<Vec<Record>, StoreError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.ops),
        }
    }
}

/// `tag || parts...`, each part length-prefixed.
pub(crate) fn key(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = vec![tag];
    for p in parts {
        let len = u16::try_from(p.len()).unwrap_or(u16::MAX);
        k.extend_from_slice(&len.to_be_bytes());
        k.extend_from_slice(&p[..usize::from(len)]);
    }
    k
}

#[doc(hidden)] // public for the tests and benches that plant index records
pub fn replay_key(leaf_hash: &Digest) -> Vec<u8> {
    [&[TAG_REPLAY][..], &leaf_hash.0].concat()
}

#[doc(hidden)] // public for the tests and benches that plant index records
pub fn publisher_key(name: &str) -> Vec<u8> {
    key(TAG_PUBLISHER, &[name.as_bytes()])
}

#[doc(hidden)] // public for the tests and benches that plant index records
pub fn dataset_version_key(publisher: &str, dataset: &str, version: &str) -> Vec<u8> {
    key(
        TAG_DATASET_VERSION,
        &[publisher.as_bytes(), dataset.as_bytes(), version.as_bytes()],
    )
}

pub(crate) fn optout_key(index: LeafIndex) -> Vec<u8> {
    [&[TAG_OPTOUT][..], &index.0.to_be_bytes()].concat()
}

pub(crate) fn model_checkpoint_key(publisher: &str, model: &str, index: LeafIndex) -> Vec<u8> {
    let mut k = model_prefix(publisher, model);
    k.extend_from_slice(&index.0.to_be_bytes());
    k
}

/// The prefix of every `model_checkpoint` index key of `publisher/model`.
pub(crate) fn model_prefix(publisher: &str, model: &str) -> Vec<u8> {
    key(
        TAG_MODEL_CHECKPOINT,
        &[publisher.as_bytes(), model.as_bytes()],
    )
}

pub(crate) fn set_root_key(root: &Digest, index: LeafIndex) -> Vec<u8> {
    [&[TAG_SET_ROOT][..], &root.0, &index.0.to_be_bytes()].concat()
}

/// `publisher ‖ model` → the highest `optout_horizon` of the model's checkpoints.
pub(crate) fn model_horizon_key(publisher: &str, model: &str) -> Vec<u8> {
    key(TAG_MODEL_HORIZON, &[publisher.as_bytes(), model.as_bytes()])
}

/// `set root ‖ index`: entry `index` names the set `root`.
pub(crate) fn set_named_key(root: &Digest, index: LeafIndex) -> Vec<u8> {
    [&[TAG_SET_NAMED][..], &root.0, &index.0.to_be_bytes()].concat()
}

/// `passage-tree root ‖ index`: entry `index` names the passage tree `root` (issue 14).
pub(crate) fn passages_named_key(root: &Digest, index: LeafIndex) -> Vec<u8> {
    [&[TAG_PASSAGES_NAMED][..], &root.0, &index.0.to_be_bytes()].concat()
}

/// The leaf indexes stored as the last 8 bytes of every key under `prefix`, in key order,
/// starting after `after` (exclusive) and at most `limit` of them.
pub(crate) fn indexes_under(
    store: &dyn LogStore,
    prefix: &[u8],
    after: Option<LeafIndex>,
    limit: usize,
) -> Result<Vec<LeafIndex>, StoreError> {
    let start = match after {
        None => prefix.to_vec(),
        Some(i) => match i.0.checked_add(1) {
            Some(n) => [prefix, &n.to_be_bytes()].concat(),
            None => return Ok(Vec::new()),
        },
    };
    let end = prefix_end(prefix).unwrap_or_else(|| vec![0xff; prefix.len() + 9]);
    let rows = store.range(Column::Index, &start, &end, limit)?;
    rows.iter()
        .map(|(k, _)| {
            k.len()
                .checked_sub(8)
                .and_then(|at| super::keys::read_u64(&k[at..]))
                .map(LeafIndex)
                .ok_or_else(|| StoreError::corrupt(Column::Index, "index key"))
        })
        .collect()
}

pub use super::rules::{apply, prepare_batch, prepare_decoded, Prepared, RuleContext, SetLookup};

/// The length-prefixed parts of a key (without its tag), or None if malformed.
pub(crate) fn split_key(mut k: &[u8]) -> Option<Vec<&[u8]>> {
    let mut parts = Vec::new();
    while k.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([k[0], k[1]]));
        let part = k.get(2..2 + len)?;
        parts.push(part);
        k = &k[2 + len..];
    }
    k.is_empty().then_some(parts)
}
