//! Set trees on the device against the verifier's own (`verifier::set::SortedSet`), for sizes
//! around every power of two, across several device-side chunks, and a leaf buffer that is not
//! whole leaves.

mod common;

use gpu_hash::{Error, GpuConfig, GpuHasher, SET_LEAF_LEN};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use verifier::set::{SetLeaf, SortedSet};

/// `n` random leaves sorted by content id, as a set stores them, and their concatenation.
fn sorted_leaves(n: usize, seed: u64) -> (SortedSet, Vec<u8>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut raw: Vec<[u8; SET_LEAF_LEN]> = (0..n)
        .map(|_| {
            let mut b = [0u8; SET_LEAF_LEN];
            rng.fill_bytes(&mut b);
            b
        })
        .collect();
    raw.sort();
    let leaves: Vec<SetLeaf> = raw.iter().map(SetLeaf::from_bytes).collect();
    let bytes: Vec<u8> = leaves.iter().flat_map(|l| l.to_bytes()).collect();
    (SortedSet::new(leaves).expect("sorted leaves"), bytes)
}

fn gpu(chunk: usize) -> Option<GpuHasher> {
    common::gpu_with(GpuConfig {
        batch_bytes: 1 << 20,
        set_chunk_leaves: chunk,
        ..GpuConfig::default()
    })
}

#[test]
fn set_root_equals_the_verifiers_for_many_sizes() {
    // Chunks of 8 leaves: every size above 8 is folded from several device subtrees.
    let Some(small) = gpu(8) else { return };
    let mut sizes = vec![0, 1, 2, 3, 5, 7, 100, 1000];
    for p in [2usize, 4, 8, 16, 32, 64, 128, 256, 512] {
        sizes.extend([p - 1, p, p + 1]);
    }
    for (seed, &n) in sizes.iter().enumerate() {
        let (set, bytes) = sorted_leaves(n, seed as u64);
        assert_eq!(
            small.set_root(&bytes).unwrap(),
            set.root().0,
            "{n} leaves, chunks of 8"
        );
    }
    // One chunk of up to 4096 leaves: the whole tree on the device.
    let Some(big) = gpu(4096) else { return };
    for (seed, n) in [1usize, 2, 3, 4095, 4096, 4097, 10_001]
        .into_iter()
        .enumerate()
    {
        let (set, bytes) = sorted_leaves(n, 100 + seed as u64);
        assert_eq!(big.set_root(&bytes).unwrap(), set.root().0, "{n} leaves");
    }
}

#[test]
fn set_root_refuses_bytes_that_are_not_whole_leaves() {
    let Some(gpu) = gpu(8) else { return };
    assert!(matches!(
        gpu.set_root(&[0u8; SET_LEAF_LEN + 1]),
        Err(Error::SetLeaves(73))
    ));
    // And the empty set is the verifier's empty root.
    assert_eq!(
        gpu.set_root(&[]).unwrap(),
        SortedSet::new(Vec::new()).unwrap().root().0
    );
}

/// The roots of aligned 256-leaf chunks (the service's set records, `ledger::store::sets`), read
/// back before any fold: each equals the RFC 6962 subtree root the verifier computes from that
/// chunk's leaf hashes, across several device-side parts (tree chunks of 1,024 leaves) and for
/// other chunk sizes; bytes that are not whole chunks, and chunks larger than the tree's, are
/// refused.
#[test]
fn chunk_roots_equal_the_verifiers_subtree_roots() {
    use verifier::hash::{Blake3Set, TreeHasher};
    let Some(gpu) = gpu(1024) else { return };
    for (seed, (records, chunk)) in [
        (1usize, 256usize),
        (4, 256),
        (9, 256),
        (5, 1),
        (3, 2),
        (2, 1024),
    ]
    .into_iter()
    .enumerate()
    {
        let (_, bytes) = sorted_leaves(records * chunk, 200 + seed as u64);
        let want: Vec<[u8; 32]> = bytes
            .chunks(chunk * SET_LEAF_LEN)
            .map(|c| {
                let hashes: Vec<_> = c
                    .chunks_exact(SET_LEAF_LEN)
                    .map(Blake3Set::leaf_hash)
                    .collect();
                verifier::merkle::root::<Blake3Set>(&hashes).0
            })
            .collect();
        let got = gpu.set_chunk_roots(&bytes, chunk).unwrap();
        assert_eq!(got.len(), records);
        assert_eq!(got, want, "{records} chunks of {chunk} leaves");
    }
    assert!(gpu.set_chunk_roots(&[], 256).unwrap().is_empty());
    let (_, bytes) = sorted_leaves(257, 7);
    assert!(matches!(
        gpu.set_chunk_roots(&bytes, 256),
        Err(Error::SetLeaves(_))
    ));
    assert!(matches!(
        gpu.set_chunk_roots(&bytes[..256 * SET_LEAF_LEN], 3),
        Err(Error::Config(_))
    ));
    let (_, big) = sorted_leaves(2048, 8);
    assert!(matches!(
        gpu.set_chunk_roots(&big, 2048),
        Err(Error::Config(_))
    ));
    // The root is still the verifier's after chunk roots resized the read-back buffers.
    let (set, bytes) = sorted_leaves(3000, 9);
    assert_eq!(gpu.set_root(&bytes).unwrap(), set.root().0);
}
