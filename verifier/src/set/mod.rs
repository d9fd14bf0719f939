//! Sorted sets (DESIGN.md, "Set leaves and proofs"): a dataset version's manifest, a batch of
//! opt-outs, a model's weight files. Leaves are sorted by content id and unique; the tree is the
//! RFC 6962 shape with BLAKE3 ([`crate::Blake3Set`]).
//!
//! Sortedness is what makes exclusion provable, so every way into a set checks it: building a
//! [`SortedSet`], streaming a root with [`SetRootBuilder`], and every proof verifier, which checks
//! the order of the leaves it is shown.
//!
//! - [`SortedSet`]: the in-memory set, with every tree level kept, so proofs cost O(log n).
//! - [`SetSource`]: what proof building needs from a set too large for memory (leaves and subtree
//!   roots by position); [`SortedSet`] is one, a store of 100M leaves on disk is another.
//! - [`proof`]: inclusion, exclusion and membership proofs, their JSON, and their verification.
//! - [`multi`]: one proof for many ids at once, in `rs_merkle`'s multi-proof layout.
//! - [`meta`]: leaf metadata (its digest, shape, and the source leaves it gives); [`stats`]: the
//!   statistics of a set with metadata.

use serde::{Deserialize, Serialize};

use crate::hash::Blake3Set;
use crate::merkle::{ProofError, StreamingRoot};
use crate::types::{ContentId, Digest, LeafIndex, TreeSize};

pub(crate) mod build;
pub mod meta;
pub mod multi;
pub mod proof;
pub mod stats;
pub mod upload;
pub(crate) mod wire;

pub use multi::{
    multi_proof, multi_proof_batched, verify_multi, Blake3Node, IndexedLeaf, SetMultiProof,
};
pub use proof::{
    exclusion_proof, inclusion_proof, inclusion_proof_at, membership_proof, verify_exclusion,
    verify_inclusion, ExclusionCase, Membership, SetExclusionProof, SetInclusionProof,
    SetLeafProof, SetMembershipProof,
};
pub use wire::{parse_membership_proof, parse_membership_proof_json, print_membership_proof};

/// Why a set could not be built, or a set proof could not be made or did not verify. Every
/// verification variant means "do not trust this"; they differ so a person learns what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    #[error("leaf {index} is not greater than the leaf before it")]
    NotSorted { index: u64 },
    #[error("leaf {index} repeats the content id of the leaf before it")]
    Duplicate { index: u64 },
    #[error("{id} is not in the set")]
    NotMember { id: ContentId },
    #[error("{id} is in the set at index {index}")]
    Member { id: ContentId, index: u64 },
    #[error("proof is for a set of {proof} leaves, expected {expected}")]
    SizeMismatch { proof: u64, expected: u64 },
    #[error("proof is for {proof}, expected {expected}")]
    WrongId {
        proof: ContentId,
        expected: ContentId,
    },
    #[error("proof leaves are not adjacent or not at the ends of the set")]
    NotAdjacent,
    #[error("proof leaves are not ordered around the id")]
    NotOrdered,
    #[error("multi-proof does not decide {id}")]
    Undecided { id: ContentId },
    #[error("multi-proof is malformed: {0}")]
    MalformedMulti(&'static str),
    #[error("set proof path: {0}")]
    Proof(#[from] ProofError),
    #[error("set source: {0}")]
    Source(String),
}

/// One set leaf: `cid (32 bytes) || size (u64 big-endian) || meta (32 bytes)`, 72 bytes.
/// `meta` is the BLAKE3 of the item's metadata in canonical JSON (RFC 8785), or 32 zero bytes.
///
/// JSON form: `{"cid":"blake3:<hex>","size":<u64>,"meta":"<64 lowercase hex>"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "wire::LeafJson", from = "wire::LeafJson")]
pub struct SetLeaf {
    pub cid: ContentId,
    pub size: u64,
    pub meta: Digest,
}

impl SetLeaf {
    pub const LEN: usize = 72;

    /// A leaf that only names an id (size 0, no metadata): the leaves of an opt-out set.
    pub fn id_only(cid: ContentId) -> Self {
        SetLeaf {
            cid,
            size: 0,
            meta: Digest::default(),
        }
    }

    pub fn to_bytes(&self) -> [u8; 72] {
        let mut out = [0u8; 72];
        out[..32].copy_from_slice(&self.cid.0);
        out[32..40].copy_from_slice(&self.size.to_be_bytes());
        out[40..].copy_from_slice(&self.meta.0);
        out
    }

    pub fn from_bytes(b: &[u8; 72]) -> Self {
        let mut cid = [0u8; 32];
        cid.copy_from_slice(&b[..32]);
        let mut size = [0u8; 8];
        size.copy_from_slice(&b[32..40]);
        let mut meta = [0u8; 32];
        meta.copy_from_slice(&b[40..]);
        SetLeaf {
            cid: ContentId(cid),
            size: u64::from_be_bytes(size),
            meta: Digest(meta),
        }
    }

    /// `BLAKE3(0x00 || leaf bytes)`, the same as `Blake3Set::leaf_hash(&self.to_bytes())` but
    /// hashed from one 73-byte buffer in a single call: this is the inner loop of a set build.
    pub fn leaf_hash(&self) -> Digest {
        let mut buf = [0u8; 1 + Self::LEN];
        buf[1..33].copy_from_slice(&self.cid.0);
        buf[33..41].copy_from_slice(&self.size.to_be_bytes());
        buf[41..].copy_from_slice(&self.meta.0);
        Digest(*blake3::hash(&buf).as_bytes())
    }
}

/// Checks that `leaves` are strictly increasing by content id, naming the first offending
/// position: the ledger refuses a set that is not, since exclusion proofs rely on it.
pub fn check_sorted(leaves: &[SetLeaf]) -> Result<(), SetError> {
    for (i, w) in leaves.windows(2).enumerate() {
        let index = i as u64 + 1;
        match w[0].cid.cmp(&w[1].cid) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => return Err(SetError::Duplicate { index }),
            std::cmp::Ordering::Greater => return Err(SetError::NotSorted { index }),
        }
    }
    Ok(())
}

/// What proof building needs from a set, so a set too large for memory (100M leaves on disk)
/// proves membership without being loaded: leaves by position, and subtree roots.
pub trait SetSource {
    /// The number of leaves.
    fn size(&self) -> TreeSize;
    /// The leaf at `index` (below [`SetSource::size`]).
    fn leaf(&self, index: LeafIndex) -> Result<SetLeaf, SetError>;
    /// The root of the leaves `[index << level, min((index + 1) << level, size))`: a node of the
    /// tree built level by level, where a level's odd last node is carried up unchanged. That
    /// tree is exactly RFC 6962's (split at the largest power of two). Level 0 is leaf hashes.
    fn node(&self, level: u32, index: u64) -> Result<Digest, SetError>;

    /// `Ok(i)` if `id` is leaf `i`, else `Err(p)`: the position it would be inserted at. The
    /// default is a binary search over [`SetSource::leaf`]; a store with an index may do better.
    fn position(&self, id: &ContentId) -> Result<Result<u64, u64>, SetError> {
        let (mut lo, mut hi) = (0u64, self.size().0);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.leaf(LeafIndex(mid))?.cid.cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Ok(mid)),
            }
        }
        Ok(Err(lo))
    }
}

/// An in-memory sorted set with every level of its tree, so that proofs are O(log n) lookups.
/// About 136 bytes per leaf (the leaf and two hashes on average).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortedSet {
    leaves: Vec<SetLeaf>,
    /// `levels[0]` are leaf hashes; `levels[k + 1]` pairs `levels[k]`, carrying an odd last up.
    levels: Vec<Vec<Digest>>,
}

impl SortedSet {
    /// Builds the set, or refuses leaves that are not strictly increasing by content id.
    pub fn new(leaves: Vec<SetLeaf>) -> Result<Self, SetError> {
        check_sorted(&leaves)?;
        let levels = build::levels(&leaves);
        Ok(SortedSet { leaves, levels })
    }

    /// Builds a set of bare ids (an opt-out set), sorting and de-duplicating them first.
    pub fn from_ids(ids: impl IntoIterator<Item = ContentId>) -> Self {
        let mut ids: Vec<ContentId> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let leaves: Vec<SetLeaf> = ids.into_iter().map(SetLeaf::id_only).collect();
        let levels = build::levels(&leaves);
        SortedSet { leaves, levels }
    }

    /// The set root; `BLAKE3("")` for the empty set.
    pub fn root(&self) -> Digest {
        build::root_of(&self.levels)
    }

    pub fn size(&self) -> TreeSize {
        TreeSize(self.leaves.len() as u64)
    }

    pub fn leaves(&self) -> &[SetLeaf] {
        &self.leaves
    }

    pub fn leaf_hashes(&self) -> &[Digest] {
        &self.levels[0]
    }

    pub fn contains(&self, id: &ContentId) -> bool {
        self.find(id).is_ok()
    }

    /// `Ok(i)` if `id` is leaf `i`, else `Err(p)` where it would be inserted.
    pub fn find(&self, id: &ContentId) -> Result<usize, usize> {
        self.leaves.binary_search_by(|l| l.cid.cmp(id))
    }

    pub fn inclusion_proof(&self, id: &ContentId) -> Result<SetInclusionProof, SetError> {
        proof::inclusion_proof(self, id)
    }

    pub fn exclusion_proof(&self, id: &ContentId) -> Result<SetExclusionProof, SetError> {
        proof::exclusion_proof(self, id)
    }

    /// Inclusion if `id` is in the set, exclusion if not.
    pub fn membership_proof(&self, id: &ContentId) -> Result<SetMembershipProof, SetError> {
        proof::membership_proof(self, id)
    }

    /// One proof deciding membership of every id in `ids`.
    pub fn multi_proof(&self, ids: &[ContentId]) -> Result<SetMultiProof, SetError> {
        multi::multi_proof(self, ids)
    }
}

/// A borrowed source is a source (every method forwarded, a faster `position` included).
impl<T: SetSource + ?Sized> SetSource for &T {
    fn size(&self) -> TreeSize {
        (**self).size()
    }
    fn leaf(&self, index: LeafIndex) -> Result<SetLeaf, SetError> {
        (**self).leaf(index)
    }
    fn node(&self, level: u32, index: u64) -> Result<Digest, SetError> {
        (**self).node(level, index)
    }
    #[allow(clippy::type_complexity)] // the trait's signature
    fn position(&self, id: &ContentId) -> Result<Result<u64, u64>, SetError> {
        (**self).position(id)
    }
}

impl SetSource for SortedSet {
    fn size(&self) -> TreeSize {
        SortedSet::size(self)
    }

    fn leaf(&self, index: LeafIndex) -> Result<SetLeaf, SetError> {
        self.leaves
            .get(index.0 as usize)
            .copied()
            .ok_or(SetError::Proof(ProofError::IndexOutOfRange {
                index: index.0,
                size: self.leaves.len() as u64,
            }))
    }

    fn node(&self, level: u32, index: u64) -> Result<Digest, SetError> {
        build::node_of(&self.levels, level, index)
            .ok_or_else(|| SetError::Source(format!("no node {index} at level {level}")))
    }

    fn position(&self, id: &ContentId) -> Result<Result<u64, u64>, SetError> {
        Ok(self.find(id).map(|i| i as u64).map_err(|p| p as u64))
    }
}

/// Computes a set's root from leaves streamed in order, checking sortedness on the way, in
/// O(log n) memory: how a store ingests a manifest of 100M leaves.
#[derive(Clone, Debug, Default)]
pub struct SetRootBuilder {
    last: Option<ContentId>,
    root: StreamingRoot<Blake3Set>,
}

impl SetRootBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the next leaf, refusing it (and naming its position) if it is not greater than
    /// the previous one.
    pub fn push(&mut self, leaf: &SetLeaf) -> Result<(), SetError> {
        let index = self.root.size().0;
        if let Some(last) = self.last {
            match last.cmp(&leaf.cid) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Err(SetError::Duplicate { index }),
                std::cmp::Ordering::Greater => return Err(SetError::NotSorted { index }),
            }
        }
        self.last = Some(leaf.cid);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::TreeHasher;
    use crate::merkle;

    pub(crate) fn leaf(n: u64) -> SetLeaf {
        SetLeaf {
            cid: ContentId::of(&n.to_be_bytes()),
            size: n,
            meta: Digest::default(),
        }
    }

    pub(crate) fn sorted_leaves(n: u64) -> Vec<SetLeaf> {
        let mut v: Vec<SetLeaf> = (0..n).map(leaf).collect();
        v.sort_by_key(|l| l.cid);
        v
    }

    #[test]
    fn leaf_bytes_round_trip() {
        let l = leaf(7);
        assert_eq!(SetLeaf::from_bytes(&l.to_bytes()), l);
        assert_eq!(l.leaf_hash(), Blake3Set::leaf_hash(&l.to_bytes()));
        assert_eq!(&l.to_bytes()[32..40], &7u64.to_be_bytes());
    }

    #[test]
    fn refuses_unsorted_and_duplicate_naming_the_position() {
        let mut v = sorted_leaves(5);
        v.swap(2, 3);
        assert_eq!(SortedSet::new(v), Err(SetError::NotSorted { index: 3 }));
        let mut v = sorted_leaves(5);
        v[4] = v[3];
        assert_eq!(SortedSet::new(v), Err(SetError::Duplicate { index: 4 }));
        let mut b = SetRootBuilder::new();
        let v = sorted_leaves(3);
        b.push(&v[1]).unwrap();
        assert_eq!(b.push(&v[0]), Err(SetError::NotSorted { index: 1 }));
        assert_eq!(b.push(&v[1]), Err(SetError::Duplicate { index: 1 }));
    }

    #[test]
    fn roots_match_rfc6962_code_and_streaming_builder() {
        for n in 0..=300u64 {
            let v = sorted_leaves(n);
            let hashes: Vec<Digest> = v.iter().map(SetLeaf::leaf_hash).collect();
            let want = merkle::root::<Blake3Set>(&hashes);
            let set = SortedSet::new(v.clone()).unwrap();
            assert_eq!(set.root(), want, "n={n}");
            let mut b = SetRootBuilder::new();
            for l in &v {
                b.push(l).unwrap();
            }
            assert_eq!((b.root(), b.size()), (want, TreeSize(n)));
        }
        assert_eq!(
            SortedSet::new(vec![]).unwrap().root(),
            Digest(*blake3::hash(b"").as_bytes())
        );
    }

    #[test]
    fn large_parallel_build_matches_streaming_root() {
        let v = sorted_leaves(70_001);
        let set = SortedSet::new(v.clone()).unwrap();
        let mut s = StreamingRoot::<Blake3Set>::new();
        v.iter().for_each(|l| s.push(l.leaf_hash()));
        assert_eq!(set.root(), s.root());
    }

    #[test]
    fn from_ids_sorts_and_dedups() {
        let ids = [
            ContentId::of(b"b"),
            ContentId::of(b"a"),
            ContentId::of(b"b"),
        ];
        let set = SortedSet::from_ids(ids);
        assert_eq!(set.size(), TreeSize(2));
        assert!(set.contains(&ContentId::of(b"a")));
        assert!(check_sorted(set.leaves()).is_ok());
    }
}
