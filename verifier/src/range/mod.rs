//! Range trees (issue 13, docs/formats.md "Range trees and range proofs"): sorted trees of
//! variable-length byte-string leaves, and proofs of everything a tree holds in a byte range.
//!
//! A range tree is hashed exactly like a set tree ([`crate::Blake3Set`]: leaf
//! `BLAKE3(0x00 || leaf)`, node `BLAKE3(0x01 || l || r)`, RFC 6962 shape); its leaves are
//! strictly increasing in byte order, 1 to [`RangeLeaf::MAX_LEN`] bytes each. Sortedness is what
//! makes "all the leaves in `[lo, hi)`" provable by two adjacent bracketing leaves, so every way
//! into a tree checks it: [`RangeTree::new`], [`RangeRootBuilder::push`], and [`verify_range`],
//! which checks the order of the leaves it is shown (the order of the leaves between them is
//! what the ledger checked when it stored the tree).
//!
//! The **source tree** of a dataset version is a range tree of [`RangeLeaf::source`] leaves,
//! `source key || 0x00 || cid`: the items of a site are one contiguous range ([`Range::site`]).
//! Issue 14 reuses range trees for passages.
//!
//! - [`RangeTree`]: in memory, every level kept; [`RangeSource`]: what proving needs from a
//!   tree too large for memory (a store); [`RangeRootBuilder`]: a streaming root.
//! - [`range_proof`] / [`verify_range`]: the proof of a range's members (or of its emptiness),
//!   in `rs_merkle`'s multi-proof layout, like [`crate::set::SetMultiProof`].

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::hash::{Blake3Set, TreeHasher};
use crate::merkle::StreamingRoot;
use crate::source::{Site, SourceKey};
use crate::types::{ContentId, Digest, LeafIndex, TreeSize};

mod proof;

pub use proof::{
    range_multi_proof, range_proof, verify_range, verify_ranges, IndexedRangeLeaf, RangeMembers,
    RangeProof,
};

/// Why a range tree could not be built, or a range proof could not be made or did not verify.
/// Every verification variant means "do not trust this".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    #[error("a range leaf is 1 to 2048 bytes, got {len}")]
    LeafLength { len: usize },
    #[error("range leaf is not hex")]
    LeafHex,
    #[error("leaf {index} is not greater than the leaf before it")]
    NotSorted { index: u64 },
    #[error("leaf {index} repeats the leaf before it")]
    Duplicate { index: u64 },
    #[error("a range needs lo < hi")]
    EmptyRange,
    #[error("range {index} does not start at or after the end of the range before it")]
    RangesNotSorted { index: u64 },
    #[error("proof is for a tree of {proof} leaves, expected {expected}")]
    SizeMismatch { proof: u64, expected: u64 },
    #[error("proof leaf indices are not strictly increasing")]
    IndicesNotIncreasing,
    #[error("proof leaves are not strictly increasing")]
    LeavesNotIncreasing,
    #[error("proof leaf index {index} is not below the tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("range proof is malformed: {0}")]
    Malformed(&'static str),
    #[error("computed root does not match the expected root")]
    RootMismatch,
    #[error("the proof does not show where the range starts (no adjacent leaf below it)")]
    LeftEdgeUnproven,
    #[error("the proof does not show where the range ends (no adjacent leaf above it)")]
    RightEdgeUnproven,
    #[error("the proof shows no member and no adjacent pair around the range")]
    ExclusionUnproven,
    #[error("range tree has no node {index} at level {level}")]
    NoNode { level: u32, index: u64 },
    /// A store behind a [`RangeSource`] failed; the cause is the store's own error.
    #[error("range source")]
    Source(#[source] SourceFailure),
}

impl RangeError {
    /// A store's failure, kept as the cause.
    pub fn source_failed(e: impl std::error::Error + Send + Sync + 'static) -> RangeError {
        RangeError::Source(SourceFailure(Arc::new(e)))
    }
}

/// The error a [`RangeSource`]'s store gave, shared (so [`RangeError`] stays `Clone`); equal
/// only to itself.
#[derive(Clone, Debug)]
pub struct SourceFailure(pub Arc<dyn std::error::Error + Send + Sync>);

impl PartialEq for SourceFailure {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SourceFailure {}

impl fmt::Display for SourceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// One leaf of a range tree: 1 to [`RangeLeaf::MAX_LEN`] bytes. JSON: lowercase hex.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RangeLeaf(Vec<u8>);

impl RangeLeaf {
    pub const MAX_LEN: usize = 2048;

    /// The leaf, or [`RangeError::LeafLength`].
    pub fn new(bytes: Vec<u8>) -> Result<RangeLeaf, RangeError> {
        if (1..=Self::MAX_LEN).contains(&bytes.len()) {
            Ok(RangeLeaf(bytes))
        } else {
            Err(RangeError::LeafLength { len: bytes.len() })
        }
    }

    /// A source-tree leaf: `key || 0x00 || cid` (33 to 1,057 bytes, always valid).
    pub fn source(key: &SourceKey, cid: &ContentId) -> RangeLeaf {
        let mut v = Vec::with_capacity(key.as_bytes().len() + 33);
        v.extend_from_slice(key.as_bytes());
        v.push(0);
        v.extend_from_slice(&cid.0);
        RangeLeaf(v)
    }

    /// The source key and content id of a source-tree leaf; `None` if the leaf is not one
    /// (shorter than 33 bytes, no 0x00 before the cid, or a key that is not ASCII without 0x00).
    pub fn split_source(&self) -> Option<(&str, ContentId)> {
        let at = self.0.len().checked_sub(33)?;
        let (key, rest) = self.0.split_at(at);
        if rest[0] != 0 || !key.iter().all(|&b| b.is_ascii() && b != 0) {
            return None;
        }
        let cid: [u8; 32] = rest[1..].try_into().ok()?;
        Some((std::str::from_utf8(key).ok()?, ContentId(cid)))
    }

    /// A passage-tree leaf: `passage id (32) || cid (32)` (docs/formats.md, "Passage trees").
    pub fn passage(pid: &ContentId, cid: &ContentId) -> RangeLeaf {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(&pid.0);
        v.extend_from_slice(&cid.0);
        RangeLeaf(v)
    }

    /// The passage id and content id of a passage-tree leaf; `None` unless it is 64 bytes.
    pub fn split_passage(&self) -> Option<(ContentId, ContentId)> {
        let (p, c) = self.0.split_at_checked(32)?;
        Some((ContentId(p.try_into().ok()?), ContentId(c.try_into().ok()?)))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// `BLAKE3(0x00 || leaf)`.
    pub fn leaf_hash(&self) -> Digest {
        Blake3Set::leaf_hash(&self.0)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// Lowercase hex only (one spelling), 2 to 4,096 digits.
    pub fn from_hex(s: &str) -> Result<RangeLeaf, RangeError> {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(RangeError::LeafHex);
        }
        RangeLeaf::new(hex::decode(s).map_err(|_| RangeError::LeafHex)?)
    }
}

impl fmt::Debug for RangeLeaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.split_source() {
            Some((k, cid)) => write!(f, "RangeLeaf({k:?} {cid})"),
            None => write!(f, "RangeLeaf({})", self.to_hex()),
        }
    }
}

impl Serialize for RangeLeaf {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for RangeLeaf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RangeLeaf::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// A byte range `[lo, hi)` (`hi` `None`: unbounded above), `lo < hi`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Range {
    lo: Vec<u8>,
    hi: Option<Vec<u8>>,
}

impl Range {
    /// `[lo, hi)`, or [`RangeError::EmptyRange`] unless `lo < hi`.
    pub fn new(lo: Vec<u8>, hi: Option<Vec<u8>>) -> Result<Range, RangeError> {
        if hi.as_ref().is_some_and(|h| *h <= lo) {
            return Err(RangeError::EmptyRange);
        }
        Ok(Range { lo, hi })
    }

    /// Every byte string that starts with `prefix`: `[prefix, succ(prefix))`, where `succ` drops
    /// trailing 0xFF bytes and increments the last byte left (`None`: no upper bound).
    pub fn prefix(prefix: &[u8]) -> Range {
        Range {
            lo: prefix.to_vec(),
            hi: succ(prefix),
        }
    }

    /// The source-tree leaves of a site: those whose key starts with [`Site::prefix`].
    pub fn site(site: &Site) -> Range {
        Range::prefix(site.prefix().as_bytes())
    }

    /// The source-tree leaves with exactly this key: `[key || 0x00, key || 0x01)`. For the
    /// no-source key, the items without a source.
    pub fn exact_key(key: &SourceKey) -> Range {
        let mut lo = key.as_bytes().to_vec();
        lo.push(0);
        Range::prefix(&lo)
    }

    /// The passage-tree leaves of one passage: those that start with its id.
    pub fn passage(pid: &ContentId) -> Range {
        Range::prefix(&pid.0)
    }

    pub fn lo(&self) -> &[u8] {
        &self.lo
    }

    pub fn hi(&self) -> Option<&[u8]> {
        self.hi.as_deref()
    }

    /// Whether `leaf` is in the range.
    pub fn contains(&self, leaf: &[u8]) -> bool {
        leaf >= self.lo.as_slice() && self.hi.as_deref().is_none_or(|h| leaf < h)
    }

    /// Whether `leaf` is above the range (`>= hi`).
    fn above(&self, leaf: &[u8]) -> bool {
        self.hi.as_deref().is_some_and(|h| leaf >= h)
    }
}

/// The least byte string greater than every string starting with `p`; `None` if there is none.
fn succ(p: &[u8]) -> Option<Vec<u8>> {
    let mut v = p.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xFF {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}

/// What proof building needs from a range tree too large for memory: leaves by position and
/// subtree roots (the contract of [`crate::set::SetSource::node`]).
pub trait RangeSource {
    /// The number of leaves.
    fn size(&self) -> TreeSize;
    /// The leaf at `index` (below [`RangeSource::size`]).
    fn leaf(&self, index: LeafIndex) -> Result<RangeLeaf, RangeError>;
    /// The root of the leaves `[index << level, min((index + 1) << level, size))`, a node of the
    /// tree built level by level with an odd last node carried up unchanged. Level 0 is leaf
    /// hashes.
    fn node(&self, level: u32, index: u64) -> Result<Digest, RangeError>;

    /// The first position whose leaf is `>= key` (the size if none is). The default is a binary
    /// search over [`RangeSource::leaf`].
    fn lower_bound(&self, key: &[u8]) -> Result<u64, RangeError> {
        let (mut lo, mut hi) = (0u64, self.size().0);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.leaf(LeafIndex(mid))?.as_bytes() < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}

impl<T: RangeSource + ?Sized> RangeSource for &T {
    fn size(&self) -> TreeSize {
        (**self).size()
    }
    fn leaf(&self, index: LeafIndex) -> Result<RangeLeaf, RangeError> {
        (**self).leaf(index)
    }
    fn node(&self, level: u32, index: u64) -> Result<Digest, RangeError> {
        (**self).node(level, index)
    }
    fn lower_bound(&self, key: &[u8]) -> Result<u64, RangeError> {
        (**self).lower_bound(key)
    }
}

/// An in-memory range tree with every level kept (like [`crate::set::SortedSet`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeTree {
    leaves: Vec<RangeLeaf>,
    levels: Vec<Vec<Digest>>,
}

impl RangeTree {
    /// Builds the tree, or refuses leaves that are not strictly increasing.
    pub fn new(leaves: Vec<RangeLeaf>) -> Result<RangeTree, RangeError> {
        check_sorted(&leaves)?;
        let levels = crate::set::build::levels_over(&leaves, RangeLeaf::leaf_hash);
        Ok(RangeTree { leaves, levels })
    }

    /// Sorts and de-duplicates `leaves`, then builds the tree.
    pub fn from_unsorted(mut leaves: Vec<RangeLeaf>) -> RangeTree {
        leaves.sort_unstable();
        leaves.dedup();
        let levels = crate::set::build::levels_over(&leaves, RangeLeaf::leaf_hash);
        RangeTree { leaves, levels }
    }

    /// The root; `BLAKE3("")` for the empty tree.
    pub fn root(&self) -> Digest {
        crate::set::build::root_of(&self.levels)
    }

    pub fn size(&self) -> TreeSize {
        TreeSize(self.leaves.len() as u64)
    }

    pub fn leaves(&self) -> &[RangeLeaf] {
        &self.leaves
    }
}

impl RangeSource for RangeTree {
    fn size(&self) -> TreeSize {
        RangeTree::size(self)
    }

    fn leaf(&self, index: LeafIndex) -> Result<RangeLeaf, RangeError> {
        self.leaves
            .get(index.0 as usize)
            .cloned()
            .ok_or(RangeError::IndexOutOfRange {
                index: index.0,
                size: self.leaves.len() as u64,
            })
    }

    fn node(&self, level: u32, index: u64) -> Result<Digest, RangeError> {
        crate::set::build::node_of(&self.levels, level, index)
            .ok_or(RangeError::NoNode { level, index })
    }

    fn lower_bound(&self, key: &[u8]) -> Result<u64, RangeError> {
        Ok(self.leaves.partition_point(|l| l.as_bytes() < key) as u64)
    }
}

/// Computes a range tree's root from leaves streamed in order, refusing any leaf not greater
/// than the one before, in O(log n) memory.
#[derive(Clone, Debug, Default)]
pub struct RangeRootBuilder {
    last: Vec<u8>,
    root: StreamingRoot<Blake3Set>,
}

impl RangeRootBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the next leaf, refusing it (naming its position) if it is not greater than the
    /// previous one.
    pub fn push(&mut self, leaf: &RangeLeaf) -> Result<(), RangeError> {
        let index = self.root.size().0;
        if index > 0 {
            match self.last.as_slice().cmp(leaf.as_bytes()) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Err(RangeError::Duplicate { index }),
                std::cmp::Ordering::Greater => return Err(RangeError::NotSorted { index }),
            }
        }
        self.last.clear();
        self.last.extend_from_slice(leaf.as_bytes());
        self.root.push(leaf.leaf_hash());
        Ok(())
    }

    pub fn size(&self) -> TreeSize {
        self.root.size()
    }

    pub fn root(&self) -> Digest {
        self.root.root()
    }
}

/// Checks that `leaves` are strictly increasing, naming the first offending position.
pub fn check_sorted(leaves: &[RangeLeaf]) -> Result<(), RangeError> {
    for (i, w) in leaves.windows(2).enumerate() {
        let index = i as u64 + 1;
        match w[0].cmp(&w[1]) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => return Err(RangeError::Duplicate { index }),
            std::cmp::Ordering::Greater => return Err(RangeError::NotSorted { index }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
