//! Range proofs: the members of a byte range in a range tree, or its emptiness, proven by
//! revealed leaves at their positions and the helper hashes that rebuild the root (the layout of
//! [`crate::set::SetMultiProof`], checked by the same code).
//!
//! What the revealed leaves must show (docs/formats.md "Range trees and range proofs"):
//! - **left edge**: the first revealed in-range leaf is at index 0, or the revealed leaf right
//!   before it is at the index right before it (and so below the range);
//! - **right edge**: the last revealed in-range leaf is at index n-1, or the revealed leaf right
//!   after it is at the next index (and so above the range);
//! - **no member**: two revealed leaves at adjacent indices, one below and one above the range;
//!   or leaf 0 above it; or leaf n-1 below it; or the empty tree.
//!
//! The count is then `last - first + 1` whatever was revealed between: the tree is sorted (the
//! ledger checked it when it stored the tree), so every leaf between two in-range leaves is in
//! range.
//!
//! A **multi-range proof** ([`range_multi_proof`], [`verify_ranges`]) is one [`RangeProof`] for
//! several disjoint ranges: the union of the leaves each range's own proof would reveal, one set
//! of helper hashes, one root rebuild; each range's members are then read off the same revealed
//! leaves by the rules above (they hold on any superset of a range's own proof leaves).

use serde::{Deserialize, Serialize};

use super::{Range, RangeError, RangeLeaf, RangeSource};
use crate::hash::{Blake3Set, TreeHasher};
use crate::set::multi::{helper_positions, rebuild_root};
use crate::set::wire::hex32_vec;
use crate::types::{Digest, LeafIndex, TreeSize};

/// A revealed leaf and its position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexedRangeLeaf {
    pub index: LeafIndex,
    pub leaf: RangeLeaf,
}

/// A range proof. JSON: `{"tree_size":n,"leaves":[{"index":i,"leaf":"<hex>"},..],
/// "hashes":["<hex>",..]}`, leaves by increasing index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeProof {
    #[serde(rename = "tree_size")]
    pub size: TreeSize,
    pub leaves: Vec<IndexedRangeLeaf>,
    #[serde(with = "hex32_vec")]
    pub hashes: Vec<Digest>,
}

/// What a verified range proof proves: the range is the leaves `[start, start + count)`, and
/// `revealed` are the in-range leaves the proof showed (all of them if the proof was not
/// truncated: `revealed.len() == count`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeMembers {
    pub start: u64,
    pub count: u64,
    pub revealed: Vec<(LeafIndex, RangeLeaf)>,
}

impl RangeMembers {
    /// Whether every member was revealed.
    pub fn complete(&self) -> bool {
        self.revealed.len() as u64 == self.count
    }
}

/// Proves the leaves of `src` in `range`: every in-range leaf if there are at most `reveal`,
/// else the first and the last `max(1, reveal / 2)` of them (the count is still proven by the
/// edges); plus the leaves bracketing the range where they exist.
pub fn range_proof<S: RangeSource + ?Sized>(
    src: &S,
    range: &Range,
    reveal: u64,
) -> Result<RangeProof, RangeError> {
    proof_for(src, range_indices(src, range, reveal)?)
}

/// One proof for several ranges (in any order; overlapping ranges are allowed here, but
/// [`verify_ranges`] wants them sorted and disjoint): the union of the leaves [`range_proof`]
/// would reveal for each, with `reveal_per_range` as each one's `reveal`, and the helper hashes
/// of that union. Same JSON as [`RangeProof`].
pub fn range_multi_proof<S: RangeSource + ?Sized>(
    src: &S,
    ranges: &[Range],
    reveal_per_range: u64,
) -> Result<RangeProof, RangeError> {
    let mut indices = Vec::new();
    for range in ranges {
        indices.extend(range_indices(src, range, reveal_per_range)?);
    }
    indices.sort_unstable();
    indices.dedup();
    proof_for(src, indices)
}

/// The indices [`range_proof`] reveals for `range`, strictly increasing.
fn range_indices<S: RangeSource + ?Sized>(
    src: &S,
    range: &Range,
    reveal: u64,
) -> Result<Vec<u64>, RangeError> {
    let n = src.size().0;
    let s = src.lower_bound(range.lo())?;
    let e = match range.hi() {
        Some(hi) => src.lower_bound(hi)?,
        None => n,
    };
    if e < s || e > n {
        return Err(RangeError::Malformed("source lower bounds out of order"));
    }
    let mut indices = Vec::new();
    if s > 0 {
        indices.push(s - 1);
    }
    let count = e - s;
    if count <= reveal {
        indices.extend(s..e);
    } else {
        let half = (reveal / 2).max(1);
        indices.extend(s..s + half);
        indices.extend(e - half..e);
    }
    if e < n {
        indices.push(e);
    }
    indices.dedup();
    Ok(indices)
}

/// The proof revealing the leaves at `indices` (strictly increasing).
fn proof_for<S: RangeSource + ?Sized>(
    src: &S,
    indices: Vec<u64>,
) -> Result<RangeProof, RangeError> {
    let n = src.size().0;
    let leaves = indices
        .iter()
        .map(|&i| {
            Ok(IndexedRangeLeaf {
                index: LeafIndex(i),
                leaf: src.leaf(LeafIndex(i))?,
            })
        })
        .collect::<Result<Vec<_>, RangeError>>()?;
    let hashes = helper_positions(&indices, n)
        .into_iter()
        .map(|(level, index)| src.node(level, index))
        .collect::<Result<Vec<_>, RangeError>>()?;
    Ok(RangeProof {
        size: TreeSize(n),
        leaves,
        hashes,
    })
}

/// Verifies `proof` against the trusted `root` and `size` of a range tree and returns the
/// members of `range` it proves (see the module docs for the rules). Any gap that could hide an
/// in-range leaf is an error, never a smaller count.
pub fn verify_range(
    root: &Digest,
    size: TreeSize,
    range: &Range,
    proof: &RangeProof,
) -> Result<RangeMembers, RangeError> {
    check_proof(root, size, proof)?;
    if size.0 == 0 {
        return Ok(RangeMembers {
            start: 0,
            count: 0,
            revealed: Vec::new(),
        });
    }
    members(range, &proof.leaves, size.0)
}

/// Verifies a multi-range proof ([`range_multi_proof`]) against the trusted `root` and `size`
/// and returns the members of each range, in the order of `ranges`. The ranges must be strictly
/// increasing and disjoint (each one's `hi` at most the next one's `lo`:
/// [`RangeError::RangesNotSorted`]); the root is rebuilt once, and each range must then be
/// proven by the revealed leaves exactly as [`verify_range`] requires: a gap that could hide a
/// member of any range is an error, never a smaller count. No ranges: nothing is claimed, the
/// answer is empty whatever the proof.
pub fn verify_ranges(
    root: &Digest,
    size: TreeSize,
    ranges: &[Range],
    proof: &RangeProof,
) -> Result<Vec<RangeMembers>, RangeError> {
    for (i, w) in ranges.windows(2).enumerate() {
        if w[0].hi().is_none_or(|hi| hi > w[1].lo()) {
            return Err(RangeError::RangesNotSorted {
                index: i as u64 + 1,
            });
        }
    }
    if ranges.is_empty() {
        return Ok(Vec::new());
    }
    check_proof(root, size, proof)?;
    ranges
        .iter()
        .map(|range| {
            if size.0 == 0 {
                Ok(RangeMembers {
                    start: 0,
                    count: 0,
                    revealed: Vec::new(),
                })
            } else {
                members(range, &proof.leaves, size.0)
            }
        })
        .collect()
}

/// Checks that the proof's leaves are sorted, inside the tree, and rebuild `root`; for the
/// empty tree, that the proof is empty and `root` is the empty root.
fn check_proof(root: &Digest, size: TreeSize, proof: &RangeProof) -> Result<(), RangeError> {
    let n = size.0;
    if proof.size != size {
        return Err(RangeError::SizeMismatch {
            proof: proof.size.0,
            expected: n,
        });
    }
    let leaves = &proof.leaves;
    for w in leaves.windows(2) {
        if w[0].index >= w[1].index {
            return Err(RangeError::IndicesNotIncreasing);
        }
        if w[0].leaf >= w[1].leaf {
            return Err(RangeError::LeavesNotIncreasing);
        }
    }
    if let Some(last) = leaves.last() {
        if last.index.0 >= n {
            return Err(RangeError::IndexOutOfRange {
                index: last.index.0,
                size: n,
            });
        }
    }
    if n == 0 {
        // No leaves (checked above): no hashes, and only the empty root.
        if !proof.hashes.is_empty() {
            return Err(RangeError::Malformed("wrong number of hashes"));
        }
        return if *root == Blake3Set::empty_root() {
            Ok(())
        } else {
            Err(RangeError::RootMismatch)
        };
    }
    if leaves.is_empty() {
        return Err(RangeError::ExclusionUnproven);
    }
    // The number of hashes must be exactly what the revealed indices need: `rebuild_root` fails
    // on too few or too many.
    let indices: Vec<u64> = leaves.iter().map(|l| l.index.0).collect();
    let hashes: Vec<[u8; 32]> = leaves.iter().map(|l| l.leaf.leaf_hash().0).collect();
    let computed =
        rebuild_root(&indices, hashes, &proof.hashes, n).map_err(RangeError::Malformed)?;
    if computed != *root {
        return Err(RangeError::RootMismatch);
    }
    Ok(())
}

/// The edges and count from revealed leaves that are sorted, in the tree, and authentic.
fn members(range: &Range, leaves: &[IndexedRangeLeaf], n: u64) -> Result<RangeMembers, RangeError> {
    // Sorted, so: below* in* above*.
    let first_in = leaves.partition_point(|l| l.leaf.as_bytes() < range.lo());
    let first_above =
        first_in + leaves[first_in..].partition_point(|l| !range.above(l.leaf.as_bytes()));
    let below = first_in.checked_sub(1).map(|i| &leaves[i]);
    let above = leaves.get(first_above);
    if first_in == first_above {
        // Nothing revealed in range: the two around it must be adjacent (or the tree's ends).
        let start = match (below, above) {
            (Some(b), Some(a)) if b.index.0 + 1 == a.index.0 => a.index.0,
            (None, Some(a)) if a.index.0 == 0 => 0,
            (Some(b), None) if b.index.0 + 1 == n => n,
            _ => return Err(RangeError::ExclusionUnproven),
        };
        return Ok(RangeMembers {
            start,
            count: 0,
            revealed: Vec::new(),
        });
    }
    let first = &leaves[first_in];
    let last = &leaves[first_above - 1];
    let left_ok = match below {
        None => first.index.0 == 0,
        Some(b) => b.index.0 + 1 == first.index.0,
    };
    if !left_ok {
        return Err(RangeError::LeftEdgeUnproven);
    }
    let right_ok = match above {
        None => last.index.0 + 1 == n,
        Some(a) => last.index.0 + 1 == a.index.0,
    };
    if !right_ok {
        return Err(RangeError::RightEdgeUnproven);
    }
    Ok(RangeMembers {
        start: first.index.0,
        count: last.index.0 + 1 - first.index.0,
        revealed: leaves[first_in..first_above]
            .iter()
            .map(|l| (l.index, l.leaf.clone()))
            .collect(),
    })
}
