//! [`Ledger`]: one ledger directory, everything the HTTP service calls.
//!
//! A directory holds `ledger.key` (the checkpoint signing key, mode 0600) and `db/` (the RocksDB
//! database). [`Ledger::create`] and [`Ledger::open`] are separate: create refuses a directory
//! that has anything in it, open refuses one that is not a complete ledger or whose key does not
//! verify its stored checkpoints. Neither ever turns one into the other.
//!
//! `Ledger` is `Send + Sync` and clones cheaply (an `Arc`). Every method blocks on storage (reads
//! take microseconds; [`Ledger::submit`] waits for a batch to be integrated and signed, a few
//! milliseconds): call them from `spawn_blocking` in an async service, or use
//! [`Ledger::submit_with`] with a oneshot channel ([`Ledger::submit_entry_with`] for an entry the
//! caller already decoded, which the sequencer then does not decode or verify again).

#[cfg(feature = "rocksdb")]
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

use crate::note::{NoteSigner, VerifierKey};
use crate::sequencer::{
    self, Receipt, Sequencer, SequencerConfig, StartError, SubmitError, WriteFailure,
};
use crate::set::{self, SetMembershipProof};
use crate::store::index::{self, Rejection};
#[cfg(feature = "rocksdb")]
use crate::store::keyfile;
use crate::store::keyfile::KeyFileError;
use crate::store::keys;
use crate::store::log::{self, CachedHashes, ReadError, SignedCheckpoint};
use crate::store::passages::PassageWriter;
use crate::store::sets::{Collected, SetStore, SetStoreError, SetWriter};
use crate::store::{Column, Durability, LogStore, StoreError, WriteBatch};
use crate::tile::{EntryBundleId, TileId};
use crate::types::{ContentId, Digest, LeafIndex, TreeSize};

/// The key file's name inside a ledger directory.
pub const KEY_FILE: &str = "ledger.key";
/// The database's directory inside a ledger directory.
pub const DB_DIR: &str = "db";

/// Why a ledger could not be created or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error("{0} is not empty; refusing to create a ledger there")]
    NotEmpty(PathBuf),
    #[error("{path} is not a ledger: {why}")]
    NotALedger { path: PathBuf, why: &'static str },
    /// The database exists but RocksDB would not open it (damaged, locked by another process,
    /// not a database).
    #[error("{path} is not a ledger: cannot open the database")]
    OpenDatabase {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error("ledger format {found} is not supported (this build reads {supported})")]
    Format { found: u32, supported: u32 },
    #[error("the key does not match this ledger")]
    KeyMismatch(#[source] KeyMismatch),
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Start(StartError),
}

/// How a key does not match a ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyMismatch {
    #[error("the ledger's key is {stored}, the key file's is {file}")]
    VerifierKey { stored: String, file: String },
    #[error("the stored checkpoint is not signed by this key")]
    Checkpoint(#[source] crate::checkpoint::CheckpointError),
}

impl From<StartError> for LedgerError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::KeyMismatch(why) => LedgerError::KeyMismatch(KeyMismatch::Checkpoint(why)),
            other => LedgerError::Start(other),
        }
    }
}

/// A ledger: the log, its sequencer, its sets and indexes.
#[derive(Clone, Debug)]
pub struct Ledger {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn LogStore>,
    sequencer: Sequencer,
    sets: SetStore,
    vkey: VerifierKey,
    shared: Arc<sequencer::Shared>,
    hashes: CachedHashes,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("origin", &self.vkey.name())
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Creates a ledger named `origin` in `dir` (created if missing, refused if not empty):
    /// a new key file and a new database holding the origin, the verifier key and a signed
    /// checkpoint of the empty tree.
    #[cfg(feature = "rocksdb")]
    pub fn create(
        dir: &Path,
        origin: &str,
        config: SequencerConfig,
    ) -> Result<Ledger, LedgerError> {
        let io = |source| LedgerError::Io {
            path: dir.to_path_buf(),
            source,
        };
        match std::fs::read_dir(dir) {
            Ok(mut it) => {
                if it.next().is_some() {
                    return Err(LedgerError::NotEmpty(dir.to_path_buf()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            Err(e) => return Err(io(e)),
        }
        // Crash after the key file but before the database's format record (below): open
        // reports "not a ledger" and the directory must be removed by hand before creating again.
        let signer = keyfile::generate(&dir.join(KEY_FILE), origin)?;
        let store = crate::store::RocksStore::create(&dir.join(DB_DIR))?;
        Self::create_with_store(Arc::new(store), signer, config)
    }

    /// Opens the ledger in `dir`.
    #[cfg(feature = "rocksdb")]
    pub fn open(dir: &Path, config: SequencerConfig) -> Result<Ledger, LedgerError> {
        let not = |why: &'static str| LedgerError::NotALedger {
            path: dir.to_path_buf(),
            why,
        };
        if !dir.is_dir() {
            return Err(not("no such directory"));
        }
        if !dir.join(DB_DIR).is_dir() {
            return Err(not("no db/ directory"));
        }
        if !dir.join(KEY_FILE).is_file() {
            return Err(not("no ledger.key"));
        }
        let signer = keyfile::read(&dir.join(KEY_FILE))?;
        let store = crate::store::RocksStore::open(&dir.join(DB_DIR)).map_err(|source| {
            LedgerError::OpenDatabase {
                path: dir.to_path_buf(),
                source,
            }
        })?;
        Self::open_with_store(Arc::new(store), signer, config).map_err(|e| match e {
            LedgerError::NotALedger { why, .. } => not(why),
            other => other,
        })
    }

    /// Creates a ledger in an empty `store` (a [`crate::store::MemoryStore`] in tests).
    pub fn create_with_store(
        store: Arc<dyn LogStore>,
        signer: NoteSigner,
        config: SequencerConfig,
    ) -> Result<Ledger, LedgerError> {
        if store.get(Column::Meta, keys::META_FORMAT)?.is_some() {
            return Err(LedgerError::NotEmpty(PathBuf::from("<store>")));
        }
        let mut b = WriteBatch::new();
        b.put(
            Column::Meta,
            keys::META_ORIGIN.to_vec(),
            signer.name().as_bytes().to_vec(),
        );
        let vkey = signer.verifier_key().to_string();
        b.put(Column::Meta, keys::META_VKEY.to_vec(), vkey.into_bytes());
        b.put(
            Column::Meta,
            keys::META_TREE_SIZE.to_vec(),
            0u64.to_be_bytes().to_vec(),
        );
        b.put(
            Column::Meta,
            keys::META_FORMAT.to_vec(),
            keys::FORMAT_VERSION.to_be_bytes().to_vec(),
        );
        // Durable step: the format record makes the store a ledger. Crash before: no ledger.
        // Crash after: an empty ledger whose first checkpoint is signed by the next open.
        store.write(b, Durability::Synced)?;
        Self::open_with_store(store, signer, config)
    }

    /// Opens the ledger in `store`, checking its format and that `signer` is its key.
    pub fn open_with_store(
        store: Arc<dyn LogStore>,
        signer: NoteSigner,
        config: SequencerConfig,
    ) -> Result<Ledger, LedgerError> {
        let not = |why: &'static str| LedgerError::NotALedger {
            path: PathBuf::from("<store>"),
            why,
        };
        let format = store
            .get(Column::Meta, keys::META_FORMAT)?
            .ok_or_else(|| not("no format record (never created, or creation crashed)"))?;
        let format = <[u8; 4]>::try_from(format.as_slice())
            .map(u32::from_be_bytes)
            .map_err(|_| not("malformed format record"))?;
        if format != keys::FORMAT_VERSION {
            return Err(LedgerError::Format {
                found: format,
                supported: keys::FORMAT_VERSION,
            });
        }
        let stored_vkey = store
            .get(Column::Meta, keys::META_VKEY)?
            .ok_or_else(|| not("no verifier key record"))?;
        let vkey = signer.verifier_key();
        if stored_vkey != vkey.to_string().as_bytes() {
            return Err(LedgerError::KeyMismatch(KeyMismatch::VerifierKey {
                stored: String::from_utf8_lossy(&stored_vkey).into_owned(),
                file: vkey.to_string(),
            }));
        }
        let min_free_bytes = config.min_free_bytes;
        let sets = SetStore::open(store.clone())?.with_min_free_bytes(min_free_bytes);
        let sequencer = Sequencer::start(store.clone(), sets.clone(), signer, config)?;
        let shared = sequencer.shared();
        let store_for_cache = store.clone();
        Ok(Ledger {
            inner: Arc::new(Inner {
                store,
                sequencer,
                sets,
                vkey,
                shared,
                hashes: CachedHashes::new(store_for_cache),
            }),
        })
    }

    /// Submits an entry and blocks until it is integrated and covered by a signed checkpoint.
    pub fn submit(&self, entry: Vec<u8>) -> Result<Receipt, SubmitError> {
        self.inner.sequencer.submit(entry)
    }

    /// Submits an entry; `reply` is called once with the outcome and must not block.
    pub fn submit_with(
        &self,
        entry: Vec<u8>,
        reply: impl FnOnce(Result<Receipt, SubmitError>) + Send + 'static,
    ) {
        self.inner.sequencer.submit_with(entry, reply)
    }

    /// Submits an entry already decoded and checked (see [`Sequencer::submit_entry_with`]): it
    /// is not parsed or verified again. Blocks like [`Ledger::submit`].
    pub fn submit_entry(&self, entry: crate::entry::Entry) -> Result<Receipt, SubmitError> {
        self.inner.sequencer.submit_entry(entry)
    }

    /// [`Ledger::submit_entry`] with a `reply` called once with the outcome; it must not block.
    pub fn submit_entry_with(
        &self,
        entry: crate::entry::Entry,
        reply: impl FnOnce(Result<Receipt, SubmitError>) + Send + 'static,
    ) {
        self.inner.sequencer.submit_entry_with(entry, reply)
    }

    /// Why the ledger stopped accepting entries, if a durable write failed.
    pub fn fatal(&self) -> Option<Arc<WriteFailure>> {
        self.inner.sequencer.fatal()
    }

    /// The latest signed checkpoint (what `/checkpoint` serves, in `.note`).
    pub fn checkpoint(&self) -> Arc<SignedCheckpoint> {
        sequencer::latest_of(&self.inner.shared)
    }

    /// The log's verifier key (C2SP vkey).
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.inner.vkey
    }

    /// The origin (the log's name).
    pub fn origin(&self) -> &str {
        self.inner.vkey.name()
    }

    /// A tile or entry bundle by its C2SP path (`tile/<L>/<N>[.p/<W>]` or
    /// `tile/entries/<N>[.p/<W>]`), byte for byte, if the latest checkpoint's tree contains it.
    pub fn tile(&self, path: &str) -> Result<Vec<u8>, ReadError> {
        if path.starts_with("tile/entries/") {
            self.entry_bundle(EntryBundleId::parse_path(path)?)
        } else {
            self.hash_tile(TileId::parse_path(path)?)
        }
    }

    pub fn hash_tile(&self, id: TileId) -> Result<Vec<u8>, ReadError> {
        log::hash_tile(&*self.inner.store, self.checkpoint().size(), id)
    }

    pub fn entry_bundle(&self, id: EntryBundleId) -> Result<Vec<u8>, ReadError> {
        log::entry_bundle(&*self.inner.store, self.checkpoint().size(), id)
    }

    /// Entry `index`, if the latest checkpoint covers it.
    pub fn entry(&self, index: LeafIndex) -> Result<Option<Vec<u8>>, StoreError> {
        if index.0 >= self.checkpoint().size().0 {
            return Ok(None);
        }
        log::entry(&*self.inner.store, index)
    }

    /// The inclusion proof of `index` in the tree of `size` (at most the latest checkpoint's).
    pub fn inclusion_proof(
        &self,
        index: LeafIndex,
        size: TreeSize,
    ) -> Result<Vec<Digest>, ReadError> {
        self.check_size(size)?;
        Ok(crate::tree::inclusion_proof(
            size,
            index,
            &self.inner.hashes,
        )?)
    }

    /// The consistency proof from `old` to `new` (at most the latest checkpoint's size).
    pub fn consistency_proof(
        &self,
        old: TreeSize,
        new: TreeSize,
    ) -> Result<Vec<Digest>, ReadError> {
        self.check_size(new)?;
        Ok(crate::tree::consistency_proof(
            old,
            new,
            &self.inner.hashes,
        )?)
    }

    /// The checkpoint signed at exactly `size`, if one was.
    pub fn checkpoint_at(&self, size: TreeSize) -> Result<Option<String>, StoreError> {
        log::checkpoint_note_at(&*self.inner.store, size)
    }

    /// The set store: uploads and stored sets.
    pub fn sets(&self) -> &SetStore {
        &self.inner.sets
    }

    /// Starts a set upload (see [`SetWriter`]).
    pub fn set_writer(&self) -> SetWriter {
        self.inner.sets.writer()
    }

    /// Starts a passage-tree upload (see [`PassageWriter`]).
    pub fn passage_writer(&self) -> PassageWriter {
        self.inner.sets.passage_writer()
    }

    /// Whether a logged entry names the passage tree `root` (a `dataset_version`'s or an
    /// `optout`'s `passages`; index tag `0x09`). Hold [`SetStore::naming_lock`] from this
    /// question to a deletion.
    pub fn passages_is_named(&self, root: &Digest) -> Result<bool, StoreError> {
        let prefix = [&[index::TAG_PASSAGES_NAMED][..], &root.0].concat();
        Ok(!index::indexes_under(&*self.inner.store, &prefix, None, 1)?.is_empty())
    }

    /// Deletes the stored passage trees older than `older_than` that no logged entry names.
    /// See [`SetStore::collect_unnamed_passages`].
    pub fn collect_unnamed_passages(
        &self,
        older_than: std::time::Duration,
    ) -> Result<Collected, StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let Some(stored_before) = now.checked_sub(older_than.as_secs()) else {
            return Ok(Collected::default());
        };
        self.inner
            .sets
            .collect_unnamed_passages(stored_before, |root| self.passages_is_named(root))
    }

    /// Deletes the stored sets older than `older_than` that no logged entry names (sets stored
    /// before stored times were recorded are never deleted). See [`SetStore::collect_unnamed`].
    pub fn collect_unnamed_sets(
        &self,
        older_than: std::time::Duration,
    ) -> Result<Collected, StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let Some(stored_before) = now.checked_sub(older_than.as_secs()) else {
            return Ok(Collected::default());
        };
        self.inner
            .sets
            .collect_unnamed(stored_before, |root| self.set_is_named(root))
    }

    /// The inclusion or exclusion proof of `cid` in the stored set with `root`.
    pub fn set_proof(
        &self,
        root: &Digest,
        cid: &ContentId,
    ) -> Result<SetMembershipProof, SetStoreError> {
        let src = self.inner.sets.source(root)?;
        Ok(set::membership_proof(&src, cid)?)
    }

    /// The `dataset_version` entries whose manifest (a stored set) contains `cid`.
    pub fn dataset_versions_containing(
        &self,
        cid: &ContentId,
    ) -> Result<Vec<LeafIndex>, SetStoreError> {
        let store = &*self.inner.store;
        let mut out = Vec::new();
        let mut at = vec![index::TAG_SET_ROOT];
        let end = vec![index::TAG_SET_ROOT + 1];
        loop {
            let rows = store.range(Column::Index, &at, &end, 1)?;
            let Some((k, _)) = rows.into_iter().next() else {
                break;
            };
            let root = k
                .get(1..33)
                .and_then(|r| Digest::from_slice(r).ok())
                .ok_or_else(|| StoreError::corrupt(Column::Index, "set root key"))?;
            let prefix = [&[index::TAG_SET_ROOT][..], &root.0].concat();
            if self.inner.sets.info(&root)?.is_some() && self.inner.sets.contains(&root, cid)? {
                out.extend(index::indexes_under(store, &prefix, None, usize::MAX)?);
            }
            match keys::prefix_end(&prefix) {
                Some(next) => at = next,
                None => break,
            }
        }
        out.sort();
        Ok(out)
    }

    /// Whether a logged entry names the set `root`: as a manifest, an opt-out set or weights
    /// (index tag `0x08`, written since the acceptance rules of issue 11), or as the manifest of
    /// a dataset version logged before them (tag `0x06`). Sets that no entry names may be
    /// collected; hold [`SetStore::naming_lock`] from this question to the deletion.
    pub fn set_is_named(&self, root: &Digest) -> Result<bool, StoreError> {
        for tag in [index::TAG_SET_NAMED, index::TAG_SET_ROOT] {
            let prefix = [&[tag][..], &root.0].concat();
            if !index::indexes_under(&*self.inner.store, &prefix, None, 1)?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The opt-out entries, in log order, after `after`, at most `limit`.
    pub fn optouts(
        &self,
        after: Option<LeafIndex>,
        limit: usize,
    ) -> Result<Vec<LeafIndex>, StoreError> {
        index::indexes_under(&*self.inner.store, &[index::TAG_OPTOUT], after, limit)
    }

    /// The `model_checkpoint` entries of `publisher/model`, in log order.
    pub fn model_checkpoints(
        &self,
        publisher: &str,
        model: &str,
    ) -> Result<Vec<LeafIndex>, StoreError> {
        let prefix = index::model_prefix(publisher, model);
        index::indexes_under(&*self.inner.store, &prefix, None, usize::MAX)
    }

    /// The `dataset_version` entry of publisher/dataset/version, if logged.
    pub fn dataset_version(
        &self,
        publisher: &str,
        dataset: &str,
        version: &str,
    ) -> Result<Option<LeafIndex>, StoreError> {
        let k = index::dataset_version_key(publisher, dataset, version);
        let Some(v) = self.inner.store.get(Column::Index, &k)? else {
            return Ok(None);
        };
        keys::read_u64(&v)
            .map(|i| Some(LeafIndex(i)))
            .ok_or_else(|| StoreError::corrupt(Column::Index, "dataset version value"))
    }

    /// Every `dataset_version` entry of `publisher`: (dataset, version, entry index).
    pub fn dataset_versions(
        &self,
        publisher: &str,
    ) -> Result<Vec<(String, String, LeafIndex)>, StoreError> {
        let prefix = index::key(index::TAG_DATASET_VERSION, &[publisher.as_bytes()]);
        let end = keys::prefix_end(&prefix).unwrap_or_else(|| vec![0xff; prefix.len() + 1]);
        let rows = self
            .inner
            .store
            .range(Column::Index, &prefix, &end, usize::MAX)?;
        let mut out = Vec::with_capacity(rows.len());
        for (k, v) in rows {
            let parts = index::split_key(&k[1..])
                .filter(|p| p.len() == 3)
                .ok_or_else(|| StoreError::corrupt(Column::Index, "dataset version key"))?;
            let idx = keys::read_u64(&v)
                .ok_or_else(|| StoreError::corrupt(Column::Index, "dataset version value"))?;
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            out.push((s(parts[1]), s(parts[2]), LeafIndex(idx)));
        }
        Ok(out)
    }

    /// The key that owns publisher `name` and the entry that bound it last.
    pub fn publisher(&self, name: &str) -> Result<Option<([u8; 32], LeafIndex)>, StoreError> {
        let Some(v) = self
            .inner
            .store
            .get(Column::Index, &index::publisher_key(name))?
        else {
            return Ok(None);
        };
        let key: [u8; 32] = v
            .get(..32)
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| StoreError::corrupt(Column::Index, "publisher value"))?;
        let idx = v
            .get(32..)
            .and_then(keys::read_u64)
            .ok_or_else(|| StoreError::corrupt(Column::Index, "publisher value"))?;
        Ok(Some((key, LeafIndex(idx))))
    }

    /// The current key of every publisher name: the keys that own a name now (a replaced key
    /// is not among them). One scan of the publisher index, O(publishers): callers cache it
    /// (the service refreshes its copy at most once a second).
    pub fn publisher_keys(&self) -> Result<std::collections::HashSet<[u8; 32]>, StoreError> {
        let start = [index::TAG_PUBLISHER];
        let end = [index::TAG_PUBLISHER + 1];
        let rows = self
            .inner
            .store
            .range(Column::Index, &start, &end, usize::MAX)?;
        rows.into_iter()
            .map(|(_, v)| {
                v.get(..32)
                    .and_then(|k| <[u8; 32]>::try_from(k).ok())
                    .ok_or_else(|| StoreError::corrupt(Column::Index, "publisher value"))
            })
            .collect()
    }

    /// The publisher names whose current key is `key`, each with the entry that bound it last,
    /// in log order (a key may hold several names; a replaced key holds none). One scan of the
    /// publisher index, O(publishers).
    pub fn names_of_key(&self, key: &[u8; 32]) -> Result<Vec<(String, LeafIndex)>, StoreError> {
        let start = [index::TAG_PUBLISHER];
        let end = [index::TAG_PUBLISHER + 1];
        let rows = self
            .inner
            .store
            .range(Column::Index, &start, &end, usize::MAX)?;
        let mut names = Vec::new();
        for (k, v) in rows {
            if v.get(..32) != Some(key.as_slice()) {
                continue;
            }
            let name = k
                .get(1..)
                .and_then(index::split_key)
                .filter(|p| p.len() == 1)
                .and_then(|p| std::str::from_utf8(p[0]).ok().map(str::to_string))
                .ok_or_else(|| StoreError::corrupt(Column::Index, "publisher key"))?;
            let idx = v
                .get(32..)
                .and_then(keys::read_u64)
                .ok_or_else(|| StoreError::corrupt(Column::Index, "publisher value"))?;
            names.push((name, LeafIndex(idx)));
        }
        names.sort_by_key(|(_, i)| *i);
        Ok(names)
    }

    // Paged queries of the indexes: what the service lists. Each list is in index key order,
    // which does not change as the log grows, so a page's cursor (its last key) stays valid.

    /// A page of registered publishers, in index order (names are length-prefixed in the index:
    /// by name length, then bytewise), after `after` (from the previous page's `next`).
    pub fn publishers(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<PublisherRow>, QueryError> {
        self.index_page(&[index::TAG_PUBLISHER], after, limit, |k, v| {
            let corrupt = || StoreError::corrupt(Column::Index, "publisher record");
            let name = index::split_key(&k[1..])
                .filter(|p| p.len() == 1)
                .ok_or_else(corrupt)?[0];
            let key = v
                .get(..32)
                .and_then(|k| <[u8; 32]>::try_from(k).ok())
                .ok_or_else(corrupt)?;
            let idx = v.get(32..).and_then(keys::read_u64).ok_or_else(corrupt)?;
            Ok(PublisherRow {
                name: String::from_utf8_lossy(name).into_owned(),
                key,
                index: LeafIndex(idx),
            })
        })
    }

    /// A page of the `dataset_version` entries in `scope`, by publisher, dataset and version
    /// (length-prefixed names: by length, then bytewise), after `after`.
    pub fn dataset_version_page(
        &self,
        scope: DatasetScope<'_>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<DatasetVersionRow>, QueryError> {
        let prefix = match scope {
            DatasetScope::All => vec![index::TAG_DATASET_VERSION],
            DatasetScope::Publisher(p) => index::key(index::TAG_DATASET_VERSION, &[p.as_bytes()]),
            DatasetScope::Dataset { publisher, dataset } => index::key(
                index::TAG_DATASET_VERSION,
                &[publisher.as_bytes(), dataset.as_bytes()],
            ),
        };
        self.index_page(&prefix, after, limit, |k, v| {
            let corrupt = || StoreError::corrupt(Column::Index, "dataset version record");
            let parts = index::split_key(&k[1..])
                .filter(|p| p.len() == 3)
                .ok_or_else(corrupt)?;
            let idx = keys::read_u64(v).ok_or_else(corrupt)?;
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            Ok(DatasetVersionRow {
                publisher: s(parts[0]),
                dataset: s(parts[1]),
                version: s(parts[2]),
                index: LeafIndex(idx),
            })
        })
    }

    /// A page of the models with at least one `model_checkpoint` entry, by publisher then model
    /// (length-prefixed names), after `after`: one seek per model, then all of that model's
    /// checkpoint indexes (as [`Ledger::model_checkpoints`] reads them) to count them.
    pub fn models(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<ModelRow>, QueryError> {
        let store = &*self.inner.store;
        let tag = [index::TAG_MODEL_CHECKPOINT];
        let end = keys::prefix_end(&tag).unwrap_or_else(|| vec![0xff; 2]);
        let mut start = match after {
            None => tag.to_vec(),
            // A model's cursor is its key prefix: resume after every key under it.
            Some(c) if c.0.starts_with(&tag) => {
                keys::prefix_end(&c.0).ok_or(QueryError::BadCursor)?
            }
            Some(_) => return Err(QueryError::BadCursor),
        };
        let mut items = Vec::new();
        let mut last_prefix = None;
        let mut more = false;
        while start < end {
            let Some((k, _)) = store
                .range(Column::Index, &start, &end, 1)?
                .into_iter()
                .next()
            else {
                break;
            };
            if items.len() == limit {
                more = true;
                break;
            }
            let corrupt = || StoreError::corrupt(Column::Index, "model checkpoint record");
            let at = k
                .len()
                .checked_sub(8)
                .filter(|&at| at >= 1)
                .ok_or_else(corrupt)?;
            let names = index::split_key(&k[1..at])
                .filter(|p| p.len() == 2)
                .ok_or_else(corrupt)?;
            let model_prefix = k[..at].to_vec();
            let all = index::indexes_under(store, &model_prefix, None, usize::MAX)?;
            let latest = *all.last().ok_or_else(corrupt)?;
            items.push(ModelRow {
                publisher: String::from_utf8_lossy(names[0]).into_owned(),
                model: String::from_utf8_lossy(names[1]).into_owned(),
                checkpoints: all.len() as u64,
                latest,
            });
            match keys::prefix_end(&model_prefix) {
                Some(e) => start = e,
                None => break,
            }
            last_prefix = Some(model_prefix);
        }
        let next = if more { last_prefix.map(Cursor) } else { None };
        Ok(Page { items, next })
    }

    /// Every `model_checkpoint` entry, by publisher, model, then log index, at most `limit`
    /// (callers ask for one more than they will examine, to know whether they saw them all).
    pub fn checkpoint_entries(&self, limit: usize) -> Result<Vec<LeafIndex>, StoreError> {
        index::indexes_under(
            &*self.inner.store,
            &[index::TAG_MODEL_CHECKPOINT],
            None,
            limit,
        )
    }

    /// The stored tree hashes at `indexes` ([`crate::tree::stored_hash_index`]), read from the
    /// store (for a caller with its own cache of them).
    pub fn stored_hashes(&self, indexes: &[u64]) -> Result<Vec<Digest>, crate::tree::TreeError> {
        use crate::tree::HashReader as _;
        log::StoreHashes(&*self.inner.store).read_hashes(indexes)
    }

    /// The records under `prefix` in the index, `limit` at most, after `after` (a cursor of
    /// this same list: one outside `prefix` is refused), each decoded by `row`.
    fn index_page<T>(
        &self,
        prefix: &[u8],
        after: Option<&Cursor>,
        limit: usize,
        row: impl Fn(&[u8], &[u8]) -> Result<T, StoreError>,
    ) -> Result<Page<T>, QueryError> {
        let start = match after {
            None => prefix.to_vec(),
            Some(c) if c.0.starts_with(prefix) => [&c.0[..], &[0]].concat(), // the next key
            Some(_) => return Err(QueryError::BadCursor),
        };
        let end = keys::prefix_end(prefix).unwrap_or_else(|| vec![0xff; prefix.len() + 1]);
        let rows = self
            .inner
            .store
            .range(Column::Index, &start, &end, limit.saturating_add(1))?;
        let more = rows.len() > limit;
        let mut items = Vec::with_capacity(rows.len().min(limit));
        let mut last = None;
        for (k, v) in rows.into_iter().take(limit) {
            items.push(row(&k, &v)?);
            last = Some(k);
        }
        let next = if more { last.map(Cursor) } else { None };
        Ok(Page { items, next })
    }

    /// The store, for tests that plant or read records directly (the service reads through the
    /// typed queries above). Hidden: not part of the ledger's interface.
    #[doc(hidden)]
    pub fn store(&self) -> &Arc<dyn LogStore> {
        &self.inner.store
    }

    /// Stops the sequencer after integrating what is queued. Reads keep working.
    pub fn close(&self) {
        self.inner.sequencer.close()
    }

    fn check_size(&self, size: TreeSize) -> Result<(), ReadError> {
        let latest = self.checkpoint().size();
        if size > latest {
            return Err(ReadError::NotFound(format!(
                "tree size {size} is beyond the latest checkpoint {latest}"
            )));
        }
        Ok(())
    }
}

/// A refusal, re-exported for callers that match on it.
pub type EntryRejection = Rejection;

/// A position in one of [`Ledger`]'s paged lists, from a page's `next`: opaque to callers,
/// printed and parsed as lowercase hex. A list refuses a cursor that is not one of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor(Vec<u8>);

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl std::str::FromStr for Cursor {
    type Err = QueryError;

    fn from_str(s: &str) -> Result<Self, QueryError> {
        hex::decode(s)
            .map(Cursor)
            .map_err(|_| QueryError::BadCursor)
    }
}

/// One page of a list, and the cursor of the next (absent on the last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// Why a paged query failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The cursor is not hex, or not one of this list's.
    #[error("bad cursor")]
    BadCursor,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which dataset versions [`Ledger::dataset_version_page`] lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetScope<'a> {
    All,
    Publisher(&'a str),
    Dataset {
        publisher: &'a str,
        dataset: &'a str,
    },
}

/// A registered publisher: its name, the key bound to it, and the entry that bound it last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublisherRow {
    pub name: String,
    pub key: [u8; 32],
    pub index: LeafIndex,
}

/// A `dataset_version` entry, by its names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetVersionRow {
    pub publisher: String,
    pub dataset: String,
    pub version: String,
    pub index: LeafIndex,
}

/// A model: a publisher's model name with at least one `model_checkpoint` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelRow {
    pub publisher: String,
    pub model: String,
    /// How many `model_checkpoint` entries it has.
    pub checkpoints: u64,
    /// Its latest `model_checkpoint` entry.
    pub latest: LeafIndex,
}
