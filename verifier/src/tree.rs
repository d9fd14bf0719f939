//! The log tree over stored hashes: the model of Go's `golang.org/x/mod/sumdb/tlog`, in Rust.
//!
//! The log does not fit in memory, so every hash of every complete subtree is stored once, when
//! it is completed, under a *stored hash index*: a single `u64` that numbers the hashes in the
//! order an append-only log produces them (leaf 0; leaf 1, node (1,0); leaf 2; leaf 3, node (1,1),
//! node (2,0); ...). Appending leaf `n` persists a contiguous run of indexes starting at
//! `stored_hash_count(n)`, so a store can write them with one sequential put. Roots and proofs of
//! any tree size are then a handful of reads of stored hashes through a [`HashReader`], batched
//! into one call each, which is what makes a disk- or network-backed reader fast.
//!
//! Everything here is SHA-256 ([`Sha256Log`]): this is the log, not the sets. No I/O happens
//! here; the reader does it.

use crate::hash::{Sha256Log, TreeHasher};
use crate::merkle::split_point;
use crate::types::{Digest, LeafIndex, TreeSize};

/// The largest tree this module handles. Stored hash indexes are about twice the tree size, so
/// 2^62 keeps every index inside a `u64` with room to spare; a size read from the network that is
/// larger is refused instead of overflowing.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// Why a root or proof could not be computed from stored hashes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("consistency proof needs 0 < old size {old} <= new size {new}")]
    BadConsistencyRange { old: u64, new: u64 },
    #[error("tree size {0} is larger than supported")]
    TooLarge(u64),
    #[error("stored hash {index} is not available")]
    MissingHash { index: u64 },
    #[error("hash reader returned {got} hashes for {want} indexes")]
    WrongHashCount { want: usize, got: usize },
    #[error("reading stored hashes: {0}")]
    Read(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A source of stored hashes: a database, a set of tiles, a `Vec` in memory.
///
/// Contract: `read_hashes` returns exactly one hash per requested index, in the order asked
/// (indexes may repeat and need not be sorted), or an error; never a partial answer, and for an
/// index it does not hold, [`TreeError::MissingHash`], never a made-up hash. It must be safe to
/// call concurrently with appends: a stored hash never changes once written. The functions here
/// only ask for hashes below `stored_hash_count(size)` of the size they are given, and batch:
/// one call per root or proof, so an implementation should make a multi-get cheap.
pub trait HashReader {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Digest>, TreeError>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Digest>, TreeError> {
        (**self).read_hashes(indexes)
    }
}

impl<R: HashReader + ?Sized> HashReader for Box<R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Digest>, TreeError> {
        (**self).read_hashes(indexes)
    }
}

impl<R: HashReader + ?Sized> HashReader for std::sync::Arc<R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Digest>, TreeError> {
        (**self).read_hashes(indexes)
    }
}

/// The stored hash index of the hash at `level` (0 = leaf hashes) and position `n` within that
/// level, i.e. the root of leaves `[n * 2^level, (n + 1) * 2^level)`.
///
/// That hash is stored right after leaf `m = (n + 1) * 2^level - 1` and its `level` ancestors
/// below it, and leaf `m`'s hash is at `stored_hash_count(m) = 2m - popcount(m)`.
/// Requires `(n + 1) * 2^level <= MAX_TREE_SIZE`.
pub fn stored_hash_index(level: u8, n: u64) -> u64 {
    let last_leaf = ((n + 1) << level) - 1;
    stored_hash_count(TreeSize(last_leaf)) + u64::from(level)
}

/// The inverse of [`stored_hash_index`]: `(level, n)`.
pub fn split_stored_hash_index(index: u64) -> (u8, u64) {
    // Leaf m's hash sits at 2m - popcount(m) <= index, so the leaf whose run holds `index` is at
    // least index / 2 and at most log2(index) further on.
    let mut m = index / 2;
    let mut at = stored_hash_count(TreeSize(m));
    // Leaf m's run is the leaf hash plus one hash per trailing one bit of m. Past u64::MAX the
    // run ends beyond any index. (A saturating add stuck at u64::MAX, which is never `> index`:
    // `split_stored_hash_index(u64::MAX)` looped forever; found by fuzzing.)
    while let Some(next) = at.checked_add(1 + u64::from(m.trailing_ones())) {
        if next > index {
            break;
        }
        m += 1;
        at = next;
    }
    let level = (index - at) as u8;
    (level, m >> level)
}

/// The number of hashes stored for a tree of `size` leaves: `2 * size - popcount(size)`.
/// It is also the stored hash index of leaf `size`'s hash, the first one its append writes.
pub fn stored_hash_count(size: TreeSize) -> u64 {
    2 * size.0 - u64::from(size.0.count_ones())
}

/// The root of the tree of `size` leaves (`SHA-256("")` for 0), from one read of at most 62
/// stored hashes.
pub fn tree_hash<R: HashReader + ?Sized>(size: TreeSize, reader: &R) -> Result<Digest, TreeError> {
    Ok(RightEdge::load(size, reader)?.root())
}

/// The inclusion proof (RFC 9162 2.1.3.1 audit path, leaf side first) of leaf `index` in the tree
/// of `size` leaves, from one read.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    size: TreeSize,
    index: LeafIndex,
    reader: &R,
) -> Result<Vec<Digest>, TreeError> {
    check_size(size.0)?;
    if index.0 >= size.0 {
        return Err(TreeError::IndexOutOfRange {
            index: index.0,
            size: size.0,
        });
    }
    let (mut lo, mut hi, m) = (0, size.0, index.0);
    let mut ranges = Vec::with_capacity(64);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if m < lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    ranges.reverse();
    range_hashes(&ranges, reader)
}

/// The consistency proof (RFC 9162 2.1.4.1) that the tree of `old` leaves is a prefix of the tree
/// of `new` leaves, from one read. Empty when `old == new`; an error when `old == 0` (nothing to
/// prove, and verifiers refuse it) or `old > new`.
pub fn consistency_proof<R: HashReader + ?Sized>(
    old: TreeSize,
    new: TreeSize,
    reader: &R,
) -> Result<Vec<Digest>, TreeError> {
    check_size(new.0)?;
    if old.0 == 0 || old.0 > new.0 {
        return Err(TreeError::BadConsistencyRange {
            old: old.0,
            new: new.0,
        });
    }
    // SUBPROOF(m, D[lo:hi], b) unrolled: `complete` is b, "old is a complete subtree of this".
    let (mut lo, mut hi, mut complete) = (0, new.0, true);
    let mut ranges = Vec::with_capacity(64);
    loop {
        let (n, m) = (hi - lo, old.0 - lo);
        if m == n {
            if !complete {
                ranges.push((lo, hi));
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            complete = false;
        }
    }
    ranges.reverse();
    range_hashes(&ranges, reader)
}

/// The compact range `[0, size)`: the roots of the maximal complete subtrees along the right edge
/// of the tree, one per set bit of `size`, largest first. It is all an appender needs to compute
/// every new stored hash and the new root without reading anything, so the sequencer keeps one in
/// memory across batches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RightEdge {
    size: u64,
    /// `(level, hash)`, levels strictly decreasing.
    stack: Vec<(u8, Digest)>,
}

impl RightEdge {
    /// The right edge of the empty tree.
    pub fn new() -> Self {
        RightEdge::default()
    }

    /// The right edge of the tree of `size` leaves, from one read.
    pub fn load<R: HashReader + ?Sized>(size: TreeSize, reader: &R) -> Result<Self, TreeError> {
        check_size(size.0)?;
        let levels: Vec<u8> = (0..64u8).rev().filter(|b| (size.0 >> b) & 1 == 1).collect();
        let indexes: Vec<u64> = levels
            .iter()
            .map(|&l| stored_hash_index(l, (size.0 >> l) - 1))
            .collect();
        let hashes = read_exact(reader, &indexes)?;
        Ok(RightEdge {
            size: size.0,
            stack: levels.into_iter().zip(hashes).collect(),
        })
    }

    pub fn size(&self) -> TreeSize {
        TreeSize(self.size)
    }

    /// Appends leaf `size` and pushes the hashes to persist for it onto `out`, in stored order:
    /// the leaf hash, then each subtree root it completes.
    pub fn append(&mut self, leaf_hash: Digest, out: &mut Vec<Digest>) {
        out.push(leaf_hash);
        let mut node = (0u8, leaf_hash);
        while let Some(&(level, left)) = self.stack.last() {
            if level != node.0 {
                break;
            }
            self.stack.pop();
            node = (level + 1, Sha256Log::node_hash(&left, &node.1));
            out.push(node.1);
        }
        self.stack.push(node);
        self.size += 1;
    }

    /// The root of the tree: the edge folded right to left, which is RFC 6962's split at the
    /// largest power of two.
    pub fn root(&self) -> Digest {
        let mut it = self.stack.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return Sha256Log::empty_root();
        };
        for (_, left) in it {
            acc = Sha256Log::node_hash(left, &acc);
        }
        acc
    }
}

/// All stored hashes of a tree, in memory: a [`HashReader`] for tests, benchmarks, and small
/// logs. Index `i` of `stored()` is stored hash index `i`.
#[derive(Clone, Debug, Default)]
pub struct MemoryHashes {
    hashes: Vec<Digest>,
    edge: RightEdge,
}

impl MemoryHashes {
    pub fn new() -> Self {
        MemoryHashes::default()
    }

    /// The tree whose leaf hashes are `leaf_hashes`, in order.
    pub fn from_leaf_hashes(leaf_hashes: &[Digest]) -> Self {
        let mut m = MemoryHashes::new();
        m.hashes.reserve(2 * leaf_hashes.len());
        for h in leaf_hashes {
            m.push_leaf_hash(*h);
        }
        m
    }

    /// Appends one leaf hash (already `SHA-256(0x00 || entry)`).
    pub fn push_leaf_hash(&mut self, leaf_hash: Digest) {
        self.edge.append(leaf_hash, &mut self.hashes);
    }

    pub fn size(&self) -> TreeSize {
        self.edge.size()
    }

    /// The current root, without reading anything.
    pub fn root(&self) -> Digest {
        self.edge.root()
    }

    /// Every stored hash, by stored hash index.
    pub fn stored(&self) -> &[Digest] {
        &self.hashes
    }
}

impl HashReader for MemoryHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Digest>, TreeError> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|u| self.hashes.get(u))
                    .copied()
                    .ok_or(TreeError::MissingHash { index: i })
            })
            .collect()
    }
}

fn check_size(size: u64) -> Result<(), TreeError> {
    if size > MAX_TREE_SIZE {
        return Err(TreeError::TooLarge(size));
    }
    Ok(())
}

/// Reads `indexes` and holds the reader to its contract of one hash per index.
fn read_exact<R: HashReader + ?Sized>(
    reader: &R,
    indexes: &[u64],
) -> Result<Vec<Digest>, TreeError> {
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = reader.read_hashes(indexes)?;
    if hashes.len() != indexes.len() {
        return Err(TreeError::WrongHashCount {
            want: indexes.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

/// The stored hash indexes of the maximal complete subtrees covering `[lo, hi)`, left to right.
/// For the ranges of an RFC 6962 proof (`lo` a multiple of the next power of two above
/// `hi - lo`), they shrink left to right and fold right to left into the range's hash.
fn subtree_indexes(mut lo: u64, hi: u64, out: &mut Vec<u64>) {
    while lo < hi {
        let fits = 63 - (hi - lo).leading_zeros();
        let level = lo.trailing_zeros().min(fits) as u8;
        out.push(stored_hash_index(level, lo >> level));
        lo += 1 << level;
    }
}

/// The hash of each range in `ranges`, with one read for all of them.
fn range_hashes<R: HashReader + ?Sized>(
    ranges: &[(u64, u64)],
    reader: &R,
) -> Result<Vec<Digest>, TreeError> {
    let mut indexes = Vec::with_capacity(ranges.len() * 2);
    let mut ends = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges {
        subtree_indexes(lo, hi, &mut indexes);
        ends.push(indexes.len());
    }
    let hashes = read_exact(reader, &indexes)?;
    let mut out = Vec::with_capacity(ranges.len());
    let mut start = 0;
    for end in ends {
        let part = &hashes[start..end];
        let mut it = part.iter().rev();
        if let Some(&last) = it.next() {
            out.push(it.fold(last, |acc, left| Sha256Log::node_hash(left, &acc)));
        }
        start = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle;
    use proptest::prelude::*;

    /// Distinct stand-ins for leaf hashes: the tree treats them as opaque 32 bytes, and debug
    /// builds hash slowly.
    fn leaves(n: u64) -> Vec<Digest> {
        (0..n)
            .map(|i| {
                let mut d = [0u8; 32];
                d[24..].copy_from_slice(&i.to_be_bytes());
                Digest(d)
            })
            .collect()
    }

    #[test]
    fn stored_hash_index_numbers_hashes_in_append_order() {
        // Leaf 0; leaf 1, (1,0); leaf 2; leaf 3, (1,1), (2,0); leaf 4.
        let order = [
            (0, 0),
            (0, 1),
            (1, 0),
            (0, 2),
            (0, 3),
            (1, 1),
            (2, 0),
            (0, 4),
        ];
        for (i, &(level, n)) in order.iter().enumerate() {
            assert_eq!(stored_hash_index(level, n), i as u64, "({level},{n})");
            assert_eq!(split_stored_hash_index(i as u64), (level, n));
        }
    }

    #[test]
    fn split_stored_hash_index_terminates_at_the_top_of_u64() {
        // Regression (found by fuzzing): u64::MAX looped forever.
        for index in [u64::MAX, u64::MAX - 1, u64::MAX - 64, u64::MAX / 2] {
            let (level, _) = split_stored_hash_index(index);
            assert!(level < 64, "{index}: level {level}");
        }
    }

    #[test]
    fn split_inverts_stored_hash_index() {
        for i in 0..5000u64 {
            let (level, n) = split_stored_hash_index(i);
            assert_eq!(stored_hash_index(level, n), i);
        }
        for &(level, n) in &[(0u8, (1u64 << 61) - 1), (40, 12345), (61, 0), (0, 1 << 40)] {
            assert_eq!(
                split_stored_hash_index(stored_hash_index(level, n)),
                (level, n)
            );
        }
    }

    #[test]
    fn stored_hash_count_matches_memory_hashes() {
        let mut m = MemoryHashes::new();
        assert_eq!(stored_hash_count(TreeSize(0)), 0);
        for (i, h) in leaves(300).into_iter().enumerate() {
            assert_eq!(
                stored_hash_count(TreeSize(i as u64)),
                m.stored().len() as u64
            );
            m.push_leaf_hash(h);
        }
        assert_eq!(stored_hash_count(m.size()), m.stored().len() as u64);
    }

    #[test]
    fn a_right_edge_loaded_mid_tree_appends_what_the_whole_tree_stores() {
        let l = leaves(140);
        let full = MemoryHashes::from_leaf_hashes(&l);
        for start in 0..l.len() {
            for end in [start, start + 1, (start + 37).min(l.len()), l.len()] {
                let prefix = MemoryHashes::from_leaf_hashes(&l[..start]);
                let mut edge = RightEdge::load(TreeSize(start as u64), &prefix).unwrap();
                let mut got = Vec::new();
                for h in &l[start..end] {
                    edge.append(*h, &mut got);
                }
                let a = stored_hash_count(TreeSize(start as u64)) as usize;
                let b = stored_hash_count(TreeSize(end as u64)) as usize;
                assert_eq!(got, full.stored()[a..b], "{start}..{end}");
                assert_eq!(edge.root(), merkle::root::<Sha256Log>(&l[..end]));
            }
        }
    }

    #[test]
    fn roots_and_proofs_match_the_in_memory_tree_for_all_small_trees() {
        let l = leaves(130);
        let m = MemoryHashes::from_leaf_hashes(&l);
        let roots: Vec<Digest> = (0..=l.len())
            .map(|n| merkle::root::<Sha256Log>(&l[..n]))
            .collect();
        for size in 0..=l.len() {
            let s = TreeSize(size as u64);
            let root = tree_hash(s, &m).unwrap();
            assert_eq!(root, roots[size], "size {size}");
            for i in 0..size {
                let idx = LeafIndex(i as u64);
                let p = inclusion_proof(s, idx, &m).unwrap();
                // The naive proof costs O(size) hashes: compare every index of the smaller
                // trees and the edges of the larger ones; every proof is verified below.
                if size <= 64 || i < 3 || i + 3 >= size || i % 17 == 0 {
                    let want = merkle::inclusion_proof::<Sha256Log>(&l[..size], idx).unwrap();
                    assert_eq!(p, want, "size {size} index {i}");
                }
                merkle::verify_inclusion::<Sha256Log>(&l[i], idx, s, &p, &root).unwrap();
            }
            for (old, old_root) in roots.iter().enumerate().take(size + 1).skip(1) {
                let o = TreeSize(old as u64);
                let p = consistency_proof(o, s, &m).unwrap();
                merkle::verify_consistency::<Sha256Log>(o, s, old_root, &root, &p)
                    .unwrap_or_else(|e| panic!("{old} -> {size}: {e}"));
            }
        }
    }

    #[test]
    fn consistency_proofs_have_rfc_9162_lengths() {
        // RFC 9162 2.1.4.3's example tree of 7 leaves: proofs from 3 and 4 have 4 and 1 hashes.
        let m = MemoryHashes::from_leaf_hashes(&leaves(7));
        assert_eq!(
            consistency_proof(TreeSize(3), TreeSize(7), &m)
                .unwrap()
                .len(),
            4
        );
        assert_eq!(
            consistency_proof(TreeSize(4), TreeSize(7), &m)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            consistency_proof(TreeSize(6), TreeSize(7), &m)
                .unwrap()
                .len(),
            3
        );
        assert!(consistency_proof(TreeSize(7), TreeSize(7), &m)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn out_of_range_requests_are_errors() {
        let m = MemoryHashes::from_leaf_hashes(&leaves(10));
        let r = inclusion_proof(TreeSize(10), LeafIndex(10), &m);
        assert!(matches!(
            r,
            Err(TreeError::IndexOutOfRange {
                index: 10,
                size: 10
            })
        ));
        let r = consistency_proof(TreeSize(0), TreeSize(10), &m);
        assert!(matches!(
            r,
            Err(TreeError::BadConsistencyRange { old: 0, new: 10 })
        ));
        let r = consistency_proof(TreeSize(11), TreeSize(10), &m);
        assert!(matches!(
            r,
            Err(TreeError::BadConsistencyRange { old: 11, new: 10 })
        ));
        // A tree the reader does not hold: its stored hashes are missing, not invented.
        assert!(matches!(
            tree_hash(TreeSize(11), &m),
            Err(TreeError::MissingHash { .. })
        ));
        let r = tree_hash(TreeSize(u64::MAX), &m);
        assert!(matches!(r, Err(TreeError::TooLarge(u64::MAX))));
    }

    /// A reader that breaks the contract by dropping the last hash.
    struct ShortReader(MemoryHashes);

    impl HashReader for ShortReader {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Digest>, TreeError> {
            let mut v = self.0.read_hashes(indexes)?;
            v.pop();
            Ok(v)
        }
    }

    #[test]
    fn a_reader_returning_too_few_hashes_is_an_error_not_a_panic() {
        let r = ShortReader(MemoryHashes::from_leaf_hashes(&leaves(13)));
        let got = tree_hash(TreeSize(13), &r);
        assert!(matches!(
            got,
            Err(TreeError::WrongHashCount { want: 3, got: 2 })
        ));
        let got = inclusion_proof(TreeSize(13), LeafIndex(4), &r);
        assert!(matches!(got, Err(TreeError::WrongHashCount { .. })));
    }

    #[test]
    fn right_edge_root_tracks_appends() {
        let l = leaves(70);
        let mut e = RightEdge::new();
        let mut sink = Vec::new();
        assert_eq!(e.root(), Sha256Log::empty_root());
        for (i, h) in l.iter().enumerate() {
            e.append(*h, &mut sink);
            assert_eq!(e.root(), merkle::root::<Sha256Log>(&l[..=i]));
        }
        let m = MemoryHashes::from_leaf_hashes(&l);
        assert_eq!(RightEdge::load(TreeSize(70), &m).unwrap(), e);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn proofs_verify_for_random_trees(size in 1u64..4000, a in any::<u64>(), b in any::<u64>()) {
            let l = leaves(size);
            let m = MemoryHashes::from_leaf_hashes(&l);
            let s = TreeSize(size);
            let root = tree_hash(s, &m).unwrap();
            prop_assert_eq!(root, merkle::root::<Sha256Log>(&l));
            let idx = LeafIndex(a % size);
            let p = inclusion_proof(s, idx, &m).unwrap();
            prop_assert!(merkle::verify_inclusion::<Sha256Log>(&l[idx.0 as usize], idx, s, &p, &root).is_ok());
            let old = TreeSize(1 + b % size);
            let old_root = tree_hash(old, &m).unwrap();
            prop_assert_eq!(old_root, merkle::root::<Sha256Log>(&l[..old.0 as usize]));
            let c = consistency_proof(old, s, &m).unwrap();
            prop_assert!(merkle::verify_consistency::<Sha256Log>(old, s, &old_root, &root, &c).is_ok());
        }
    }
}
