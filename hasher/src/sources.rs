//! The source tree of a set with metadata (docs/formats.md, "Source trees"): one range-tree leaf
//! `source_key(source) || 0x00 || cid` per distinct (source key, content id) over every source
//! entry of every leaf, an entry without a `source` string under the no-source key `""`.
//!
//! Built in bounded memory: leaves go through [`LeafSorter`] (sorted runs spilled to disk and
//! merged, duplicates dropped) and stream in order into the verifier's `RangeRootBuilder`. The
//! hasher builds it from the values it maps (in the worker threads, where the source key is
//! computed); a manifest reader rebuilds it from the metadata it reads; both go through here.

use std::path::PathBuf;

use ledger::{ContentId, Digest};
use serde_json::Value;
use verifier::range::{RangeLeaf, RangeRootBuilder};
use verifier::set::meta::source_keys;
use verifier::source::{source_key, SourceKey};

use crate::error::HashError;
use crate::leafsort::LeafSorter;

/// Collects source leaves in any order and computes the source tree's root and size.
pub struct SourceTreeBuilder {
    sorter: LeafSorter,
}

/// A source tree's root and number of leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceTree {
    pub root: Digest,
    pub size: u64,
}

impl SourceTreeBuilder {
    /// `budget` bytes of leaves are kept in memory before a sorted run is spilled to `tmp_dir`.
    pub fn new(budget: usize, tmp_dir: Option<PathBuf>) -> Self {
        SourceTreeBuilder {
            sorter: LeafSorter::new(budget, tmp_dir),
        }
    }

    /// Adds the leaf of one item: its source key and content id.
    pub fn push(&mut self, key: &SourceKey, cid: &[u8; 32]) -> Result<(), HashError> {
        self.sorter.push_parts(&[key.as_bytes(), &[0], cid])
    }

    /// Adds the leaves of one manifest leaf from its metadata object (`{"sources":[...]}`): one
    /// per distinct source key (`verifier::set::meta::source_keys`, the owner of the rule).
    pub fn push_meta(&mut self, meta: &Value, cid: &ContentId) -> Result<(), HashError> {
        for key in source_keys(meta) {
            self.push(&key, &cid.0)?;
        }
        Ok(())
    }

    /// Sorted runs spilled to disk so far.
    pub fn runs_spilled(&self) -> usize {
        self.sorter.runs_spilled()
    }

    /// Merges the leaves and returns the tree's root and size.
    pub fn finish(self) -> Result<SourceTree, HashError> {
        let mut leaves = self.sorter.finish()?;
        let mut b = RangeRootBuilder::new();
        let mut buf = Vec::new();
        while leaves.next_leaf(&mut buf)? {
            let leaf = RangeLeaf::new(std::mem::take(&mut buf))?;
            b.push(&leaf)?;
            buf = leaf.into_bytes();
        }
        Ok(SourceTree {
            root: b.root(),
            size: b.size().0,
        })
    }
}

/// The source key of an item whose `source` is `source`: the no-source key for `None`.
pub fn key_of(source: Option<&str>) -> SourceKey {
    source.map_or_else(SourceKey::none, source_key)
}
