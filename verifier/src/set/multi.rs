//! One proof deciding membership of many ids at once, in `rs_merkle`'s multi-proof layout.
//!
//! The proof reveals, for every id, either its leaf or its two neighbours (one at either end of
//! the set), and then the fewest extra hashes that rebuild the root from all revealed leaves:
//! level by level from the leaves, left to right, each sibling not already known or computable.
//! That is `rs_merkle`'s layout, and verification is `rs_merkle`'s [`rs_merkle::MerkleProof`]
//! with [`Blake3Node`], whose odd-last-node rule gives exactly the RFC 6962 tree. We build the
//! hash list ourselves from a [`SetSource`] (a 100M-leaf set is never loaded into an
//! `rs_merkle::MerkleTree`), and tests check it equals what `rs_merkle` produces.
//!
//! JSON: `{"tree_size":n,"leaves":[{"index":i,"leaf":{..}},..],"hashes":["<hex>",..]}`, leaves
//! by increasing index.

use serde::{Deserialize, Serialize};

use super::wire::hex32_vec;
use super::{Membership, SetError, SetLeaf, SetSource};
use crate::hash::{Blake3Set, TreeHasher};
use crate::merkle::ProofError;
use crate::types::{ContentId, Digest, LeafIndex, TreeSize};

/// `rs_merkle`'s hasher for set trees. `hash(data)` is the leaf hash `BLAKE3(0x00 || data)`, so
/// leaves are handed to `rs_merkle` already hashed; a node is `BLAKE3(0x01 || left || right)`,
/// and a node without a right sibling is carried up unchanged (the RFC 6962 shape).
#[derive(Clone, Copy, Debug, Default)]
pub struct Blake3Node;

impl rs_merkle::Hasher for Blake3Node {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        Blake3Set::leaf_hash(data).0
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => Blake3Set::node_hash(&Digest(*left), &Digest(*r)).0,
            None => *left,
        }
    }
}

/// A revealed leaf and its position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexedLeaf {
    pub index: LeafIndex,
    pub leaf: SetLeaf,
}

/// A multi-proof: revealed leaves (increasing index) and the helper hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetMultiProof {
    #[serde(rename = "tree_size")]
    pub size: TreeSize,
    pub leaves: Vec<IndexedLeaf>,
    #[serde(with = "hex32_vec")]
    pub hashes: Vec<Digest>,
}

/// Builds one proof deciding every id in `ids` (in any order, repeats allowed).
pub fn multi_proof<S: SetSource + ?Sized>(
    src: &S,
    ids: &[ContentId],
) -> Result<SetMultiProof, SetError> {
    let n = src.size().0;
    let mut indices = Vec::with_capacity(ids.len() * 2);
    for id in ids {
        match src.position(id)? {
            Ok(i) => indices.push(i),
            Err(p) => {
                if p > 0 {
                    indices.push(p - 1);
                }
                if p < n {
                    indices.push(p);
                }
            }
        }
    }
    indices.sort_unstable();
    indices.dedup();
    let leaves = indices
        .iter()
        .map(|&i| {
            Ok(IndexedLeaf {
                index: LeafIndex(i),
                leaf: src.leaf(LeafIndex(i))?,
            })
        })
        .collect::<Result<Vec<_>, SetError>>()?;
    let hashes = helper_positions(&indices, n)
        .into_iter()
        .map(|(level, index)| src.node(level, index))
        .collect::<Result<Vec<_>, SetError>>()?;
    Ok(SetMultiProof {
        size: TreeSize(n),
        leaves,
        hashes,
    })
}

/// [`multi_proof`] in bounded memory: every `batch` ids (or leaves, or hashes) a fresh source
/// from `open`, so a source that caches what it reads (a stored set) never holds more than one
/// batch's worth, whatever the number of ids. `open` is also where a caller stops the work (it
/// may fail, and the build stops there). The proof is the same as [`multi_proof`]'s.
pub fn multi_proof_batched<S, F>(
    mut open: F,
    ids: &[ContentId],
    batch: usize,
) -> Result<SetMultiProof, SetError>
where
    S: SetSource,
    F: FnMut() -> Result<S, SetError>,
{
    let batch = batch.max(1);
    let mut n = None;
    let mut indices = Vec::with_capacity(ids.len() * 2);
    for chunk in ids.chunks(batch) {
        let src = open()?;
        let size = src.size().0;
        if *n.get_or_insert(size) != size {
            return Err(SetError::Source(
                "the set changed size while proving".into(),
            ));
        }
        for id in chunk {
            match src.position(id)? {
                Ok(i) => indices.push(i),
                Err(p) => {
                    if p > 0 {
                        indices.push(p - 1);
                    }
                    if p < size {
                        indices.push(p);
                    }
                }
            }
        }
    }
    let n = match n {
        Some(n) => n,
        None => open()?.size().0,
    };
    indices.sort_unstable();
    indices.dedup();
    let mut leaves = Vec::with_capacity(indices.len());
    for chunk in indices.chunks(batch) {
        let src = open()?;
        for &i in chunk {
            leaves.push(IndexedLeaf {
                index: LeafIndex(i),
                leaf: src.leaf(LeafIndex(i))?,
            });
        }
    }
    let positions = helper_positions(&indices, n);
    let mut hashes = Vec::with_capacity(positions.len());
    for chunk in positions.chunks(batch) {
        let src = open()?;
        for &(level, index) in chunk {
            hashes.push(src.node(level, index)?);
        }
    }
    Ok(SetMultiProof {
        size: TreeSize(n),
        leaves,
        hashes,
    })
}

/// Verifies `proof` against the trusted `root` and `size` and decides each of `ids`, in order.
/// Fails if any id is not decided by the revealed leaves, if the leaves are not strictly
/// increasing in both index and cid, if the number of hashes is not exactly what the revealed
/// positions need, or if the root does not match.
pub fn verify_multi(
    proof: &SetMultiProof,
    ids: &[ContentId],
    root: &Digest,
    size: TreeSize,
) -> Result<Vec<Membership>, SetError> {
    if proof.size != size {
        return Err(SetError::SizeMismatch {
            proof: proof.size.0,
            expected: size.0,
        });
    }
    for w in proof.leaves.windows(2) {
        if w[0].index >= w[1].index {
            return Err(SetError::MalformedMulti("leaf indices not increasing"));
        }
        if w[0].leaf.cid >= w[1].leaf.cid {
            return Err(SetError::NotOrdered);
        }
    }
    if let Some(last) = proof.leaves.last() {
        if last.index.0 >= size.0 {
            return Err(SetError::Proof(ProofError::IndexOutOfRange {
                index: last.index.0,
                size: size.0,
            }));
        }
    }
    let decided = ids
        .iter()
        .map(|id| decide(proof, id, size.0))
        .collect::<Result<Vec<_>, SetError>>()?;
    let indices: Vec<u64> = proof.leaves.iter().map(|l| l.index.0).collect();
    if helper_positions(&indices, size.0).len() != proof.hashes.len() {
        return Err(SetError::MalformedMulti("wrong number of hashes"));
    }
    if size.0 == 0 {
        return if *root == Blake3Set::empty_root() {
            Ok(decided)
        } else {
            Err(SetError::Proof(ProofError::RootMismatch))
        };
    }
    if proof.leaves.is_empty() {
        // Nothing revealed, nothing claimed (`ids` was empty, or `decide` failed above).
        return Ok(decided);
    }
    let leaf_hashes: Vec<[u8; 32]> = proof.leaves.iter().map(|l| l.leaf.leaf_hash().0).collect();
    let computed = rebuild_root(&indices, leaf_hashes, &proof.hashes, size.0)
        .map_err(SetError::MalformedMulti)?;
    if computed == *root {
        Ok(decided)
    } else {
        Err(SetError::Proof(ProofError::RootMismatch))
    }
}

/// The root that the revealed leaves (their hashes at `indices`, sorted, unique, below `size`,
/// at least one) and the helper `hashes` (in [`helper_positions`] order, exactly that many)
/// rebuild in a tree of `size` leaves: `rs_merkle`'s multi-proof verification with
/// [`Blake3Node`], in one pass level by level and without `rs_merkle`'s allocations (a test
/// checks it against `rs_merkle` itself). Shared by set multi-proofs and range proofs
/// (`crate::range`).
pub(crate) fn rebuild_root(
    indices: &[u64],
    leaf_hashes: Vec<[u8; 32]>,
    hashes: &[Digest],
    size: u64,
) -> Result<Digest, &'static str> {
    if indices.is_empty() || indices.len() != leaf_hashes.len() {
        return Err("no leaves to rebuild a root from");
    }
    if indices.windows(2).any(|w| w[0] >= w[1]) || indices[indices.len() - 1] >= size {
        return Err("leaf indices not increasing or beyond the tree");
    }
    let mut cur: Vec<(u64, Digest)> = indices
        .iter()
        .zip(leaf_hashes)
        .map(|(&i, h)| (i, Digest(h)))
        .collect();
    let mut next: Vec<(u64, Digest)> = Vec::with_capacity(cur.len());
    let mut helpers = hashes.iter();
    let mut width = size;
    while width > 1 {
        next.clear();
        let mut i = 0;
        while i < cur.len() {
            let (x, d) = cur[i];
            let parent = if x & 1 == 1 {
                let left = helpers.next().ok_or("too few hashes")?;
                Blake3Set::node_hash(left, &d)
            } else if let Some(&(_, r)) = cur.get(i + 1).filter(|n| n.0 == x + 1) {
                i += 1;
                Blake3Set::node_hash(&d, &r)
            } else if x + 1 < width {
                let right = helpers.next().ok_or("too few hashes")?;
                Blake3Set::node_hash(&d, right)
            } else {
                d // the odd last node, carried up
            };
            next.push((x >> 1, parent));
            i += 1;
        }
        std::mem::swap(&mut cur, &mut next);
        width = width.div_ceil(2);
    }
    if helpers.next().is_some() {
        return Err("too many hashes");
    }
    Ok(cur[0].1)
}

/// Decides `id` from the revealed leaves: its own leaf, or two revealed leaves around it that
/// are adjacent in the set (or the first / last leaf of the set).
fn decide(proof: &SetMultiProof, id: &ContentId, size: u64) -> Result<Membership, SetError> {
    let leaves = &proof.leaves;
    let p = match leaves.binary_search_by(|l| l.leaf.cid.cmp(id)) {
        Ok(_) => return Ok(Membership::Included),
        Err(p) => p,
    };
    let left = p.checked_sub(1).and_then(|i| leaves.get(i));
    let right = leaves.get(p);
    let adjacent = match (left, right) {
        (None, None) => size == 0,
        (None, Some(r)) => r.index.0 == 0,
        (Some(l), None) => l.index.0 + 1 == size,
        (Some(l), Some(r)) => l.index.0 + 1 == r.index.0,
    };
    if adjacent {
        Ok(Membership::Excluded)
    } else {
        Err(SetError::Undecided { id: *id })
    }
}

/// The (level, index) of every helper hash for the revealed leaf `indices` (sorted, unique) in a
/// tree of `n` leaves, in `rs_merkle`'s order: by level from the leaves, then by index.
pub(crate) fn helper_positions(indices: &[u64], n: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut cur = indices.to_vec();
    let (mut width, mut level) = (n, 0u32);
    while width > 1 && !cur.is_empty() {
        let mut i = 0;
        while i < cur.len() {
            let x = cur[i];
            if x & 1 == 0 && cur.get(i + 1) == Some(&(x + 1)) {
                i += 2; // both children known: the parent needs no helper
                continue;
            }
            if (x ^ 1) < width {
                out.push((level, x ^ 1));
            }
            i += 1;
        }
        cur.iter_mut().for_each(|x| *x >>= 1);
        cur.dedup();
        width = width.div_ceil(2);
        level += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
    use super::*;
    use crate::set::{SetSource, SortedSet};

    /// The batched build is the same proof as the one-source build, for any batch size.
    #[test]
    fn batched_multi_proof_equals_multi_proof() {
        let set = SortedSet::from_ids((0..300u32).map(|i| ContentId::of(&i.to_be_bytes())));
        let mut ids: Vec<ContentId> = (0..300u32)
            .step_by(7)
            .map(|i| ContentId::of(&i.to_be_bytes()))
            .chain((1000..1040u32).map(|i| ContentId::of(&i.to_be_bytes())))
            .collect();
        ids.sort();
        let want = multi_proof(&set, &ids).unwrap();
        for batch in [1, 3, 16, 1000] {
            let mut opened = 0;
            let got = multi_proof_batched(
                || {
                    opened += 1;
                    Ok(&set)
                },
                &ids,
                batch,
            )
            .unwrap();
            assert_eq!(got, want, "batch {batch}");
            if batch == 1 {
                assert!(opened > ids.len(), "a fresh source per id");
            }
        }
        let m = verify_multi(&want, &ids, &set.root(), set.size()).unwrap();
        assert_eq!(m.iter().filter(|m| **m == Membership::Included).count(), 43);
    }

    /// The one-pass rebuild is `rs_merkle`'s multi-proof root, for every tree size up to 70 and
    /// many revealed index sets (the helper hashes taken from the real tree).
    #[test]
    fn rebuild_root_equals_rs_merkle() {
        let mut x = 0x2545f4914f6cdd1du64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for n in 1..=70u64 {
            let set = SortedSet::from_ids((0..n).map(|i| ContentId::of(&i.to_be_bytes())));
            let leaf_hashes: Vec<[u8; 32]> = set.leaf_hashes().iter().map(|h| h.0).collect();
            let tree = rs_merkle::MerkleTree::<Blake3Node>::from_leaves(&leaf_hashes);
            for _ in 0..20 {
                let mut idx: Vec<u64> = (0..1 + rnd() % 6).map(|_| rnd() % n).collect();
                idx.sort_unstable();
                idx.dedup();
                let positions: Vec<usize> = idx.iter().map(|&i| i as usize).collect();
                let proof = tree.proof(&positions);
                let helpers: Vec<Digest> =
                    proof.proof_hashes().iter().map(|h| Digest(*h)).collect();
                let ours: Vec<Digest> = helper_positions(&idx, n)
                    .into_iter()
                    .map(|(l, i)| set.node(l, i).unwrap())
                    .collect();
                assert_eq!(helpers, ours, "n={n} idx={idx:?}");
                let leaves: Vec<[u8; 32]> = idx.iter().map(|&i| leaf_hashes[i as usize]).collect();
                let want = proof.root(&positions, &leaves, n as usize).unwrap();
                let got = rebuild_root(&idx, leaves.clone(), &helpers, n).unwrap();
                assert_eq!(got.0, want, "n={n} idx={idx:?}");
                assert_eq!(got, set.root());
                if !helpers.is_empty() {
                    assert!(rebuild_root(&idx, leaves.clone(), &helpers[1..], n).is_err());
                }
                let mut extra = helpers.clone();
                extra.push(Digest::default());
                assert!(rebuild_root(&idx, leaves, &extra, n).is_err());
            }
        }
    }

    /// `open` failing stops the build (how a caller cancels it).
    #[test]
    fn a_failing_open_stops_the_build() {
        let set = SortedSet::from_ids((0..10u32).map(|i| ContentId::of(&i.to_be_bytes())));
        let ids = [ContentId::of(b"x")];
        let r = multi_proof_batched::<&SortedSet, _>(
            || Err(SetError::Source("cancelled".into())),
            &ids,
            4,
        );
        assert!(matches!(r, Err(SetError::Source(_))));
        let _ = set;
    }
}
