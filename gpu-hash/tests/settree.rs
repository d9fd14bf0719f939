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
