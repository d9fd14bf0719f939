//! Set inclusion and exclusion proofs (DESIGN.md, "Set leaves and proofs"), built from any
//! [`SetSource`] and verified against a set's root and size.
//!
//! JSON forms (hashes 64 lowercase hex, ids `blake3:<hex>`, leaves as in [`SetLeaf`]):
//!
//! - inclusion: `{"tree_size":n,"index":i,"leaf":{..},"path":["<hex>",..]}`
//! - exclusion: `{"id":"blake3:..","tree_size":n,"left":{"index":i,"leaf":{..},"path":[..]},
//!   "right":{..}}`; `left` is the greatest leaf below the id and `right` the least above it,
//!   each absent when there is none, which gives DESIGN.md's four cases: neither (empty set),
//!   `right` only (before the first leaf, index 0), `left` only (after the last, index n-1), both
//!   (between adjacent leaves i, i+1).
//! - membership: `{"included":{..}}` or `{"excluded":{..}}`.
//!
//! Unknown fields are refused. The tree size in a proof is checked against the size the verifier
//! already trusts (a dataset version's item count): an audit path can verify for more than one
//! size, so the size must never be taken from the proof itself.

use serde::{Deserialize, Serialize};

use super::wire::hex32_vec;
use super::{SetError, SetLeaf, SetSource};
use crate::hash::{Blake3Set, TreeHasher};
use crate::merkle::{self, ProofError};
use crate::types::{ContentId, Digest, LeafIndex, TreeSize};

/// A leaf, its position, and its audit path (leaf side first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetLeafProof {
    pub index: LeafIndex,
    pub leaf: SetLeaf,
    #[serde(with = "hex32_vec")]
    pub path: Vec<Digest>,
}

/// Proof that `leaf` is at `index` in a set of `size` leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetInclusionProof {
    #[serde(rename = "tree_size")]
    pub size: TreeSize,
    pub index: LeafIndex,
    pub leaf: SetLeaf,
    #[serde(with = "hex32_vec")]
    pub path: Vec<Digest>,
}

/// Proof that `id` is not in a set of `size` leaves: its neighbours, which are adjacent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetExclusionProof {
    pub id: ContentId,
    #[serde(rename = "tree_size")]
    pub size: TreeSize,
    /// The greatest leaf whose cid is below `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<SetLeafProof>,
    /// The least leaf whose cid is above `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<SetLeafProof>,
}

/// The four cases of an exclusion proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExclusionCase {
    Empty,
    BeforeFirst,
    Between,
    AfterLast,
}

/// Either proof, for one id: what a compliance bundle carries per (opt-out id, dataset version).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SetMembershipProof {
    Included(SetInclusionProof),
    Excluded(SetExclusionProof),
}

/// What a verified membership proof established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Membership {
    Included,
    Excluded,
}

impl SetExclusionProof {
    pub fn case(&self) -> ExclusionCase {
        match (&self.left, &self.right) {
            (None, None) => ExclusionCase::Empty,
            (None, Some(_)) => ExclusionCase::BeforeFirst,
            (Some(_), Some(_)) => ExclusionCase::Between,
            (Some(_), None) => ExclusionCase::AfterLast,
        }
    }
}

impl SetMembershipProof {
    /// The id this proof is about.
    pub fn id(&self) -> ContentId {
        match self {
            SetMembershipProof::Included(p) => p.leaf.cid,
            SetMembershipProof::Excluded(p) => p.id,
        }
    }

    /// Verifies the proof for `id` against the trusted `root` and `size`, and says which it is.
    pub fn verify(
        &self,
        id: &ContentId,
        root: &Digest,
        size: TreeSize,
    ) -> Result<Membership, SetError> {
        match self {
            SetMembershipProof::Included(p) => {
                verify_inclusion(p, id, root, size).map(|()| Membership::Included)
            }
            SetMembershipProof::Excluded(p) => {
                verify_exclusion(p, id, root, size).map(|()| Membership::Excluded)
            }
        }
    }
}

/// The inclusion proof of the leaf at `index`.
pub fn inclusion_proof_at<S: SetSource + ?Sized>(
    src: &S,
    index: LeafIndex,
) -> Result<SetInclusionProof, SetError> {
    let p = leaf_proof(src, index.0)?;
    Ok(SetInclusionProof {
        size: src.size(),
        index: p.index,
        leaf: p.leaf,
        path: p.path,
    })
}

/// The inclusion proof of `id`, or [`SetError::NotMember`].
pub fn inclusion_proof<S: SetSource + ?Sized>(
    src: &S,
    id: &ContentId,
) -> Result<SetInclusionProof, SetError> {
    match src.position(id)? {
        Ok(i) => inclusion_proof_at(src, LeafIndex(i)),
        Err(_) => Err(SetError::NotMember { id: *id }),
    }
}

/// The exclusion proof of `id`, or [`SetError::Member`].
pub fn exclusion_proof<S: SetSource + ?Sized>(
    src: &S,
    id: &ContentId,
) -> Result<SetExclusionProof, SetError> {
    let size = src.size();
    match src.position(id)? {
        Ok(index) => Err(SetError::Member { id: *id, index }),
        Err(p) => Ok(SetExclusionProof {
            id: *id,
            size,
            left: if p > 0 {
                Some(leaf_proof(src, p - 1)?)
            } else {
                None
            },
            right: if p < size.0 {
                Some(leaf_proof(src, p)?)
            } else {
                None
            },
        }),
    }
}

/// Inclusion if `id` is in the set, exclusion if not.
pub fn membership_proof<S: SetSource + ?Sized>(
    src: &S,
    id: &ContentId,
) -> Result<SetMembershipProof, SetError> {
    match src.position(id)? {
        Ok(i) => inclusion_proof_at(src, LeafIndex(i)).map(SetMembershipProof::Included),
        Err(_) => exclusion_proof(src, id).map(SetMembershipProof::Excluded),
    }
}

/// Checks that `proof` shows `id` in the set with `root` and `size`.
pub fn verify_inclusion(
    proof: &SetInclusionProof,
    id: &ContentId,
    root: &Digest,
    size: TreeSize,
) -> Result<(), SetError> {
    check_size(proof.size, size)?;
    if proof.leaf.cid != *id {
        return Err(SetError::WrongId {
            proof: proof.leaf.cid,
            expected: *id,
        });
    }
    verify_leaf(proof.index, &proof.leaf, &proof.path, root, size)
}

/// Checks that `proof` shows `id` absent from the set with `root` and `size`: ordering
/// (`left.cid < id < right.cid`), adjacency (`right.index == left.index + 1`, or the first / last
/// index when one side is missing, or an empty set with root `BLAKE3("")`), and both paths.
pub fn verify_exclusion(
    proof: &SetExclusionProof,
    id: &ContentId,
    root: &Digest,
    size: TreeSize,
) -> Result<(), SetError> {
    check_size(proof.size, size)?;
    if proof.id != *id {
        return Err(SetError::WrongId {
            proof: proof.id,
            expected: *id,
        });
    }
    if let Some(l) = &proof.left {
        if l.leaf.cid >= *id {
            return Err(SetError::NotOrdered);
        }
    }
    if let Some(r) = &proof.right {
        if r.leaf.cid <= *id {
            return Err(SetError::NotOrdered);
        }
    }
    let adjacent = match (&proof.left, &proof.right) {
        (None, None) => size.0 == 0,
        (None, Some(r)) => r.index.0 == 0,
        (Some(l), None) => size.0 > 0 && l.index.0 == size.0 - 1,
        (Some(l), Some(r)) => l.index.0.checked_add(1) == Some(r.index.0),
    };
    if !adjacent {
        return Err(SetError::NotAdjacent);
    }
    if size.0 == 0 {
        return if *root == Blake3Set::empty_root() {
            Ok(())
        } else {
            Err(SetError::Proof(ProofError::RootMismatch))
        };
    }
    for p in [&proof.left, &proof.right].into_iter().flatten() {
        verify_leaf(p.index, &p.leaf, &p.path, root, size)?;
    }
    Ok(())
}

fn check_size(proof: TreeSize, expected: TreeSize) -> Result<(), SetError> {
    if proof == expected {
        Ok(())
    } else {
        Err(SetError::SizeMismatch {
            proof: proof.0,
            expected: expected.0,
        })
    }
}

fn verify_leaf(
    index: LeafIndex,
    leaf: &SetLeaf,
    path: &[Digest],
    root: &Digest,
    size: TreeSize,
) -> Result<(), SetError> {
    merkle::verify_inclusion::<Blake3Set>(&leaf.leaf_hash(), index, size, path, root)?;
    Ok(())
}

/// The leaf at `index` with its audit path, read from `src`'s levels: at each level the sibling
/// of the running node, when there is one (an odd last node is carried up and adds nothing).
pub(super) fn leaf_proof<S: SetSource + ?Sized>(
    src: &S,
    index: u64,
) -> Result<SetLeafProof, SetError> {
    let size = src.size().0;
    if index >= size {
        return Err(SetError::Proof(ProofError::IndexOutOfRange { index, size }));
    }
    let leaf = src.leaf(LeafIndex(index))?;
    let mut path = Vec::with_capacity(64);
    let (mut idx, mut width, mut level) = (index, size, 0u32);
    while width > 1 {
        let sibling = idx ^ 1;
        if sibling < width {
            path.push(src.node(level, sibling)?);
        }
        idx >>= 1;
        width = width.div_ceil(2);
        level += 1;
    }
    Ok(SetLeafProof {
        index: LeafIndex(index),
        leaf,
        path,
    })
}
