//! A sorted set's root (`verifier::set`'s tree: leaf `BLAKE3(0x00 || leaf)`, node
//! `BLAKE3(0x01 || left || right)`, RFC 6962 shape) on every core of a rayon pool, for the
//! builders that hold a set's leaves in memory (`prov publish`, the service's set ingest, the
//! benchmarks). The verifier's own builders stay single-threaded and free of rayon.
//!
//! Why the root is the same: in an RFC 6962 tree every split point of a range longer than
//! `2^k` leaves that starts at a multiple of `2^k` is itself a multiple of `2^k` (the largest
//! power of two below the range's length is at least `2^k`). So the roots of the aligned chunks of
//! [`CHUNK_LEAVES`] leaves (the last one shorter) are nodes of the whole tree, and the tree above
//! them is the RFC 6962 tree of those roots taken as leaf hashes: each chunk is built on its own
//! thread, and the chunk roots are combined on the calling one.

use ledger::set::SetLeaf;
use ledger::{Blake3Set, Digest, StreamingRoot, TreeHasher};
use rayon::prelude::*;

/// Leaves per chunk: a power of two; 4,096 leaves (288 KiB) keep a chunk in one core's cache and
/// give the pool thousands of chunks to balance on a large set.
pub const CHUNK_LEAVES: usize = 1 << 12;

/// The root of the set whose leaves (72 bytes each, in tree order, already sorted and unique) are
/// `leaves`, built on `pool` (rayon's global pool when `None`). Trailing bytes short of a leaf are
/// ignored, as `chunks_exact` would.
pub fn set_root(leaves: &[u8], pool: Option<&rayon::ThreadPool>) -> Digest {
    set_root_chunked(leaves, pool, CHUNK_LEAVES)
}

/// [`set_root`] with chunks of `chunk_leaves` leaves (a power of two; tests use small ones to
/// cross chunk boundaries).
pub fn set_root_chunked(
    leaves: &[u8],
    pool: Option<&rayon::ThreadPool>,
    chunk_leaves: usize,
) -> Digest {
    let chunk_leaves = chunk_leaves.max(1).next_power_of_two();
    let n = leaves.len() / SetLeaf::LEN;
    let leaves = &leaves[..n * SetLeaf::LEN];
    if n <= chunk_leaves {
        return chunk_root(leaves);
    }
    let roots = || -> Vec<Digest> {
        leaves
            .par_chunks(chunk_leaves * SetLeaf::LEN)
            .map(chunk_root)
            .collect()
    };
    let roots = match pool {
        Some(p) => p.install(roots),
        None => roots(),
    };
    let mut top = StreamingRoot::<Blake3Set>::new();
    for r in roots {
        top.push(r);
    }
    top.root()
}

/// The root of consecutive leaves, streamed (one hash per level of memory).
fn chunk_root(leaves: &[u8]) -> Digest {
    let mut s = StreamingRoot::<Blake3Set>::new();
    for leaf in leaves.chunks_exact(SetLeaf::LEN) {
        s.push(Blake3Set::leaf_hash(leaf));
    }
    s.root()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::set::SortedSet;
    use ledger::ContentId;

    fn leaves(n: usize) -> Vec<SetLeaf> {
        (0..n)
            .map(|i| {
                let mut cid = [0u8; 32];
                cid[..8].copy_from_slice(&(i as u64).to_be_bytes());
                cid[8] = (i * 7) as u8;
                SetLeaf {
                    cid: ContentId(cid),
                    size: i as u64 * 3,
                    meta: Digest([(i % 251) as u8; 32]),
                }
            })
            .collect()
    }

    #[test]
    fn parallel_root_equals_the_verifiers_around_chunk_boundaries() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for chunk in [1usize, 2, 4, 8] {
            for n in (0..=4 * chunk + 2).chain([63, 64, 65, 100, 127, 128, 129]) {
                let set = leaves(n);
                let bytes: Vec<u8> = set.iter().flat_map(|l| l.to_bytes()).collect();
                let want = SortedSet::new(set).unwrap().root();
                assert_eq!(
                    set_root_chunked(&bytes, Some(&pool), chunk),
                    want,
                    "n={n} chunk={chunk}"
                );
                assert_eq!(set_root_chunked(&bytes, None, chunk), want);
            }
        }
        let set = leaves(3 * CHUNK_LEAVES + 17);
        let bytes: Vec<u8> = set.iter().flat_map(|l| l.to_bytes()).collect();
        assert_eq!(set_root(&bytes, None), SortedSet::new(set).unwrap().root());
        assert_eq!(set_root(&[], None), Blake3Set::empty_root());
    }
}
