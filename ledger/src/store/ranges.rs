//! Stored range trees (issue 13): the source tree of a set, derived by the service from the
//! set's metadata at commit, stored like a set (docs/storage.md): variable-length leaves in
//! records of 256 (`range_leaves`, each leaf a u16 big-endian length and its bytes), and the
//! complete subtree hashes of levels 8, 16, 24, ... in records of 256 (`range_hashes`), under
//! the owning set's id. Any node is computed from one record, so a range proof over a tree of
//! 10^8 leaves reads a few dozen records ([`StoredRange`] implements
//! [`crate::range::RangeSource`]).
//!
//! [`RangeWriter`] takes leaves in order, holds one partial record per level, and stages full
//! records in deferred writes; the caller (the set's commit) makes them visible by writing the
//! `set_sources/` record in its synced commit batch, and a crash before that leaves records that
//! no marker names, which [`super::sets::SetStore::open`] deletes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use verifier::range::{RangeError, RangeLeaf, RangeSource};

use crate::hash::{Blake3Set, TreeHasher};
use crate::merkle;
use crate::types::{Digest, LeafIndex, TreeSize};

use super::keys::{range_hashes_key, range_leaves_key};
use super::sets::{stored_complete_node, stored_range_root, SetStoreError, MAX_CACHED_RECORDS};
use super::{Column, Durability, LogStore, StoreError, WriteBatch};

const CHUNK: usize = 256;
/// Bytes staged per deferred write.
const BYTES_PER_WRITE: usize = 8 << 20;

/// Writes the range tree of set `id`, leaves in strictly increasing order.
pub struct RangeWriter {
    store: Arc<dyn LogStore>,
    id: u64,
    count: u64,
    last: Option<Vec<u8>>,
    /// `levels[0]`: the encoded leaves of the current record; `levels[i]`: hashes of level 8i.
    levels: Vec<Vec<u8>>,
    /// Leaf hashes of the current leaves record.
    leaf_hashes: Vec<Digest>,
    staged: WriteBatch,
    staged_bytes: usize,
    /// The free-space floor (0: none): every write is refused below it.
    min_free_bytes: u64,
}

impl RangeWriter {
    /// A writer of set `id`'s tree that refuses to write while the store has fewer than
    /// `min_free_bytes` free ([`SetStoreError::NoSpace`]).
    pub fn new(store: Arc<dyn LogStore>, id: u64, min_free_bytes: u64) -> Self {
        RangeWriter {
            min_free_bytes,
            store,
            id,
            count: 0,
            last: None,
            levels: vec![Vec::new()],
            leaf_hashes: Vec::with_capacity(CHUNK),
            staged: WriteBatch::new(),
            staged_bytes: 0,
        }
    }

    /// Appends the next leaf; it must sort strictly after the previous one.
    pub fn push(&mut self, leaf: &RangeLeaf) -> Result<(), SetStoreError> {
        let b = leaf.as_bytes();
        if let Some(last) = &self.last {
            if last.as_slice() >= b {
                return Err(StoreError::corrupt(
                    Column::SourceScratch,
                    format!("range leaf {} out of order", self.count),
                )
                .into());
            }
        }
        self.last = Some(b.to_vec());
        let len = u16::try_from(b.len())
            .map_err(|_| StoreError::corrupt(Column::RangeLeaves, "range leaf too long"))?;
        self.levels[0].extend_from_slice(&len.to_be_bytes());
        self.levels[0].extend_from_slice(b);
        self.leaf_hashes.push(leaf.leaf_hash());
        self.count += 1;
        if self.count.is_multiple_of(CHUNK as u64) {
            let top = merkle::root::<Blake3Set>(&self.leaf_hashes);
            self.leaf_hashes.clear();
            self.close_record(0, top)?;
        }
        Ok(())
    }

    /// Stages the partial records and writes what is staged (deferred): the tree's size. Its
    /// records mean nothing until a synced batch writes the `set_sources/` record.
    pub fn finish(mut self) -> Result<TreeSize, SetStoreError> {
        let records = std::mem::take(&mut self.levels);
        for (i, rec) in records.into_iter().enumerate() {
            if !rec.is_empty() {
                let chunk = (self.count >> (8 * i as u32)) / CHUNK as u64;
                self.stage(i, chunk, rec);
            }
        }
        self.flush()?;
        Ok(TreeSize(self.count))
    }

    fn close_record(&mut self, i: usize, top: Digest) -> Result<(), SetStoreError> {
        let rec = std::mem::take(&mut self.levels[i]);
        let chunk = (self.count >> (8 * i as u32)) / CHUNK as u64 - 1;
        self.stage(i, chunk, rec);
        if self.levels.len() == i + 1 {
            self.levels.push(Vec::with_capacity(CHUNK * 32));
        }
        self.levels[i + 1].extend_from_slice(&top.0);
        if self.levels[i + 1].len() == CHUNK * 32 {
            let hashes: Vec<Digest> = self.levels[i + 1].chunks_exact(32).map(digest_at).collect();
            let up = merkle::root::<Blake3Set>(&hashes);
            self.close_record(i + 1, up)?;
        }
        if self.staged_bytes >= BYTES_PER_WRITE {
            self.flush()?;
        }
        Ok(())
    }

    fn stage(&mut self, i: usize, chunk: u64, rec: Vec<u8>) {
        self.staged_bytes += rec.len() + 17;
        if i == 0 {
            let key = range_leaves_key(self.id, chunk);
            self.staged.put(Column::RangeLeaves, key.to_vec(), rec);
        } else {
            let key = range_hashes_key(self.id, (8 * i) as u8, chunk);
            self.staged.put(Column::RangeHashes, key.to_vec(), rec);
        }
    }

    fn flush(&mut self) -> Result<(), SetStoreError> {
        if self.staged.is_empty() {
            return Ok(());
        }
        if self.min_free_bytes > 0 {
            if let Some(available) = self.store.available_bytes()? {
                if available < self.min_free_bytes {
                    return Err(SetStoreError::NoSpace {
                        available,
                        floor: self.min_free_bytes,
                    });
                }
            }
        }
        let b = std::mem::take(&mut self.staged);
        self.staged_bytes = 0;
        // Deferred: meaningless until the set's commit batch names the tree.
        Ok(self.store.write(b, Durability::Deferred)?)
    }
}

fn digest_at(b: &[u8]) -> Digest {
    let mut d = [0u8; 32];
    d.copy_from_slice(&b[..32]);
    Digest(d)
}

/// A stored range tree as a [`RangeSource`]: nodes from one record each, records cached (a
/// bounded number: [`MAX_CACHED_RECORDS`] of each kind, ~17 MiB of a passage tree's leaf
/// records, however many ranges one proof covers: a work's 4,096 passages in a tree of 10^8
/// leaves). Use one per proof (or batch of proofs) and drop it.
pub struct StoredRange {
    store: Arc<dyn LogStore>,
    id: u64,
    size: u64,
    leaves: RefCell<HashMap<u64, LeafRecord>>,
    hashes: RefCell<HashMap<(u8, u64), HashRecord>>,
    /// The first leaf of each leaf record a search looked at: a binary search over records
    /// needs only these, and the top of every search is the same few records.
    firsts: RefCell<HashMap<u64, RangeLeaf>>,
}

type LeafRecord = Rc<Vec<RangeLeaf>>;
type HashRecord = Rc<Vec<Digest>>;

impl StoredRange {
    /// The range tree stored under set `id` with `size` leaves.
    pub fn new(store: Arc<dyn LogStore>, id: u64, size: u64) -> Self {
        StoredRange {
            store,
            id,
            size,
            leaves: RefCell::new(HashMap::new()),
            hashes: RefCell::new(HashMap::new()),
            firsts: RefCell::new(HashMap::new()),
        }
    }

    /// The first leaf of leaf record `chunk`, remembered apart from the records.
    fn first_leaf(&self, chunk: u64) -> Result<Option<RangeLeaf>, StoreError> {
        if let Some(l) = self.firsts.borrow().get(&chunk) {
            return Ok(Some(l.clone()));
        }
        let first = self.leaf_record(chunk)?.first().cloned();
        if let Some(l) = &first {
            let mut firsts = self.firsts.borrow_mut();
            if firsts.len() >= 64 * MAX_CACHED_RECORDS {
                firsts.clear();
            }
            firsts.insert(chunk, l.clone());
        }
        Ok(first)
    }

    /// The root recomputed from the stored records.
    pub fn root(&self) -> Result<Digest, StoreError> {
        if self.size == 0 {
            return Ok(Blake3Set::empty_root());
        }
        self.range_root(0, self.size)
    }

    fn leaf_record(&self, chunk: u64) -> Result<Rc<Vec<RangeLeaf>>, StoreError> {
        if let Some(r) = self.leaves.borrow().get(&chunk) {
            return Ok(r.clone());
        }
        let bad = || StoreError::corrupt(Column::RangeLeaves, "range leaves record");
        let rec = self
            .store
            .get(Column::RangeLeaves, &range_leaves_key(self.id, chunk))?
            .ok_or_else(bad)?;
        let mut out = Vec::with_capacity(CHUNK);
        let mut at = 0usize;
        while at < rec.len() {
            let len = rec
                .get(at..at + 2)
                .map(|l| u16::from_be_bytes([l[0], l[1]]) as usize)
                .ok_or_else(bad)?;
            let bytes = rec.get(at + 2..at + 2 + len).ok_or_else(bad)?;
            out.push(RangeLeaf::new(bytes.to_vec()).map_err(|_| bad())?);
            at += 2 + len;
        }
        let out = Rc::new(out);
        let mut cache = self.leaves.borrow_mut();
        if cache.len() >= MAX_CACHED_RECORDS {
            cache.clear();
        }
        cache.insert(chunk, out.clone());
        Ok(out)
    }

    fn hash_record(&self, base: u8, chunk: u64) -> Result<Rc<Vec<Digest>>, StoreError> {
        if let Some(r) = self.hashes.borrow().get(&(base, chunk)) {
            return Ok(r.clone());
        }
        let hashes: Vec<Digest> = if base == 0 {
            self.leaf_record(chunk)?
                .iter()
                .map(RangeLeaf::leaf_hash)
                .collect()
        } else {
            self.store
                .get(Column::RangeHashes, &range_hashes_key(self.id, base, chunk))?
                .ok_or_else(|| StoreError::corrupt(Column::RangeHashes, "missing hash record"))?
                .chunks_exact(32)
                .map(digest_at)
                .collect()
        };
        let hashes = Rc::new(hashes);
        let mut cache = self.hashes.borrow_mut();
        if cache.len() >= MAX_CACHED_RECORDS {
            cache.clear();
        }
        cache.insert((base, chunk), hashes.clone());
        Ok(hashes)
    }

    /// The root of the complete subtree `index` of `level`, from one record.
    fn complete_node(&self, level: u32, index: u64) -> Result<Digest, StoreError> {
        stored_complete_node(level, index, Column::RangeHashes, |base, chunk| {
            self.hash_record(base, chunk)
        })
    }

    /// The root of leaves `[lo, hi)`, `lo` aligned as in the tree's recursion.
    fn range_root(&self, lo: u64, hi: u64) -> Result<Digest, StoreError> {
        stored_range_root(lo, hi, |level, index| self.complete_node(level, index))
    }
}

fn source_err(e: StoreError) -> RangeError {
    RangeError::source_failed(e)
}

impl RangeSource for StoredRange {
    fn size(&self) -> TreeSize {
        TreeSize(self.size)
    }

    fn leaf(&self, index: LeafIndex) -> Result<RangeLeaf, RangeError> {
        if index.0 >= self.size {
            return Err(RangeError::IndexOutOfRange {
                index: index.0,
                size: self.size,
            });
        }
        let rec = self
            .leaf_record(index.0 / CHUNK as u64)
            .map_err(source_err)?;
        rec.get((index.0 % CHUNK as u64) as usize)
            .cloned()
            .ok_or_else(|| source_err(StoreError::corrupt(Column::RangeLeaves, "short record")))
    }

    fn node(&self, level: u32, index: u64) -> Result<Digest, RangeError> {
        let lo = index.checked_shl(level).filter(|&lo| lo < self.size);
        let Some(lo) = lo else {
            return Err(RangeError::NoNode { level, index });
        };
        let hi = lo.saturating_add(1u64 << level.min(63)).min(self.size);
        if hi - lo == 1u64 << level.min(63) {
            self.complete_node(level, index).map_err(source_err)
        } else {
            self.range_root(lo, hi).map_err(source_err)
        }
    }

    fn lower_bound(&self, key: &[u8]) -> Result<u64, RangeError> {
        // Binary search over records by their first leaf, then within one record: O(log n)
        // record reads.
        let records = self.size.div_ceil(CHUNK as u64);
        let (mut lo, mut hi) = (0u64, records);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.first_leaf(mid).map_err(source_err)? {
                Some(first) if first.as_bytes() < key => lo = mid + 1,
                _ => hi = mid,
            }
        }
        // Every leaf of records before `lo` starts below key; the answer is in record lo - 1
        // (or is lo * 256).
        let Some(rec_index) = lo.checked_sub(1) else {
            return Ok(0);
        };
        let rec = self.leaf_record(rec_index).map_err(source_err)?;
        let within = rec.partition_point(|l| l.as_bytes() < key) as u64;
        Ok(rec_index * CHUNK as u64 + within)
    }
}
