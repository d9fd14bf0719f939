//! Reading the durable log from a [`LogStore`]: entries, stored tree hashes (as a
//! [`HashReader`]), signed checkpoints, C2SP hash tiles and entry bundles, and proofs.
//!
//! Everything here is a read and safe to call from any thread while the sequencer appends. The
//! bytes served for a tile are a function of the tile path alone (tiles are immutable), and a
//! tile is only served if the tree of the given size contains it.

use crate::checkpoint::Checkpoint;
use crate::tile::{self, EntryBundleId, TileError, TileId, TILE_HEIGHT};
use crate::tree::{self, HashReader, TreeError};
use crate::types::{Digest, LeafIndex, TreeSize};

use super::keys::{self, checkpoint_key, entry_key, hash_key};
use super::{Column, LogStore, StoreError};

/// Why a read of the log failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The tile, bundle, entry or proof is not in the tree of the size asked about.
    #[error("not found: {0}")]
    NotFound(String),
    #[error(transparent)]
    Tile(#[from] TileError),
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A checkpoint as signed (the note text) and as parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// The signed note, byte for byte what `/checkpoint` serves.
    pub note: String,
}

impl SignedCheckpoint {
    pub fn size(&self) -> TreeSize {
        self.checkpoint.size
    }
}

/// The stored tree hashes of a store, as a [`HashReader`].
pub struct StoreHashes<'a>(pub &'a dyn LogStore);

impl HashReader for StoreHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Digest>, TreeError> {
        let keys: Vec<[u8; 8]> = indexes.iter().map(|&i| hash_key(i)).collect();
        let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let got = self
            .0
            .get_many(Column::Hashes, &refs)
            .map_err(|e| TreeError::Read(Box::new(e)))?;
        indexes
            .iter()
            .zip(got)
            .map(|(&i, v)| {
                let v = v.ok_or(TreeError::MissingHash { index: i })?;
                Digest::from_slice(&v).map_err(|e| TreeError::Read(Box::new(e)))
            })
            .collect()
    }
}

/// Stored hashes with a cache of the upper levels in front of the store: tree hashes never
/// change once written, and every proof of a log reads the same few upper-level nodes, so
/// proofs cost a handful of store reads instead of one per level. Levels at or above
/// [`CachedHashes::MIN_LEVEL`] are cached, at most [`CachedHashes::CAPACITY`] of them (then the
/// cache stops growing: still correct, just colder).
pub struct CachedHashes {
    store: std::sync::Arc<dyn LogStore>,
    cache: std::sync::RwLock<std::collections::HashMap<u64, Digest>>,
}

impl CachedHashes {
    pub const MIN_LEVEL: u8 = 4;
    pub const CAPACITY: usize = 1 << 20;

    pub fn new(store: std::sync::Arc<dyn LogStore>) -> Self {
        CachedHashes {
            store,
            cache: std::sync::RwLock::new(std::collections::HashMap::new()),
        }
    }
}

impl HashReader for CachedHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Digest>, TreeError> {
        let mut out: Vec<Option<Digest>> = match self.cache.read() {
            Ok(c) => indexes.iter().map(|i| c.get(i).copied()).collect(),
            Err(_) => vec![None; indexes.len()],
        };
        let missing: Vec<u64> = indexes
            .iter()
            .zip(&out)
            .filter(|(_, h)| h.is_none())
            .map(|(&i, _)| i)
            .collect();
        if missing.is_empty() {
            return Ok(out.into_iter().flatten().collect());
        }
        let got = StoreHashes(&*self.store).read_hashes(&missing)?;
        if let Ok(mut c) = self.cache.write() {
            for (&i, h) in missing.iter().zip(&got) {
                if c.len() < Self::CAPACITY && tree::split_stored_hash_index(i).0 >= Self::MIN_LEVEL
                {
                    c.insert(i, *h);
                }
            }
        }
        let mut fill = got.into_iter();
        for slot in out.iter_mut().filter(|h| h.is_none()) {
            *slot = fill.next();
        }
        out.into_iter()
            .map(|h| {
                h.ok_or(TreeError::WrongHashCount {
                    want: indexes.len(),
                    got: 0,
                })
            })
            .collect()
    }
}

/// The durable tree size: how many entries the log holds (signed or not yet).
pub fn durable_size(store: &dyn LogStore) -> Result<TreeSize, StoreError> {
    match store.get(Column::Meta, keys::META_TREE_SIZE)? {
        None => Ok(TreeSize(0)),
        Some(v) => keys::read_u64(&v)
            .map(TreeSize)
            .ok_or_else(|| StoreError::corrupt(Column::Meta, "tree_size")),
    }
}

/// Entry `index`, if the log has it.
pub fn entry(store: &dyn LogStore, index: LeafIndex) -> Result<Option<Vec<u8>>, StoreError> {
    store.get(Column::Entries, &entry_key(index.0))
}

/// Entries `[start, end)`, in order; an error if one is missing.
pub fn entries(store: &dyn LogStore, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
    let want = end.saturating_sub(start) as usize;
    let got = store.range(Column::Entries, &entry_key(start), &entry_key(end), want)?;
    if got.len() != want {
        return Err(StoreError::corrupt(Column::Entries, "missing entries"));
    }
    Ok(got.into_iter().map(|(_, v)| v).collect())
}

/// The latest signed checkpoint stored, unverified (the caller verifies it with the log's key).
pub fn latest_checkpoint_note(store: &dyn LogStore) -> Result<Option<String>, StoreError> {
    match store.last_in_range(Column::Checkpoints, &[], &[0xff; 9])? {
        None => Ok(None),
        Some((_, v)) => String::from_utf8(v)
            .map(Some)
            .map_err(|_| StoreError::corrupt(Column::Checkpoints, "not utf-8")),
    }
}

/// The checkpoint signed at tree size `size`, if there is one.
pub fn checkpoint_note_at(
    store: &dyn LogStore,
    size: TreeSize,
) -> Result<Option<String>, StoreError> {
    match store.get(Column::Checkpoints, &checkpoint_key(size.0))? {
        None => Ok(None),
        Some(v) => String::from_utf8(v)
            .map(Some)
            .map_err(|_| StoreError::corrupt(Column::Checkpoints, "not utf-8")),
    }
}

/// The bytes of hash tile `id`, if the tree of `size` contains it.
pub fn hash_tile(store: &dyn LogStore, size: TreeSize, id: TileId) -> Result<Vec<u8>, ReadError> {
    if !id.is_in_tree(size) {
        return Err(ReadError::NotFound(id.path()));
    }
    Ok(tile::read_tile_data(id, &StoreHashes(store))?)
}

/// The bytes of entry bundle `id`, if the tree of `size` contains it.
pub fn entry_bundle(
    store: &dyn LogStore,
    size: TreeSize,
    id: EntryBundleId,
) -> Result<Vec<u8>, ReadError> {
    // The bundle is in the tree exactly when its level 0 tile is; then `start + width` fits.
    if !id.tile().is_in_tree(size) {
        return Err(ReadError::NotFound(id.path()));
    }
    let start = id.n << TILE_HEIGHT;
    let end = start + u64::from(id.width);
    Ok(tile::encode_entry_bundle(&entries(store, start, end)?)?)
}

/// The inclusion proof of leaf `index` in the tree of `size`.
pub fn inclusion_proof(
    store: &dyn LogStore,
    size: TreeSize,
    index: LeafIndex,
) -> Result<Vec<Digest>, ReadError> {
    Ok(tree::inclusion_proof(size, index, &StoreHashes(store))?)
}

/// The consistency proof from the tree of `old` to the tree of `new`.
pub fn consistency_proof(
    store: &dyn LogStore,
    old: TreeSize,
    new: TreeSize,
) -> Result<Vec<Digest>, ReadError> {
    Ok(tree::consistency_proof(old, new, &StoreHashes(store))?)
}

/// The root of the tree of `size`.
pub fn tree_hash(store: &dyn LogStore, size: TreeSize) -> Result<Digest, ReadError> {
    Ok(tree::tree_hash(size, &StoreHashes(store))?)
}
