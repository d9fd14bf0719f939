//! The set store: a set's leaves stored under its root, after checking that they are sorted,
//! unique and hash to the claimed root; and proofs from stored sets in O(log n) reads.
//!
//! Layout (docs/storage.md): leaves in records of 256 (`set_leaves`), and the complete subtree
//! hashes of levels 8, 16, 24, ... in records of 256 (`set_hashes`), all under a set id. Any node
//! of the tree is then computed from one record (at most 256 hashes), so an inclusion or
//! exclusion proof of a 100M-leaf set reads a few dozen records and never the whole set.
//!
//! Ingest streams: [`SetWriter`] takes leaves in chunks of any size, keeps one partial record per
//! level (O(256 log n) memory), and stages full records as it goes under a fresh set id. The set
//! becomes visible only through one synced commit batch (the root record and the id's marker);
//! a crash before it leaves staged records that no root names, which [`SetStore::open`] deletes.
//!
//! Collection: every set stored by this version has a stored-time record; a set that no logged
//! entry names is deleted once it is older than the service's `collect_after`
//! ([`SetStore::collect_unnamed`]). Sets stored before the record existed are never collected.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::hash::{Blake3Set, TreeHasher};
use crate::merkle;
use crate::set::{SetError, SetLeaf, SetSource};
use crate::types::{ContentId, Digest, LeafIndex, TreeSize};

use super::keys::{
    self, meta_set_key, meta_set_stats_key, meta_set_stored_key, set_hashes_key, set_leaves_key,
    set_meta_key, set_root_key,
};
use super::ranges::{RangeWriter, StoredRange};
use super::setdevice::{self, Answer, IngestHashing, IngestStats, RecordRoots, RECORD_BYTES};
use super::stats::{LeafMeta, MetaError, SetStats, StatsBuilder};
use super::{Column, Durability, LogStore, StoreError, WriteBatch};
use verifier::range::RangeLeaf;

/// Leaves (or hashes) per record.
const CHUNK: usize = 256;
/// Full records staged per deferred write.
const RECORDS_PER_WRITE: usize = 64;
/// Bytes of metadata staged per deferred write.
const META_BYTES_PER_WRITE: usize = 8 << 20;
/// The largest metadata of one leaf, in bytes of canonical JSON.
pub const MAX_META_LEN: usize = 65_535;

/// The columns holding a set's records under its id (`id || ...` keys), all deleted together.
const PER_SET_COLUMNS: [Column; 5] = [
    Column::SetLeaves,
    Column::SetHashes,
    Column::SetMeta,
    Column::RangeLeaves,
    Column::RangeHashes,
];

/// Why a set upload failed. `Store` errors are retryable by uploading again; the others mean the
/// set itself is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetStoreError {
    #[error("invalid set: {0}")]
    Invalid(#[from] SetError),
    #[error("set leaves must be whole 72-byte leaves; {0} bytes left over")]
    PartialLeaf(usize),
    #[error("set hashes to {computed}, not the claimed root {claimed}")]
    RootMismatch { claimed: Digest, computed: Digest },
    /// A leaf's metadata is longer than [`MAX_META_LEN`].
    #[error("metadata of leaf {index} is {len} bytes, over the {MAX_META_LEN}-byte limit")]
    MetaTooLarge { index: u64, len: usize },
    /// A leaf's metadata does not hash to the leaf's `meta` digest.
    #[error("metadata of leaf {index} does not hash to the leaf's meta digest")]
    MetaMismatch { index: u64 },
    /// A leaf's metadata is not the `{"sources":[...]}` object manifests carry.
    #[error("metadata of leaf {index}: {cause}")]
    MetaInvalid {
        index: u64,
        #[source]
        cause: MetaError,
    },
    /// Some leaves came with metadata and others without: all or none.
    #[error("leaf {index} has metadata and another has none (all or none)")]
    MetaMixed { index: u64 },
    #[error("no stored set with root {0}")]
    UnknownSet(Digest),
    /// A passage-tree upload's bytes end inside a 64-byte leaf.
    #[error("passage leaves must be whole 64-byte leaves; {0} bytes left over")]
    PartialPassageLeaf(usize),
    /// A passage leaf that is not 64 bytes (passage id ‖ content id).
    #[error("a passage leaf is 64 bytes, not {0}")]
    PassageLeafLength(usize),
    /// The upload already ended on an earlier error; start a new one.
    #[error("the upload ended on an earlier error")]
    UploadEnded,
    /// The store's free space is below the floor: nothing more of this upload was written;
    /// upload again once space is freed.
    #[error("free space ({available} bytes) is below the floor ({floor} bytes)")]
    NoSpace { available: u64, floor: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A committed set: its root, its internal id and its number of leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetInfo {
    pub root: Digest,
    pub id: u64,
    pub size: TreeSize,
}

/// Stored sets of one ledger. Cheap to share (`Arc` inside); many uploads may run at once.
#[derive(Clone)]
pub struct SetStore {
    pub(super) store: Arc<dyn LogStore>,
    next_id: Arc<AtomicU64>,
    /// Held from "is this root already stored?" to the commit's durable write, so that two
    /// uploads of the same set cannot both commit (the loser's records would be orphaned).
    pub(super) commit_lock: Arc<Mutex<()>>,
    naming: Arc<Mutex<()>>,
    /// The free-space floor (0: none); see [`SetStore::with_min_free_bytes`].
    pub(super) min_free_bytes: u64,
    /// Who hashes full leaves records, and what was hashed where ([`super::setdevice`]).
    ingest: Arc<IngestHashing>,
}

/// What one collection pass did ([`SetStore::collect_unnamed`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Collected {
    /// The sets deleted: old enough and named by no entry.
    pub removed: Vec<Digest>,
    /// Old sets found named by an entry: their stored-time record is dropped, so they are never
    /// looked at again (an entry, once logged, names its sets forever).
    pub named: u64,
}

impl std::fmt::Debug for SetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetStore").finish_non_exhaustive()
    }
}

impl SetStore {
    /// Opens the set store, deleting records staged by uploads that never committed (a crash or
    /// a dropped writer): they are unreachable, since no root names their set id.
    pub fn open(store: Arc<dyn LogStore>) -> Result<Self, StoreError> {
        let mut next = 0u64;
        if let Some((k, _)) = store.last_in_range(
            Column::Meta,
            keys::META_SET_PREFIX,
            &keys::prefix_end(keys::META_SET_PREFIX).unwrap_or_default(),
        )? {
            let id = keys::read_u64(&k[keys::META_SET_PREFIX.len()..])
                .ok_or_else(|| StoreError::corrupt(Column::Meta, "set marker key"))?;
            next = next.max(id + 1);
        }
        // Passage trees (issue 14) take their ids from the same counter.
        if let Some((k, _)) = store.last_in_range(
            Column::Meta,
            keys::META_PASSAGES_PREFIX,
            &keys::prefix_end(keys::META_PASSAGES_PREFIX).unwrap_or_default(),
        )? {
            let id = keys::read_u64(&k[keys::META_PASSAGES_PREFIX.len()..])
                .ok_or_else(|| StoreError::corrupt(Column::Meta, "passages marker key"))?;
            next = next.max(id + 1);
        }
        let mut gc = WriteBatch::new();
        // Scratch records belong to uploads in progress, and none is at open.
        if !store
            .range(Column::SourceScratch, &[], &[0xff; 9], 1)?
            .is_empty()
        {
            gc.delete_range(Column::SourceScratch, vec![], vec![0xff; 9]);
        }
        for col in PER_SET_COLUMNS {
            let mut id = 0u64;
            while let Some((k, _)) = store
                .range(col, &id.to_be_bytes(), &[0xff; 17], 1)?
                .into_iter()
                .next()
            {
                id = keys::read_u64(&k).ok_or_else(|| StoreError::corrupt(col, "set key"))?;
                next = next.max(id + 1);
                // Committed: a set's marker, or (range records only) a passage tree's.
                let committed = store.get(Column::Meta, &meta_set_key(id))?.is_some()
                    || (matches!(col, Column::RangeLeaves | Column::RangeHashes)
                        && store
                            .get(Column::Meta, &keys::meta_passages_key(id))?
                            .is_some());
                if !committed {
                    gc.delete_range(
                        col,
                        id.to_be_bytes().to_vec(),
                        (id + 1).to_be_bytes().to_vec(),
                    );
                }
                match id.checked_add(1) {
                    Some(n) => id = n,
                    None => break,
                }
            }
        }
        if !gc.is_empty() {
            // Crash here: the staged records are still unreachable; the next open deletes them.
            store.write(gc, Durability::Synced)?;
        }
        Ok(SetStore {
            commit_lock: Arc::new(Mutex::new(())),
            naming: Arc::new(Mutex::new(())),
            store,
            next_id: Arc::new(AtomicU64::new(next)),
            min_free_bytes: 0,
            ingest: Arc::new(IngestHashing::default()),
        })
    }

    /// Hands the leaf hashing of full records to `device`, many records a call, for every
    /// upload started from now on ([`super::setdevice`]: its answers are checked, and a wrong
    /// one disables it). Set once: `false` (and nothing changed) if a device was already set.
    pub fn set_record_roots(&self, device: Arc<dyn RecordRoots>) -> bool {
        self.ingest.set(
            device,
            Arc::new(setdevice::random_record) as Arc<setdevice::RecordPicker>,
        )
    }

    /// [`SetStore::set_record_roots`] with the spot check's record chosen by `pick` (of a batch
    /// of `k` records) instead of at random: for tests that need to know which record is
    /// checked. A picker the device can predict lets it lie, unseen, on every other record.
    pub fn set_record_roots_with_picker(
        &self,
        device: Arc<dyn RecordRoots>,
        pick: Arc<setdevice::RecordPicker>,
    ) -> bool {
        self.ingest.set(device, pick)
    }

    /// What set ingest hashed where since the store was opened.
    pub fn ingest_stats(&self) -> IngestStats {
        self.ingest.stats()
    }

    /// Held by the sequencer from checking that the sets an entry names are stored until the
    /// entry is durable, and by set collection while it decides and deletes: a set named by an
    /// accepted entry is never collected.
    pub fn naming_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.naming.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Uploads refuse to write (with [`SetStoreError::NoSpace`]) while the store reports fewer
    /// free bytes than `floor`: the same floor as the log's
    /// ([`crate::sequencer::SequencerConfig::min_free_bytes`]), so that sets never fill the disk
    /// the log needs.
    pub fn with_min_free_bytes(mut self, floor: u64) -> Self {
        self.min_free_bytes = floor;
        self
    }

    /// Deletes every set stored (or last uploaded again) at or before `stored_before` (unix
    /// seconds) that `is_named` says no logged entry names. Sets without a stored-time record
    /// (stored before this version) are never looked at. Each set is decided and deleted under
    /// [`SetStore::naming_lock`] and the commit lock, so that neither an entry naming it nor an
    /// upload of the same root can slip in between.
    pub fn collect_unnamed(
        &self,
        stored_before: u64,
        is_named: impl Fn(&Digest) -> Result<bool, StoreError>,
    ) -> Result<Collected, StoreError> {
        let mut out = Collected::default();
        let end = keys::prefix_end(keys::META_SET_STORED_PREFIX).unwrap_or_default();
        let mut at = keys::META_SET_STORED_PREFIX.to_vec();
        loop {
            let rows = self.store.range(Column::Meta, &at, &end, 256)?;
            let Some((last, _)) = rows.last() else {
                break;
            };
            at = [last.as_slice(), &[0]].concat();
            for (k, v) in rows {
                let stored = keys::read_u64(&v)
                    .ok_or_else(|| StoreError::corrupt(Column::Meta, "set stored time"))?;
                if stored > stored_before {
                    continue;
                }
                let id = keys::read_u64(&k[keys::META_SET_STORED_PREFIX.len()..])
                    .ok_or_else(|| StoreError::corrupt(Column::Meta, "set stored key"))?;
                self.collect_one(id, stored_before, &is_named, &mut out)?;
            }
        }
        Ok(out)
    }

    /// Decides and deletes set `id`, holding both locks (naming first, as the sequencer does).
    fn collect_one(
        &self,
        id: u64,
        stored_before: u64,
        is_named: &impl Fn(&Digest) -> Result<bool, StoreError>,
        out: &mut Collected,
    ) -> Result<(), StoreError> {
        let _naming = self.naming_lock();
        let _commit = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
        // Read again under the locks: an upload of the same root may have refreshed it.
        let Some(v) = self.store.get(Column::Meta, &meta_set_stored_key(id))? else {
            return Ok(());
        };
        if keys::read_u64(&v).is_none_or(|t| t > stored_before) {
            return Ok(());
        }
        let mut b = WriteBatch::new();
        b.delete(Column::Meta, meta_set_stored_key(id));
        let root = self
            .store
            .get(Column::Meta, &meta_set_key(id))?
            .and_then(|r| Digest::from_slice(&r).ok());
        match root {
            Some(root) if is_named(&root)? => out.named += 1,
            Some(root) => {
                b.delete(Column::SetRoots, set_root_key(&root).to_vec());
                b.delete(Column::Meta, meta_set_key(id));
                b.delete(Column::Meta, meta_set_stats_key(id));
                delete_derived(&*self.store, id, &mut b)?;
                delete_records(id, &mut b);
                out.removed.push(root);
            }
            // A stored-time record without a committed set: nothing to keep it for.
            None => {}
        }
        // Durable step, one atomic batch. Crash before: the set is whole and is decided again
        // at the next pass. Crash after: it is gone entirely (root, marker, records, metadata,
        // statistics, source tree, time).
        self.store.write(b, Durability::Synced)
    }

    /// A set or passage-tree id never used before in this store.
    pub(super) fn fresh_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts an upload. Nothing is visible until [`SetWriter::commit`].
    pub fn writer(&self) -> SetWriter {
        SetWriter {
            ingest: self.ingest.clone(),
            device: self.ingest.active(),
            pending: Vec::new(),
            pending_first: 0,
            closed: vec![0],
            store: self.store.clone(),
            commit_lock: self.commit_lock.clone(),
            id: self.fresh_id(),
            count: 0,
            last: None,
            carry: Vec::new(),
            levels: vec![Vec::with_capacity(CHUNK * SetLeaf::LEN)],
            staged: WriteBatch::new(),
            staged_records: 0,
            staged_bytes: 0,
            meta: None,
            committed: false,
            min_free_bytes: self.min_free_bytes,
        }
    }

    /// The committed set with this root, if any.
    pub fn info(&self, root: &Digest) -> Result<Option<SetInfo>, StoreError> {
        let Some(v) = self.store.get(Column::SetRoots, &set_root_key(root))? else {
            return Ok(None);
        };
        let (Some(id), Some(size)) = (keys::read_u64(&v), v.get(8..).and_then(keys::read_u64))
        else {
            return Err(StoreError::corrupt(Column::SetRoots, "set root record"));
        };
        Ok(Some(SetInfo {
            root: *root,
            id,
            size: TreeSize(size),
        }))
    }

    /// A [`SetSource`] over a stored set, for `crate::set` proofs. It caches the records it
    /// reads, so use one per proof (or per batch of proofs) and drop it.
    pub fn source(&self, root: &Digest) -> Result<StoredSet, SetStoreError> {
        let info = self.info(root)?.ok_or(SetStoreError::UnknownSet(*root))?;
        Ok(StoredSet::new(self.store.clone(), info))
    }

    /// Whether `cid` is in the stored set with `root`.
    pub fn contains(&self, root: &Digest, cid: &ContentId) -> Result<bool, SetStoreError> {
        let src = self.source(root)?;
        Ok(src.position(cid).map_err(SetStoreError::Invalid)?.is_ok())
    }

    /// Whether the set `root` was stored with its leaves' metadata (a `manifest` upload with
    /// metadata): then [`SetStore::leaves_with_meta`] returns it and [`SetStore::stats`] exists.
    pub fn has_meta(&self, root: &Digest) -> Result<bool, StoreError> {
        Ok(self.stats(root)?.is_some())
    }

    /// The statistics derived from the set's metadata at commit; `None` for a set stored
    /// without metadata (or unknown).
    pub fn stats(&self, root: &Digest) -> Result<Option<SetStats>, StoreError> {
        let Some(info) = self.info(root)? else {
            return Ok(None);
        };
        let Some(v) = self.store.get(Column::Meta, &meta_set_stats_key(info.id))? else {
            return Ok(None);
        };
        serde_json::from_slice(&v)
            .map(Some)
            .map_err(|_| StoreError::corrupt(Column::Meta, "set statistics record"))
    }

    /// Leaves `[start, start + count)` of a stored set with each leaf's canonical metadata
    /// (`None` throughout for a set stored without metadata).
    #[allow(clippy::type_complexity)]
    pub fn leaves_with_meta(
        &self,
        root: &Digest,
        start: u64,
        count: usize,
    ) -> Result<Vec<(SetLeaf, Option<Vec<u8>>)>, SetStoreError> {
        let src = self.source(root)?;
        let leaves = self.leaves(root, start, count)?;
        let mut out = Vec::with_capacity(leaves.len());
        let id = src.info.id;
        let first = set_meta_key(id, start);
        let end = set_meta_key(id, start.saturating_add(leaves.len() as u64));
        let mut metas = self
            .store
            .range(Column::SetMeta, &first, &end, leaves.len())?
            .into_iter()
            .peekable();
        for (i, leaf) in leaves.into_iter().enumerate() {
            let key = set_meta_key(id, start + i as u64);
            let meta = match metas.peek() {
                Some((k, _)) if k[..] == key[..] => metas.next().map(|(_, v)| v),
                _ => None,
            };
            out.push((leaf, meta));
        }
        Ok(out)
    }

    /// The source tree derived from the set's metadata: its root and size; `None` for a set
    /// stored without metadata (or unknown).
    pub fn sources(&self, root: &Digest) -> Result<Option<(Digest, u64)>, StoreError> {
        let Some(info) = self.info(root)? else {
            return Ok(None);
        };
        self.sources_of(info.id)
    }

    fn sources_of(&self, id: u64) -> Result<Option<(Digest, u64)>, StoreError> {
        let Some(v) = self
            .store
            .get(Column::Meta, &keys::meta_set_sources_key(id))?
        else {
            return Ok(None);
        };
        match (
            v.get(..32).and_then(|r| Digest::from_slice(r).ok()),
            v.get(32..).and_then(keys::read_u64),
        ) {
            (Some(r), Some(n)) => Ok(Some((r, n))),
            _ => Err(StoreError::corrupt(Column::Meta, "set sources record")),
        }
    }

    /// The set's source tree as a [`verifier::range::RangeSource`] (for `range_proof`), with
    /// its root and size; `None` for a set stored without metadata.
    pub fn source_tree(
        &self,
        root: &Digest,
    ) -> Result<Option<(StoredRange, Digest, u64)>, StoreError> {
        let Some(info) = self.info(root)? else {
            return Ok(None);
        };
        Ok(self
            .sources_of(info.id)?
            .map(|(r, n)| (StoredRange::new(self.store.clone(), info.id, n), r, n)))
    }

    /// Leaf `index` of the stored set `root` and its metadata.
    pub fn leaf_meta(&self, root: &Digest, index: u64) -> Result<Option<Vec<u8>>, SetStoreError> {
        let info = self.info(root)?.ok_or(SetStoreError::UnknownSet(*root))?;
        Ok(self
            .store
            .get(Column::SetMeta, &set_meta_key(info.id, index))?)
    }

    /// Leaves `[start, start + count)` of a stored set (fewer at its end), for publishing.
    pub fn leaves(
        &self,
        root: &Digest,
        start: u64,
        count: usize,
    ) -> Result<Vec<SetLeaf>, SetStoreError> {
        let src = self.source(root)?;
        let end = src.info.size.0.min(start.saturating_add(count as u64));
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        for i in start..end {
            out.push(src.leaf(LeafIndex(i))?);
        }
        Ok(out)
    }
}

/// An upload in progress. Dropping it without committing discards it (best effort; a crash is
/// cleaned up at the next open).
pub struct SetWriter {
    ingest: Arc<IngestHashing>,
    /// The store's [`RecordRoots`] and the records to gather for it, while this upload uses it.
    device: Option<(Arc<dyn RecordRoots>, usize)>,
    /// Full leaves records not yet hashed, gathered for the device (whole records).
    pending: Vec<u8>,
    /// The record number of the first record in `pending`.
    pending_first: u64,
    /// `closed[i]`: entries added to `levels[i]` so far (leaves, or nodes of level `8i`): the
    /// record numbers, which lag `count` while records wait in `pending`.
    closed: Vec<u64>,
    store: Arc<dyn LogStore>,
    commit_lock: Arc<Mutex<()>>,
    id: u64,
    count: u64,
    last: Option<ContentId>,
    /// Bytes of a leaf split across `push_bytes` calls.
    carry: Vec<u8>,
    /// `levels[0]`: leaf bytes of the current leaves record; `levels[i]`: hashes of level `8i`.
    levels: Vec<Vec<u8>>,
    staged: WriteBatch,
    staged_records: usize,
    /// Bytes of metadata in `staged`.
    staged_bytes: usize,
    /// `None` until the first leaf; then whether leaves carry metadata (all or none), and the
    /// statistics built from it.
    meta: Option<Option<StatsBuilder>>,
    committed: bool,
    min_free_bytes: u64,
}

impl SetWriter {
    /// Appends the next leaf with its metadata, the canonical JSON (RFC 8785) whose BLAKE3 is
    /// the leaf's `meta` (docs/format-manifest.md). The metadata is staged under this upload's
    /// set id with the leaves: it becomes visible with the set at commit, and is discarded with
    /// it. Every leaf of a set has metadata, or none has.
    pub fn push_with_meta(&mut self, leaf: &SetLeaf, meta: &[u8]) -> Result<(), SetStoreError> {
        let index = self.count;
        if meta.len() > MAX_META_LEN {
            return Err(SetStoreError::MetaTooLarge {
                index,
                len: meta.len(),
            });
        }
        if verifier::set::meta::meta_digest(Some(meta)) != leaf.meta {
            return Err(SetStoreError::MetaMismatch { index });
        }
        let parsed =
            LeafMeta::parse(meta).map_err(|cause| SetStoreError::MetaInvalid { index, cause })?;
        match &self.meta {
            None => self.meta = Some(Some(StatsBuilder::new())),
            Some(None) => return Err(SetStoreError::MetaMixed { index }),
            Some(Some(_)) => {}
        }
        self.push_leaf(leaf)?;
        if let Some(Some(stats)) = &mut self.meta {
            stats.add_leaf(leaf.size, &parsed);
        }
        self.staged
            .put(Column::SetMeta, set_meta_key(self.id, index).to_vec(), meta);
        self.staged_bytes += meta.len() + 16;
        // The leaf's source leaves (`LeafMeta::source_keys`: one per distinct source key), into
        // the scratch column that RocksDB sorts: by source leaf for the source tree, by host for
        // the statistics.
        let keys = parsed.source_keys();
        let size = leaf.size.to_be_bytes().to_vec();
        for key in keys {
            let sl = RangeLeaf::source(&key, &leaf.cid);
            let k = keys::source_scratch_key(self.id, keys::SCRATCH_TREE, &[], sl.as_bytes());
            self.staged_bytes += k.len() + 8;
            self.staged.put(Column::SourceScratch, k, size.clone());
            if let Some(host) = key.host() {
                let k = keys::source_scratch_key(
                    self.id,
                    keys::SCRATCH_HOSTS,
                    host.as_bytes(),
                    sl.as_bytes(),
                );
                self.staged_bytes += k.len() + 8;
                self.staged.put(Column::SourceScratch, k, size.clone());
            }
        }
        if self.staged_bytes >= META_BYTES_PER_WRITE {
            self.flush_staged()?;
        }
        Ok(())
    }

    /// Appends leaves given as concatenated 72-byte leaves, split anywhere.
    pub fn push_bytes(&mut self, mut bytes: &[u8]) -> Result<(), SetStoreError> {
        if !self.carry.is_empty() {
            let need = SetLeaf::LEN - self.carry.len();
            let take = need.min(bytes.len());
            self.carry.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.carry.len() < SetLeaf::LEN {
                return Ok(());
            }
            let mut b = [0u8; 72];
            b.copy_from_slice(&self.carry);
            self.carry.clear();
            self.push(&SetLeaf::from_bytes(&b))?;
        }
        let mut chunks = bytes.chunks_exact(SetLeaf::LEN);
        for c in &mut chunks {
            let mut b = [0u8; 72];
            b.copy_from_slice(c);
            self.push(&SetLeaf::from_bytes(&b))?;
        }
        self.carry.extend_from_slice(chunks.remainder());
        Ok(())
    }

    /// Appends the next leaf; it must sort strictly after the previous one.
    pub fn push(&mut self, leaf: &SetLeaf) -> Result<(), SetStoreError> {
        match &self.meta {
            None => self.meta = Some(None),
            Some(Some(_)) => return Err(SetStoreError::MetaMixed { index: self.count }),
            Some(None) => {}
        }
        self.push_leaf(leaf)
    }

    fn push_leaf(&mut self, leaf: &SetLeaf) -> Result<(), SetStoreError> {
        let index = self.count;
        if let Some(last) = &self.last {
            match last.cmp(&leaf.cid) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Err(SetError::Duplicate { index }.into()),
                std::cmp::Ordering::Greater => return Err(SetError::NotSorted { index }.into()),
            }
        }
        self.last = Some(leaf.cid);
        self.levels[0].extend_from_slice(&leaf.to_bytes());
        self.count += 1;
        self.closed[0] += 1;
        if self.count.is_multiple_of(CHUNK as u64) {
            self.close_leaves()?;
        }
        Ok(())
    }

    /// Leaves pushed so far.
    pub fn size(&self) -> TreeSize {
        TreeSize(self.count)
    }

    /// Checks the root and commits the set, or discards it. Committing a set whose root is
    /// already stored is not an error: the existing set is returned (its stored time refreshed,
    /// if it has one) and this upload discarded.
    pub fn commit(self, claimed: &Digest) -> Result<SetInfo, SetStoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.commit_at(claimed, now)
    }

    /// [`SetWriter::commit`], recording `now` (unix seconds) as the time the set was stored.
    pub fn commit_at(mut self, claimed: &Digest, now: u64) -> Result<SetInfo, SetStoreError> {
        if !self.carry.is_empty() {
            let left = self.carry.len();
            self.discard_staged();
            return Err(SetStoreError::PartialLeaf(left));
        }
        // Full records still waiting for the device, then the partial records of every level:
        // they hold the complete subtrees not yet in a full one.
        self.flush_pending()?;
        let records = std::mem::take(&mut self.levels);
        for (i, rec) in records.iter().enumerate() {
            if !rec.is_empty() {
                let chunk = self.closed[i] / CHUNK as u64;
                self.stage_record(i, chunk, rec.clone());
            }
        }
        self.flush_staged()?;
        let info = SetInfo {
            root: *claimed,
            id: self.id,
            size: TreeSize(self.count),
        };
        let computed = StoredSet::new(self.store.clone(), info).root()?;
        if computed != *claimed {
            self.discard_staged();
            return Err(SetStoreError::RootMismatch {
                claimed: *claimed,
                computed,
            });
        }
        // With metadata: the source tree and the statistics, from the sorted scratch records,
        // outside the commit lock (this reads the whole scratch once).
        let derived = match self.meta.take() {
            Some(Some(stats)) => match self.derive(stats) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.discard_staged();
                    return Err(e);
                }
            },
            _ => None,
        };
        // A poisoned lock only means another commit panicked; the check below still holds.
        let lock = self.commit_lock.clone();
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let existing = SetStore {
            store: self.store.clone(),
            next_id: Arc::new(AtomicU64::new(0)),
            commit_lock: self.commit_lock.clone(),
            naming: Arc::new(Mutex::new(())),
            min_free_bytes: self.min_free_bytes,
            ingest: self.ingest.clone(),
        }
        .info(claimed)?;
        // A root stored without metadata is replaced by an upload of it with metadata: else
        // anyone who stored the bare leaves first (they are public once published) could keep
        // the publisher's metadata, and so its source tree, out of the ledger.
        let mut replaces = None;
        if let Some(existing) = existing {
            let has_meta = self
                .store
                .get(Column::Meta, &meta_set_stats_key(existing.id))?
                .is_some();
            if derived.is_some() && !has_meta {
                replaces = Some(existing);
            }
        }
        if let (Some(existing), None) = (existing, replaces) {
            self.discard_staged();
            // Uploaded again: it is wanted now, so its collection clock starts again. A set with
            // no record (stored before records existed, or already found named) gets none.
            let stored = meta_set_stored_key(existing.id);
            if self.store.get(Column::Meta, &stored)?.is_some() {
                let mut b = WriteBatch::new();
                b.put(Column::Meta, stored, now.to_be_bytes().to_vec());
                self.store.write(b, Durability::Synced)?;
            }
            return Ok(existing);
        }
        let mut b = WriteBatch::new();
        let mut v = self.id.to_be_bytes().to_vec();
        v.extend_from_slice(&self.count.to_be_bytes());
        b.put(Column::SetRoots, set_root_key(claimed).to_vec(), v);
        b.put(Column::Meta, meta_set_key(self.id), claimed.0.to_vec());
        if let Some((stats, root, size)) = derived {
            let stats = serde_json::to_vec(&stats)
                .map_err(|_| StoreError::corrupt(Column::Meta, "set statistics record"))?;
            b.put(Column::Meta, meta_set_stats_key(self.id), stats);
            let mut v = root.0.to_vec();
            v.extend_from_slice(&size.to_be_bytes());
            b.put(Column::Meta, keys::meta_set_sources_key(self.id), v);
            b.put(
                Column::RangeRoots,
                keys::range_root_key(&root, self.id).to_vec(),
                size.to_be_bytes().to_vec(),
            );
        }
        let (s, e) = (
            self.id.to_be_bytes().to_vec(),
            (self.id + 1).to_be_bytes().to_vec(),
        );
        b.delete_range(Column::SourceScratch, s, e);
        if let Err(e) = self.check_space() {
            self.discard_staged();
            return Err(e);
        }
        // A replaced set keeps its standing: collectable (with a fresh clock) only if it was.
        let collectable = match replaces {
            Some(old) => {
                b.delete(Column::Meta, meta_set_key(old.id));
                let old_stored = meta_set_stored_key(old.id);
                let had = self.store.get(Column::Meta, &old_stored)?.is_some();
                b.delete(Column::Meta, old_stored);
                had
            }
            None => true,
        };
        if collectable {
            b.put(
                Column::Meta,
                meta_set_stored_key(self.id),
                now.to_be_bytes().to_vec(),
            );
        }
        // Durable step. Crash before: no root names the id; the staged records (leaves, hashes,
        // metadata, source tree, scratch) are deleted at the next open. Crash after: the set is
        // committed, with its metadata, statistics and source tree (same batch), and its
        // scratch records are gone. Replacing a set stored without metadata: crash before, the
        // old set stands; crash after, the root names the new id, and the old id's records,
        // which no marker names any more, are deleted at the next open (readers holding the
        // old set meanwhile keep reading it). The sync also makes every earlier deferred
        // (staged) record durable, since they precede it in the write-ahead log.
        // Whatever this write returns, Drop must not delete the records: an error may come
        // after the batch persisted (the set is then committed and its records needed); if it
        // did not persist, they are unreachable and the next open deletes them.
        self.committed = true;
        self.store.write(b, Durability::Synced)?;
        Ok(info)
    }

    /// Streams the sorted scratch records: the source leaves into the source tree (staged under
    /// this set id), the host records into the statistics. Returns the statistics and the
    /// source tree's root and size. Memory: one page of scratch records and the tree writer's
    /// partial records.
    fn derive(
        &mut self,
        mut stats: StatsBuilder,
    ) -> Result<(SetStats, Digest, u64), SetStoreError> {
        self.flush_staged_store()?;
        let mut tree = RangeWriter::new(self.store.clone(), self.id, self.min_free_bytes);
        self.scan_scratch(keys::SCRATCH_TREE, |leaf, size| {
            let leaf = RangeLeaf::new(leaf.to_vec())
                .map_err(|_| StoreError::corrupt(Column::SourceScratch, "source leaf"))?;
            if leaf.as_bytes().first() == Some(&0) {
                stats.add_no_source(size);
            }
            tree.push(&leaf)
        })?;
        let size = tree.finish()?.0;
        self.scan_scratch(keys::SCRATCH_HOSTS, |rest, size| {
            let end = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| StoreError::corrupt(Column::SourceScratch, "host record"))?;
            let host = std::str::from_utf8(&rest[..end])
                .map_err(|_| StoreError::corrupt(Column::SourceScratch, "host record"))?;
            stats.add_host_leaf(host, size);
            Ok(())
        })?;
        let root = StoredRange::new(self.store.clone(), self.id, size).root()?;
        Ok((stats.finish(), root, size))
    }

    /// Calls `f(rest of key, size)` on every scratch record of this set under `tag`, in key
    /// order, a page at a time.
    fn scan_scratch(
        &self,
        tag: u8,
        mut f: impl FnMut(&[u8], u64) -> Result<(), SetStoreError>,
    ) -> Result<(), SetStoreError> {
        let prefix = [&self.id.to_be_bytes()[..], &[tag]].concat();
        let end = keys::prefix_end(&prefix).unwrap_or_else(|| vec![0xff; prefix.len() + 1]);
        let mut at = prefix.clone();
        loop {
            let rows = self.store.range(Column::SourceScratch, &at, &end, 4096)?;
            let Some((last, _)) = rows.last() else {
                return Ok(());
            };
            at = [last.as_slice(), &[0]].concat();
            for (k, v) in &rows {
                let size = keys::read_u64(v)
                    .ok_or_else(|| StoreError::corrupt(Column::SourceScratch, "size"))?;
                f(&k[prefix.len()..], size)?;
            }
        }
    }

    /// Writes what is staged (deferred), whatever its size.
    fn flush_staged_store(&mut self) -> Result<(), StoreError> {
        if self.staged.is_empty() {
            return Ok(());
        }
        let b = std::mem::take(&mut self.staged);
        self.staged_records = 0;
        self.staged_bytes = 0;
        self.store.write(b, Durability::Deferred)
    }

    /// The leaves record is full: hash it now, or gather it for the device and hand the
    /// device a batch once there are enough.
    fn close_leaves(&mut self) -> Result<(), SetStoreError> {
        let Some((_, batch)) = &self.device else {
            return self.close_record(0);
        };
        let batch = *batch;
        if self.pending.is_empty() {
            self.pending_first = self.closed[0] / CHUNK as u64 - 1;
        }
        self.pending.extend_from_slice(&self.levels[0]);
        self.levels[0].clear();
        if self.pending.len() >= batch * RECORD_BYTES {
            self.flush_pending()?;
        }
        Ok(())
    }

    /// Hashes the gathered records (on the device, checked, or on the CPU), then stages them and
    /// pushes their roots up in order, under their own record numbers.
    fn flush_pending(&mut self) -> Result<(), SetStoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let first = self.pending_first;
        let roots: Vec<Digest> = match self.device.clone() {
            Some((device, _)) if !self.ingest.disabled() => {
                let (roots, answer) = self.ingest.roots(device.as_ref(), &pending, first);
                // Declined: not worth it for this upload; refused: the store disabled it.
                if matches!(answer, Answer::Declined | Answer::Refused) {
                    self.device = None;
                }
                roots
            }
            _ => {
                self.device = None;
                self.ingest.on_cpu(pending.len() / RECORD_BYTES);
                pending
                    .chunks_exact(RECORD_BYTES)
                    .map(setdevice::record_root)
                    .collect()
            }
        };
        for (j, (rec, root)) in pending.chunks_exact(RECORD_BYTES).zip(roots).enumerate() {
            self.record_closed(0, first + j as u64, rec.to_vec(), root)?;
        }
        if self.device.is_some() {
            self.pending = pending;
            self.pending.clear();
        }
        Ok(())
    }

    /// Level `8 * i`'s current record is full: stage it and push its root one level up.
    fn close_record(&mut self, i: usize) -> Result<(), SetStoreError> {
        let rec = std::mem::take(&mut self.levels[i]);
        let top = if i == 0 {
            self.ingest.on_cpu(1);
            setdevice::record_root(&rec)
        } else {
            let hashes: Vec<Digest> = rec.chunks_exact(32).map(digest_at).collect();
            merkle::root::<Blake3Set>(&hashes)
        };
        let chunk = self.closed[i] / CHUNK as u64 - 1;
        self.record_closed(i, chunk, rec, top)
    }

    /// Stages record `chunk` of level `8 * i`, whose root is `top`, and pushes `top` one level
    /// up (closing that level's record when it is full).
    fn record_closed(
        &mut self,
        i: usize,
        chunk: u64,
        rec: Vec<u8>,
        top: Digest,
    ) -> Result<(), SetStoreError> {
        self.stage_record(i, chunk, rec);
        if self.levels.len() == i + 1 {
            self.levels.push(Vec::with_capacity(CHUNK * 32));
            self.closed.push(0);
        }
        self.levels[i + 1].extend_from_slice(&top.0);
        self.closed[i + 1] += 1;
        if self.levels[i + 1].len() == CHUNK * 32 {
            self.close_record(i + 1)?;
        }
        if self.staged_records >= RECORDS_PER_WRITE {
            self.flush_staged()?;
        }
        Ok(())
    }

    fn stage_record(&mut self, i: usize, chunk: u64, rec: Vec<u8>) {
        if i == 0 {
            self.staged.put(
                Column::SetLeaves,
                set_leaves_key(self.id, chunk).to_vec(),
                rec,
            );
        } else {
            let key = set_hashes_key(self.id, (8 * i) as u8, chunk);
            self.staged.put(Column::SetHashes, key.to_vec(), rec);
        }
        self.staged_records += 1;
    }

    fn flush_staged(&mut self) -> Result<(), SetStoreError> {
        if self.staged.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.check_space() {
            self.discard_staged();
            return Err(e);
        }
        let b = std::mem::take(&mut self.staged);
        self.staged_records = 0;
        self.staged_bytes = 0;
        // Deferred: staged records mean nothing until the commit record names this set id.
        Ok(self.store.write(b, Durability::Deferred)?)
    }

    /// The free-space floor, checked before every write of the upload.
    fn check_space(&self) -> Result<(), SetStoreError> {
        let floor = self.min_free_bytes;
        if floor == 0 {
            return Ok(());
        }
        match self.store.available_bytes()? {
            Some(available) if available < floor => {
                Err(SetStoreError::NoSpace { available, floor })
            }
            _ => Ok(()),
        }
    }

    fn discard_staged(&mut self) {
        self.staged = WriteBatch::new();
        self.committed = true; // nothing left for Drop to do
        let mut b = WriteBatch::new();
        delete_records(self.id, &mut b);
        let (s, e) = (
            self.id.to_be_bytes().to_vec(),
            (self.id + 1).to_be_bytes().to_vec(),
        );
        b.delete_range(Column::SourceScratch, s, e);
        // Best effort: if this fails, the next open deletes the unreachable records.
        let _ = self.store.write(b, Durability::Deferred);
    }
}

impl Drop for SetWriter {
    fn drop(&mut self) {
        if !self.committed {
            self.discard_staged();
        }
    }
}

/// Deletes every record stored under set `id` in the per-set columns.
fn delete_records(id: u64, b: &mut WriteBatch) {
    let (s, e) = (id.to_be_bytes().to_vec(), (id + 1).to_be_bytes().to_vec());
    for col in PER_SET_COLUMNS {
        b.delete_range(col, s.clone(), e.clone());
    }
}

/// Deletes the records derived from set `id`'s metadata that live outside its id range: the
/// source-tree record and its `range_roots` row.
fn delete_derived(store: &dyn LogStore, id: u64, b: &mut WriteBatch) -> Result<(), StoreError> {
    let key = keys::meta_set_sources_key(id);
    if let Some(v) = store.get(Column::Meta, &key)? {
        if let Some(root) = v.get(..32).and_then(|r| Digest::from_slice(r).ok()) {
            b.delete(Column::RangeRoots, keys::range_root_key(&root, id).to_vec());
        }
        b.delete(Column::Meta, key);
    }
    Ok(())
}

fn digest_at(b: &[u8]) -> Digest {
    let mut d = [0u8; 32];
    d.copy_from_slice(&b[..32]);
    Digest(d)
}

type HashRecord = Rc<Vec<Digest>>;
type LeafRecord = Rc<Vec<u8>>;

/// Records a [`StoredSet`] (and `ranges.rs`'s `StoredRange`) keeps of each kind (leaves, hashes)
/// before it forgets them all: at most ~18 MiB of leaf records (a set's are 18,432 bytes) and
/// 8 MiB of hashes, however many proofs one source serves (without it, a set of 5 × 10^7
/// leaves kept open for 200,000 proofs grew to 4.7 GiB: docs/performance.md, "Big sets").
pub(super) const MAX_CACHED_RECORDS: usize = 1024;

/// A stored set as a [`SetSource`]: nodes computed from one record each, records cached (a
/// bounded number: [`MAX_CACHED_RECORDS`] of each kind).
pub struct StoredSet {
    store: Arc<dyn LogStore>,
    info: SetInfo,
    cache: RefCell<HashMap<(u8, u64), HashRecord>>,
    leaves: RefCell<HashMap<u64, LeafRecord>>,
}

impl StoredSet {
    fn new(store: Arc<dyn LogStore>, info: SetInfo) -> Self {
        StoredSet {
            store,
            info,
            cache: RefCell::new(HashMap::new()),
            leaves: RefCell::new(HashMap::new()),
        }
    }

    pub fn info(&self) -> SetInfo {
        self.info
    }

    /// Records held in the cache now (leaves and hashes), for tests of its bound.
    pub fn cached_records(&self) -> usize {
        self.cache.borrow().len() + self.leaves.borrow().len()
    }

    /// The root recomputed from the stored records.
    pub fn root(&self) -> Result<Digest, SetStoreError> {
        if self.info.size.0 == 0 {
            return Ok(Blake3Set::empty_root());
        }
        Ok(self.range_root(0, self.info.size.0)?)
    }

    fn leaf_record(&self, chunk: u64) -> Result<Rc<Vec<u8>>, StoreError> {
        if let Some(r) = self.leaves.borrow().get(&chunk) {
            return Ok(r.clone());
        }
        let key = set_leaves_key(self.info.id, chunk);
        let rec = self
            .store
            .get(Column::SetLeaves, &key)?
            .ok_or_else(|| StoreError::corrupt(Column::SetLeaves, "missing leaves record"))?;
        let rec = Rc::new(rec);
        let mut leaves = self.leaves.borrow_mut();
        if leaves.len() >= MAX_CACHED_RECORDS {
            leaves.clear();
        }
        leaves.insert(chunk, rec.clone());
        Ok(rec)
    }

    /// The hashes of record `chunk` of level `base` (a multiple of 8).
    fn hash_record(&self, base: u8, chunk: u64) -> Result<Rc<Vec<Digest>>, StoreError> {
        if let Some(r) = self.cache.borrow().get(&(base, chunk)) {
            return Ok(r.clone());
        }
        let hashes: Vec<Digest> = if base == 0 {
            self.leaf_record(chunk)?
                .chunks_exact(SetLeaf::LEN)
                .map(Blake3Set::leaf_hash)
                .collect()
        } else {
            let key = set_hashes_key(self.info.id, base, chunk);
            self.store
                .get(Column::SetHashes, &key)?
                .ok_or_else(|| StoreError::corrupt(Column::SetHashes, "missing hash record"))?
                .chunks_exact(32)
                .map(digest_at)
                .collect()
        };
        let hashes = Rc::new(hashes);
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= MAX_CACHED_RECORDS {
            cache.clear();
        }
        cache.insert((base, chunk), hashes.clone());
        Ok(hashes)
    }

    /// The root of the complete subtree `index` of `level`, from one record.
    fn complete_node(&self, level: u32, index: u64) -> Result<Digest, StoreError> {
        stored_complete_node(level, index, Column::SetHashes, |base, chunk| {
            self.hash_record(base, chunk)
        })
    }

    /// The root of leaves `[lo, hi)`, `lo` aligned as in the tree's recursion.
    fn range_root(&self, lo: u64, hi: u64) -> Result<Digest, StoreError> {
        stored_range_root(lo, hi, |level, index| self.complete_node(level, index))
    }
}

/// The root of the complete subtree `index` of `level` of a tree stored as this module stores
/// sets (and `ranges.rs` range trees): records of [`CHUNK`] hashes every 8 levels, record
/// `chunk` of level `base` read by `record(base, chunk)`.
pub(super) fn stored_complete_node(
    level: u32,
    index: u64,
    column: Column,
    record: impl FnOnce(u8, u64) -> Result<Rc<Vec<Digest>>, StoreError>,
) -> Result<Digest, StoreError> {
    let base = level / 8 * 8;
    let d = level - base;
    let first = index << d;
    let rec = record(base as u8, first / CHUNK as u64)?;
    let off = (first % CHUNK as u64) as usize;
    let slice = rec
        .get(off..off + (1usize << d))
        .ok_or_else(|| StoreError::corrupt(column, "short hash record"))?;
    Ok(merkle::root::<Blake3Set>(slice))
}

/// The RFC 6962 root of leaves `[lo, hi)` where `lo` is aligned as in the tree's recursion:
/// its maximal aligned complete subtrees (`node(level, index)`), folded right to left.
pub(super) fn stored_range_root(
    mut lo: u64,
    hi: u64,
    node: impl Fn(u32, u64) -> Result<Digest, StoreError>,
) -> Result<Digest, StoreError> {
    let mut parts = Vec::with_capacity(64);
    while lo < hi {
        let mut level = if lo == 0 { 63 } else { lo.trailing_zeros() };
        while level > 0 && lo + (1u64 << level) > hi {
            level -= 1;
        }
        parts.push(node(level, lo >> level)?);
        lo += 1u64 << level;
    }
    let mut it = parts.into_iter().rev();
    let Some(mut acc) = it.next() else {
        return Ok(Blake3Set::empty_root());
    };
    for left in it {
        acc = Blake3Set::node_hash(&left, &acc);
    }
    Ok(acc)
}

fn source_err(e: StoreError) -> SetError {
    SetError::Source(e.to_string())
}

impl SetSource for StoredSet {
    fn size(&self) -> TreeSize {
        self.info.size
    }

    fn leaf(&self, index: LeafIndex) -> Result<SetLeaf, SetError> {
        let rec = self
            .leaf_record(index.0 / CHUNK as u64)
            .map_err(source_err)?;
        let off = (index.0 % CHUNK as u64) as usize * SetLeaf::LEN;
        let b: &[u8; 72] = rec
            .get(off..off + SetLeaf::LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| SetError::Source("short leaves record".into()))?;
        Ok(SetLeaf::from_bytes(b))
    }

    fn node(&self, level: u32, index: u64) -> Result<Digest, SetError> {
        let lo = index.checked_shl(level).filter(|&lo| lo < self.info.size.0);
        let Some(lo) = lo else {
            return Err(SetError::Source(format!("no node ({level}, {index})")));
        };
        let hi = lo
            .saturating_add(1u64 << level.min(63))
            .min(self.info.size.0);
        if hi - lo == 1u64 << level.min(63) {
            self.complete_node(level, index).map_err(source_err)
        } else {
            self.range_root(lo, hi).map_err(source_err)
        }
    }

    #[allow(clippy::type_complexity)] // the trait's signature (crate::set)
    fn position(&self, id: &ContentId) -> Result<Result<u64, u64>, SetError> {
        // Binary search over records by their first leaf, then within one record.
        let n = self.info.size.0;
        let records = n.div_ceil(CHUNK as u64);
        let (mut lo, mut hi) = (0u64, records);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.leaf(LeafIndex(mid * CHUNK as u64))?.cid <= *id {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        // Record lo - 1 is the last whose first leaf is <= id.
        let Some(rec) = lo.checked_sub(1) else {
            return Ok(Err(0));
        };
        let (mut a, mut b) = (rec * CHUNK as u64, ((rec + 1) * CHUNK as u64).min(n));
        while a < b {
            let mid = a + (b - a) / 2;
            match self.leaf(LeafIndex(mid))?.cid.cmp(id) {
                std::cmp::Ordering::Less => a = mid + 1,
                std::cmp::Ordering::Greater => b = mid,
                std::cmp::Ordering::Equal => return Ok(Ok(mid)),
            }
        }
        Ok(Err(a))
    }
}
