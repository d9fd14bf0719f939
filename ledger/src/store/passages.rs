//! Stored passage trees (issue 14): a range tree of 64-byte leaves `passage id || cid`
//! (docs/formats.md, "Passage trees"), uploaded on its own (format `passages`) and named by a
//! `dataset_version`'s or an `optout`'s `passages`. Stored like a source tree (`ranges.rs`:
//! records of 256 leaves in `range_leaves`, subtree hashes in `range_hashes`) under a fresh id
//! from the set store's counter, and made visible, like a set, by one synced commit batch
//! (docs/storage.md, "Passage trees"):
//!
//! - `meta/passages/<id>` → root (32) ‖ size (u64): the commit marker ([`super::sets::SetStore::open`]
//!   deletes the range records of every id without a set or passage marker);
//! - `meta/passages_root/<root>` → id (u64) ‖ size (u64): the tree with this root;
//! - `meta/passages_stored/<id>` → unix seconds: the collection clock, as `set_stored/`.
//!
//! A tree that no logged entry names (index tag `0x09`) is collected like a set
//! ([`super::sets::SetStore::collect_unnamed_passages`]), under the naming lock.

use std::sync::{Arc, Mutex};

use verifier::range::RangeLeaf;

use crate::set::SetError;
use crate::types::{Digest, TreeSize};

use super::keys;
use super::ranges::{RangeWriter, StoredRange};
use super::sets::{Collected, SetStore, SetStoreError};
use super::{Column, Durability, LogStore, StoreError, WriteBatch};

/// Bytes of one passage leaf: passage id (32) ‖ content id (32).
pub const PASSAGE_LEAF_LEN: usize = 64;

/// A committed passage tree: its root, internal id and number of leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassageInfo {
    pub root: Digest,
    pub id: u64,
    pub size: TreeSize,
}

impl SetStore {
    /// Starts a passage-tree upload. Nothing is visible until [`PassageWriter::commit`].
    pub fn passage_writer(&self) -> PassageWriter {
        let id = self.fresh_id();
        PassageWriter {
            store: self.store.clone(),
            commit_lock: self.commit_lock.clone(),
            id,
            tree: Some(RangeWriter::new(
                self.store.clone(),
                id,
                self.min_free_bytes,
            )),
            last: None,
            count: 0,
            carry: Vec::new(),
            committed: false,
            min_free_bytes: self.min_free_bytes,
        }
    }

    /// The committed passage tree with this root, if any.
    pub fn passage_info(&self, root: &Digest) -> Result<Option<PassageInfo>, StoreError> {
        passage_info(&*self.store, root)
    }

    /// The stored passage tree with this root as a [`verifier::range::RangeSource`] (for
    /// `range_proof`, `range_multi_proof`), with its info; `None` when no such tree is stored.
    /// Use one per proof (or batch of proofs) and drop it.
    pub fn passage_tree(
        &self,
        root: &Digest,
    ) -> Result<Option<(StoredRange, PassageInfo)>, StoreError> {
        Ok(self.passage_info(root)?.map(|info| {
            (
                StoredRange::new(self.store.clone(), info.id, info.size.0),
                info,
            )
        }))
    }

    /// Leaves `[start, start + count)` of the stored passage tree `root` (fewer at its end);
    /// `None` when no such tree is stored.
    pub fn passage_leaves(
        &self,
        root: &Digest,
        start: u64,
        count: usize,
    ) -> Result<Option<Vec<RangeLeaf>>, StoreError> {
        use verifier::range::RangeSource as _;
        let Some((tree, info)) = self.passage_tree(root)? else {
            return Ok(None);
        };
        let end = info.size.0.min(start.saturating_add(count as u64));
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        for i in start..end {
            let leaf = tree.leaf(crate::types::LeafIndex(i)).map_err(|_| {
                StoreError::corrupt(Column::RangeLeaves, "passage tree leaves record")
            })?;
            out.push(leaf);
        }
        Ok(Some(out))
    }

    /// Deletes every passage tree stored (or last uploaded again) at or before `stored_before`
    /// (unix seconds) that `is_named` says no logged entry names; as
    /// [`SetStore::collect_unnamed`], each tree decided and deleted under the naming lock and
    /// the commit lock.
    pub fn collect_unnamed_passages(
        &self,
        stored_before: u64,
        is_named: impl Fn(&Digest) -> Result<bool, StoreError>,
    ) -> Result<Collected, StoreError> {
        let mut out = Collected::default();
        let prefix = keys::META_PASSAGES_STORED_PREFIX;
        let end = keys::prefix_end(prefix).unwrap_or_default();
        let mut at = prefix.to_vec();
        loop {
            let rows = self.store.range(Column::Meta, &at, &end, 256)?;
            let Some((last, _)) = rows.last() else {
                break;
            };
            at = [last.as_slice(), &[0]].concat();
            for (k, v) in rows {
                let stored = keys::read_u64(&v)
                    .ok_or_else(|| StoreError::corrupt(Column::Meta, "passages stored time"))?;
                if stored > stored_before {
                    continue;
                }
                let id = keys::read_u64(&k[prefix.len()..])
                    .ok_or_else(|| StoreError::corrupt(Column::Meta, "passages stored key"))?;
                self.collect_passages_one(id, stored_before, &is_named, &mut out)?;
            }
        }
        Ok(out)
    }

    fn collect_passages_one(
        &self,
        id: u64,
        stored_before: u64,
        is_named: &impl Fn(&Digest) -> Result<bool, StoreError>,
        out: &mut Collected,
    ) -> Result<(), StoreError> {
        let _naming = self.naming_lock();
        let _commit = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
        // Read again under the locks: an upload of the same root may have refreshed it.
        let stored_key = keys::meta_passages_stored_key(id);
        let Some(v) = self.store.get(Column::Meta, &stored_key)? else {
            return Ok(());
        };
        if keys::read_u64(&v).is_none_or(|t| t > stored_before) {
            return Ok(());
        }
        let mut b = WriteBatch::new();
        b.delete(Column::Meta, stored_key);
        let root = self
            .store
            .get(Column::Meta, &keys::meta_passages_key(id))?
            .and_then(|r| r.get(..32).and_then(|r| Digest::from_slice(r).ok()));
        match root {
            Some(root) if is_named(&root)? => out.named += 1,
            Some(root) => {
                b.delete(Column::Meta, keys::meta_passages_root_key(&root));
                b.delete(Column::Meta, keys::meta_passages_key(id));
                let (s, e) = (id.to_be_bytes().to_vec(), (id + 1).to_be_bytes().to_vec());
                b.delete_range(Column::RangeLeaves, s.clone(), e.clone());
                b.delete_range(Column::RangeHashes, s, e);
                out.removed.push(root);
            }
            None => {}
        }
        // Durable step, one atomic batch. Crash before: the tree is whole and is decided again
        // at the next pass. Crash after: it is gone entirely (root record, marker, records,
        // time), or (named) no longer considered.
        self.store.write(b, Durability::Synced)
    }
}

fn passage_info(store: &dyn LogStore, root: &Digest) -> Result<Option<PassageInfo>, StoreError> {
    let Some(v) = store.get(Column::Meta, &keys::meta_passages_root_key(root))? else {
        return Ok(None);
    };
    let (Some(id), Some(size)) = (keys::read_u64(&v), v.get(8..).and_then(keys::read_u64)) else {
        return Err(StoreError::corrupt(Column::Meta, "passages root record"));
    };
    Ok(Some(PassageInfo {
        root: *root,
        id,
        size: TreeSize(size),
    }))
}

/// A passage-tree upload in progress. Dropping it without committing discards it (best effort;
/// a crash is cleaned up at the next open).
pub struct PassageWriter {
    store: Arc<dyn LogStore>,
    commit_lock: Arc<Mutex<()>>,
    id: u64,
    /// `None` once finished (or discarded).
    tree: Option<RangeWriter>,
    last: Option<[u8; PASSAGE_LEAF_LEN]>,
    count: u64,
    /// Bytes of a leaf split across `push_bytes` calls.
    carry: Vec<u8>,
    committed: bool,
    min_free_bytes: u64,
}

impl PassageWriter {
    /// Appends leaves given as concatenated 64-byte leaves, split anywhere.
    pub fn push_bytes(&mut self, mut bytes: &[u8]) -> Result<(), SetStoreError> {
        if !self.carry.is_empty() {
            let take = (PASSAGE_LEAF_LEN - self.carry.len()).min(bytes.len());
            self.carry.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.carry.len() < PASSAGE_LEAF_LEN {
                return Ok(());
            }
            let mut b = [0u8; PASSAGE_LEAF_LEN];
            b.copy_from_slice(&self.carry);
            self.carry.clear();
            self.push_array(b)?;
        }
        let mut chunks = bytes.chunks_exact(PASSAGE_LEAF_LEN);
        for c in &mut chunks {
            let mut b = [0u8; PASSAGE_LEAF_LEN];
            b.copy_from_slice(c);
            self.push_array(b)?;
        }
        self.carry.extend_from_slice(chunks.remainder());
        Ok(())
    }

    /// Appends the next leaf: 64 bytes, strictly after the previous one.
    pub fn push(&mut self, leaf: &RangeLeaf) -> Result<(), SetStoreError> {
        let b: [u8; PASSAGE_LEAF_LEN] = leaf
            .as_bytes()
            .try_into()
            .map_err(|_| SetStoreError::PassageLeafLength(leaf.as_bytes().len()))?;
        self.push_array(b)
    }

    fn push_array(&mut self, b: [u8; PASSAGE_LEAF_LEN]) -> Result<(), SetStoreError> {
        let index = self.count;
        if let Some(last) = &self.last {
            match last.cmp(&b) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    return Err(self.fail(SetError::Duplicate { index }.into()))
                }
                std::cmp::Ordering::Greater => {
                    return Err(self.fail(SetError::NotSorted { index }.into()))
                }
            }
        }
        self.last = Some(b);
        // Always 64 bytes: a valid range leaf.
        let leaf = RangeLeaf::new(b.to_vec()).map_err(|_| SetStoreError::PassageLeafLength(64))?;
        let tree = self.tree.as_mut().ok_or(SetStoreError::UploadEnded)?;
        if let Err(e) = tree.push(&leaf) {
            return Err(self.fail(e));
        }
        self.count += 1;
        Ok(())
    }

    /// Leaves pushed so far.
    pub fn size(&self) -> TreeSize {
        TreeSize(self.count)
    }

    /// Checks the root and commits the tree, or discards it. Committing a root already stored
    /// is not an error: the existing tree is returned (its stored time refreshed, if it has one)
    /// and this upload discarded.
    pub fn commit(self, claimed: &Digest) -> Result<PassageInfo, SetStoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.commit_at(claimed, now)
    }

    /// [`PassageWriter::commit`], recording `now` (unix seconds) as the time it was stored.
    pub fn commit_at(mut self, claimed: &Digest, now: u64) -> Result<PassageInfo, SetStoreError> {
        if !self.carry.is_empty() {
            let left = self.carry.len();
            return Err(self.fail(SetStoreError::PartialPassageLeaf(left)));
        }
        let Some(tree) = self.tree.take() else {
            return Err(SetStoreError::UploadEnded);
        };
        let size = match tree.finish() {
            Ok(s) => s.0,
            Err(e) => return Err(self.fail(e)),
        };
        let computed = match StoredRange::new(self.store.clone(), self.id, size).root() {
            Ok(r) => r,
            Err(e) => return Err(self.fail(e.into())),
        };
        if computed != *claimed {
            return Err(self.fail(SetStoreError::RootMismatch {
                claimed: *claimed,
                computed,
            }));
        }
        // A poisoned lock only means another commit panicked; the check below still holds.
        let lock = self.commit_lock.clone();
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = passage_info(&*self.store, claimed)? {
            self.discard();
            // Uploaded again: wanted now, so its collection clock starts again.
            let stored = keys::meta_passages_stored_key(existing.id);
            if self.store.get(Column::Meta, &stored)?.is_some() {
                let mut b = WriteBatch::new();
                b.put(Column::Meta, stored, now.to_be_bytes().to_vec());
                self.store.write(b, Durability::Synced)?;
            }
            return Ok(existing);
        }
        if self.min_free_bytes > 0 {
            if let Some(available) = self.store.available_bytes()? {
                if available < self.min_free_bytes {
                    return Err(self.fail(SetStoreError::NoSpace {
                        available,
                        floor: self.min_free_bytes,
                    }));
                }
            }
        }
        let mut b = WriteBatch::new();
        let mut marker = claimed.0.to_vec();
        marker.extend_from_slice(&size.to_be_bytes());
        b.put(Column::Meta, keys::meta_passages_key(self.id), marker);
        let mut by_root = self.id.to_be_bytes().to_vec();
        by_root.extend_from_slice(&size.to_be_bytes());
        b.put(Column::Meta, keys::meta_passages_root_key(claimed), by_root);
        b.put(
            Column::Meta,
            keys::meta_passages_stored_key(self.id),
            now.to_be_bytes().to_vec(),
        );
        // Durable step. Crash before: no marker names the id; its staged records are deleted
        // at the next open. Crash after: the tree is committed. The sync also makes the staged
        // (deferred) records durable, since they precede it in the write-ahead log. Whatever
        // this returns, Drop must not delete the records (the batch may have persisted).
        self.committed = true;
        self.store.write(b, Durability::Synced)?;
        Ok(PassageInfo {
            root: *claimed,
            id: self.id,
            size: TreeSize(size),
        })
    }

    /// Discards the upload and returns `e`.
    fn fail(&mut self, e: SetStoreError) -> SetStoreError {
        self.discard();
        e
    }

    fn discard(&mut self) {
        if self.committed {
            return;
        }
        self.committed = true; // nothing left for Drop to do
        self.tree = None;
        let mut b = WriteBatch::new();
        let (s, e) = (
            self.id.to_be_bytes().to_vec(),
            (self.id + 1).to_be_bytes().to_vec(),
        );
        b.delete_range(Column::RangeLeaves, s.clone(), e.clone());
        b.delete_range(Column::RangeHashes, s, e);
        // Best effort: if this fails, the next open deletes the unreachable records.
        let _ = self.store.write(b, Durability::Deferred);
    }
}

impl Drop for PassageWriter {
    fn drop(&mut self) {
        self.discard();
    }
}
