//! RFC 6962 / RFC 9162 tree math over in-memory hashes, generic over the tree's hash
//! ([`TreeHasher`]): the root of a list of leaf hashes, a streaming root in O(log n) memory,
//! inclusion proofs over a slice, and the verification of inclusion and consistency proofs
//! (RFC 9162 sections 2.1.3.2 and 2.1.4.2).
//!
//! Proof generation from a store of hashes (the log, which does not fit in memory) lives in
//! `tree`; this module is what every verifier needs and what sets are built from.

use crate::hash::TreeHasher;
use crate::types::{Digest, LeafIndex, TreeSize};

/// Why a proof did not verify. Every variant means "do not trust this"; they differ only so that
/// a person reading the error learns what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("proof has the wrong number of hashes")]
    WrongLength,
    #[error("computed root does not match the expected root")]
    RootMismatch,
    #[error("consistency proof from an empty tree is not defined")]
    EmptyOldTree,
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew { old: u64, new: u64 },
}

/// The root of the tree whose leaf hashes are `leaves`, in order. `H("")` for no leaves.
pub fn root<H: TreeHasher>(leaves: &[Digest]) -> Digest {
    let mut s = StreamingRoot::<H>::new();
    for l in leaves {
        s.push(*l);
    }
    s.root()
}

/// The largest power of two strictly smaller than `n` (`n >= 2`): where RFC 6962 splits a tree.
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Builds a root from leaf hashes pushed one at a time, keeping one hash per level (a "compact
/// range"): O(log n) memory, so a set of 100M leaves can be hashed while it streams past.
#[derive(Clone, Debug)]
pub struct StreamingRoot<H: TreeHasher> {
    /// `stack[i]` is the root of a complete subtree; sizes strictly decrease towards the top.
    stack: Vec<(u32, Digest)>,
    count: u64,
    _h: std::marker::PhantomData<H>,
}

impl<H: TreeHasher> Default for StreamingRoot<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: TreeHasher> StreamingRoot<H> {
    pub fn new() -> Self {
        StreamingRoot {
            stack: Vec::with_capacity(64),
            count: 0,
            _h: std::marker::PhantomData,
        }
    }

    /// Appends the next leaf hash (already `H(0x00 || leaf)`).
    pub fn push(&mut self, leaf_hash: Digest) {
        let mut node = (0u32, leaf_hash);
        while let Some(&(level, top)) = self.stack.last() {
            if level != node.0 {
                break;
            }
            self.stack.pop();
            node = (level + 1, H::node_hash(&top, &node.1));
        }
        self.stack.push(node);
        self.count += 1;
    }

    pub fn size(&self) -> TreeSize {
        TreeSize(self.count)
    }

    /// The root of the leaves pushed so far: the complete subtrees folded right to left, which
    /// is exactly RFC 6962's split at the largest power of two.
    pub fn root(&self) -> Digest {
        let mut it = self.stack.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return H::empty_root();
        };
        for &(_, left) in it {
            acc = H::node_hash(&left, &acc);
        }
        acc
    }
}

/// The audit path of leaf `index` in the tree of `leaves` (RFC 9162 2.1.3.1), leaf-side first.
pub fn inclusion_proof<H: TreeHasher>(
    leaves: &[Digest],
    index: LeafIndex,
) -> Result<Vec<Digest>, ProofError> {
    let n = leaves.len() as u64;
    if index.0 >= n {
        return Err(ProofError::IndexOutOfRange {
            index: index.0,
            size: n,
        });
    }
    let mut proof = Vec::new();
    path::<H>(leaves, index.0 as usize, &mut proof);
    Ok(proof)
}

fn path<H: TreeHasher>(leaves: &[Digest], m: usize, out: &mut Vec<Digest>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len() as u64) as usize;
    if m < k {
        path::<H>(&leaves[..k], m, out);
        out.push(root::<H>(&leaves[k..]));
    } else {
        path::<H>(&leaves[k..], m - k, out);
        out.push(root::<H>(&leaves[..k]));
    }
}

/// The root that `proof` implies for `leaf_hash` at `index` in a tree of `size` leaves.
pub fn root_from_inclusion_proof<H: TreeHasher>(
    leaf_hash: &Digest,
    index: LeafIndex,
    size: TreeSize,
    proof: &[Digest],
) -> Result<Digest, ProofError> {
    if index.0 >= size.0 {
        return Err(ProofError::IndexOutOfRange {
            index: index.0,
            size: size.0,
        });
    }
    let (mut fnode, mut snode) = (index.0, size.0 - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = H::node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = H::node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

/// RFC 9162 2.1.3.2: does `proof` show `leaf_hash` at `index` in the tree of `size` with `root`?
pub fn verify_inclusion<H: TreeHasher>(
    leaf_hash: &Digest,
    index: LeafIndex,
    size: TreeSize,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), ProofError> {
    let r = root_from_inclusion_proof::<H>(leaf_hash, index, size, proof)?;
    if &r == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// RFC 9162 2.1.4.2: does `proof` show that the tree (`old_size`, `old_root`) is a prefix of
/// (`new_size`, `new_root`)? A proof from size 0 is an error, as in the transparency-dev vectors:
/// every tree extends the empty one, so such a "proof" proves nothing and is refused.
pub fn verify_consistency<H: TreeHasher>(
    old_size: TreeSize,
    new_size: TreeSize,
    old_root: &Digest,
    new_root: &Digest,
    proof: &[Digest],
) -> Result<(), ProofError> {
    let (first, second) = (old_size.0, new_size.0);
    if first > second {
        return Err(ProofError::OldLargerThanNew {
            old: first,
            new: second,
        });
    }
    if first == second {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if first == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let mut path: Vec<&Digest> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(old_root);
    }
    path.extend(proof.iter());

    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*path[0], *path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = H::node_hash(c, &fr);
            sr = H::node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = H::node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr == old_root && &sr == new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{Blake3Set, Sha256Log};

    fn naive_root<H: TreeHasher>(l: &[Digest]) -> Digest {
        match l.len() {
            0 => H::empty_root(),
            1 => l[0],
            n => {
                let k = split_point(n as u64) as usize;
                H::node_hash(&naive_root::<H>(&l[..k]), &naive_root::<H>(&l[k..]))
            }
        }
    }

    fn leaves<H: TreeHasher>(n: usize) -> Vec<Digest> {
        (0..n)
            .map(|i| H::leaf_hash(&(i as u64).to_be_bytes()))
            .collect()
    }

    #[test]
    fn streaming_root_matches_recursive_definition() {
        for n in 0..70 {
            let l = leaves::<Sha256Log>(n);
            assert_eq!(root::<Sha256Log>(&l), naive_root::<Sha256Log>(&l), "n={n}");
            let l = leaves::<Blake3Set>(n);
            assert_eq!(root::<Blake3Set>(&l), naive_root::<Blake3Set>(&l), "n={n}");
        }
    }

    #[test]
    fn every_inclusion_proof_verifies_and_tampering_fails() {
        for n in 1..40usize {
            let l = leaves::<Sha256Log>(n);
            let r = root::<Sha256Log>(&l);
            for i in 0..n {
                let p = inclusion_proof::<Sha256Log>(&l, LeafIndex(i as u64)).unwrap();
                let (idx, size) = (LeafIndex(i as u64), TreeSize(n as u64));
                verify_inclusion::<Sha256Log>(&l[i], idx, size, &p, &r).unwrap();
                if let Some(first) = p.first() {
                    let mut bad = p.clone();
                    bad[0] = Sha256Log::leaf_hash(&first.0);
                    assert!(verify_inclusion::<Sha256Log>(&l[i], idx, size, &bad, &r).is_err());
                }
                if n > 1 {
                    let other = LeafIndex(((i + 1) % n) as u64);
                    assert!(
                        verify_inclusion::<Sha256Log>(&l[i], other, size, &p, &r).is_err(),
                        "n={n} i={i}"
                    );
                }
            }
        }
    }
}
