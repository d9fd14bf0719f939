//! Storage behind a trait: the durable log, its tree hashes, signed checkpoints, indexes and
//! stored sets, as ordered key-value records in named columns.
//!
//! [`LogStore`] is deliberately small (get, ordered range, atomic write, sync) so that it has two
//! honest implementations — [`MemoryStore`] for unit tests and verifiers, and `RocksStore`
//! (feature `rocksdb`) for a ledger directory — and so that tests can wrap it to inject faults at
//! every durable step. What the records mean (key layouts) lives in [`keys`], documented byte by
//! byte in `docs/storage.md`; the append path is in [`crate::sequencer`], sets in [`sets`], the
//! cross-entry rules and query indexes in [`index`].

pub mod index;
pub mod keyfile;
// Record layouts are the ledger's own: nothing outside it decodes a key (the service reads through
// `Ledger`'s typed queries). Public, hidden, only for the integration tests and benches that
// plant records byte for byte to simulate damage or writes behind the sequencer's back
// (ledger/tests, cli/tests/audit.rs, ledger/benches/store.rs).
pub mod admission;
#[doc(hidden)]
pub mod keys;
pub mod log;
pub mod memory;
pub mod passages;
pub mod ranges;
#[cfg(feature = "rocksdb")]
pub mod rocks;
mod rules;
pub mod setdevice;
pub mod sets;
pub mod stats;

pub use memory::MemoryStore;
#[cfg(feature = "rocksdb")]
pub use rocks::RocksStore;

/// A named group of records with its own key space (a RocksDB column family).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Column {
    /// Ledger metadata: format version, origin, verifier key, durable tree size.
    Meta,
    /// Log entries by index.
    Entries,
    /// Log tree hashes (every complete subtree) by level and index.
    Hashes,
    /// Signed checkpoints by tree size.
    Checkpoints,
    /// Cross-entry rules and query indexes (publishers, dataset versions, opt-outs, ...).
    Index,
    /// Committed sets: root to set id and size.
    SetRoots,
    /// Set leaves, 256 per record.
    SetLeaves,
    /// Set subtree hashes at levels 8, 16, 24, ..., 256 per record.
    SetHashes,
    /// A stored manifest's metadata: the canonical JSON of each leaf's `meta`, by set id and
    /// leaf index.
    SetMeta,
    /// Scratch space of an upload in progress: its source leaves, which RocksDB sorts, by set
    /// id. Emptied at commit (and at open).
    SourceScratch,
    /// Range-tree leaves (the source tree of a set), variable length, 256 per record.
    RangeLeaves,
    /// Range-tree subtree hashes at levels 8, 16, 24, ..., 256 per record.
    RangeHashes,
    /// Range-tree roots: root || owning set id -> size.
    RangeRoots,
}

impl Column {
    pub const ALL: [Column; 13] = [
        Column::Meta,
        Column::Entries,
        Column::Hashes,
        Column::Checkpoints,
        Column::Index,
        Column::SetRoots,
        Column::SetLeaves,
        Column::SetHashes,
        Column::SetMeta,
        Column::SourceScratch,
        Column::RangeLeaves,
        Column::RangeHashes,
        Column::RangeRoots,
    ];

    /// The column family's name on disk. Never change one: it is part of the format.
    pub fn name(self) -> &'static str {
        match self {
            Column::Meta => "meta",
            Column::Entries => "entries",
            Column::Hashes => "hashes",
            Column::Checkpoints => "checkpoints",
            Column::Index => "index",
            Column::SetRoots => "set_roots",
            Column::SetLeaves => "set_leaves",
            Column::SetHashes => "set_hashes",
            Column::SetMeta => "set_meta",
            Column::SourceScratch => "source_scratch",
            Column::RangeLeaves => "range_leaves",
            Column::RangeHashes => "range_hashes",
            Column::RangeRoots => "range_roots",
        }
    }

    pub(crate) fn ordinal(self) -> usize {
        match self {
            Column::Meta => 0,
            Column::Entries => 1,
            Column::Hashes => 2,
            Column::Checkpoints => 3,
            Column::Index => 4,
            Column::SetRoots => 5,
            Column::SetLeaves => 6,
            Column::SetHashes => 7,
            Column::SetMeta => 8,
            Column::SourceScratch => 9,
            Column::RangeLeaves => 10,
            Column::RangeHashes => 11,
            Column::RangeRoots => 12,
        }
    }
}

/// A key and its value, as ranges return them.
pub type Record = (Vec<u8>, Vec<u8>);

/// One change in a [`WriteBatch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Put(Column, Vec<u8>, Vec<u8>),
    Delete(Column, Vec<u8>),
    /// Deletes every key `k` with `start <= k < end`.
    DeleteRange(Column, Vec<u8>, Vec<u8>),
}

/// Changes applied all together or not at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    pub ops: Vec<Op>,
}

impl WriteBatch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&mut self, col: Column, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(Op::Put(col, key.into(), value.into()));
    }

    pub fn delete(&mut self, col: Column, key: impl Into<Vec<u8>>) {
        self.ops.push(Op::Delete(col, key.into()));
    }

    pub fn delete_range(
        &mut self,
        col: Column,
        start: impl Into<Vec<u8>>,
        end: impl Into<Vec<u8>>,
    ) {
        self.ops
            .push(Op::DeleteRange(col, start.into(), end.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }
}

/// How durable a write must be when [`LogStore::write`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// On stable storage (fsync'd) before returning. Every step of the append path uses this.
    Synced,
    /// Applied and visible to readers, but durable only after a later `Synced` write or
    /// [`LogStore::sync`]. Used for staged set chunks, which mean nothing until a synced commit
    /// record names them.
    Deferred,
}

/// A storage failure. Reads that fail may be retried; a failed write is fatal to the writer that
/// issued it (see [`crate::sequencer`]): the store's state is then unknown until reopened.
///
/// Causes are kept typed (the OS's `io::Error`, RocksDB's error) so that callers classify a
/// failure by its kind, never by its text, and so that the text, which may name paths and
/// internals, is logged by the service and never sent to a client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An operating-system I/O error.
    #[error("storage i/o error")]
    Io(#[source] std::io::Error),
    /// An error reported by RocksDB (not classified as [`StoreError::Full`]).
    #[cfg(feature = "rocksdb")]
    #[error("rocksdb error")]
    Rocks(#[source] rocksdb::Error),
    /// The filesystem holding the store is full: the cause is the error the write returned,
    /// recognised by its kind (`ErrorKind::StorageFull`) or by free space re-checked after it.
    #[error("storage is full")]
    Full(#[source] Box<StoreError>),
    #[error("corrupt record in {column}: {what}")]
    Corrupt { column: &'static str, what: String },
    /// A lock inside the store was poisoned by a panicking thread.
    #[error("storage lock poisoned")]
    Poisoned,
}

impl StoreError {
    pub(crate) fn corrupt(col: Column, what: impl Into<String>) -> Self {
        StoreError::Corrupt {
            column: col.name(),
            what: what.into(),
        }
    }

    /// Whether this is a full filesystem (the write may succeed once space is freed).
    pub fn is_full(&self) -> bool {
        matches!(self, StoreError::Full(_))
    }
}

/// An `io::Error` of kind `StorageFull` (ENOSPC, EDQUOT) is [`StoreError::Full`].
impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull {
            StoreError::Full(Box::new(StoreError::Io(e)))
        } else {
            StoreError::Io(e)
        }
    }
}

/// Ordered key-value storage for one ledger.
///
/// Contract, which every implementation keeps and every caller may rely on:
/// - **Durable on return.** When `write(_, Durability::Synced)` or `sync` returns `Ok`, the
///   changes (and every earlier `Deferred` one) survive a crash or power loss. A batch is atomic:
///   after a crash either all of its changes are present or none is.
/// - **One writer.** The ledger's append path (the sequencer) is the only writer of the log
///   columns; set uploads write only their own staging keys. The store does not arbitrate
///   concurrent writers to the same keys.
/// - **Safe for concurrent readers.** `get` and `range` may be called from any thread at any
///   time, and see either all or none of a batch.
///
/// When a write returns `Err`, the caller must assume nothing about whether it persisted.
pub trait LogStore: Send + Sync {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Several `get`s at once, answers in the order asked. Proofs and tiles read dozens of
    /// hashes per call; a store with a multi-get (RocksDB) overrides this.
    fn get_many(&self, col: Column, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        keys.iter().map(|k| self.get(col, k)).collect()
    }

    /// Records with `start <= key < end` in key order, at most `limit` of them.
    fn range(
        &self,
        col: Column,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;

    /// The record with the largest key in `start <= key < end`, if any.
    fn last_in_range(
        &self,
        col: Column,
        start: &[u8],
        end: &[u8],
    ) -> Result<Option<Record>, StoreError>;

    /// Applies `batch` atomically with the given durability.
    fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), StoreError>;

    /// Makes every write so far durable.
    fn sync(&self) -> Result<(), StoreError>;

    /// Bytes free for this store's writes (on the filesystem that holds it), or `None` when the
    /// store cannot tell (memory). Writers compare it with a floor and refuse work below it
    /// *before* writing, so that a full disk never fails a durable write half-way
    /// ([`crate::sequencer::SequencerConfig::min_free_bytes`]).
    fn available_bytes(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
}

impl<T: LogStore + ?Sized> LogStore for std::sync::Arc<T> {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(col, key)
    }
    fn get_many(&self, col: Column, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        (**self).get_many(col, keys)
    }
    fn range(
        &self,
        col: Column,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        (**self).range(col, start, end, limit)
    }
    fn last_in_range(
        &self,
        col: Column,
        start: &[u8],
        end: &[u8],
    ) -> Result<Option<Record>, StoreError> {
        (**self).last_in_range(col, start, end)
    }
    fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), StoreError> {
        (**self).write(batch, durability)
    }
    fn sync(&self) -> Result<(), StoreError> {
        (**self).sync()
    }
    fn available_bytes(&self) -> Result<Option<u64>, StoreError> {
        (**self).available_bytes()
    }
}
