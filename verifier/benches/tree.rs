//! The log tree's costs: the root of 10M leaf hashes (the append path, which also produces every
//! hash to persist, and the streaming root for comparison), and roots and proofs generated from
//! stored hashes of a 2^20-leaf tree held in memory (the store adds its own read cost on top).
//!
//! `cargo bench -p verifier --bench tree -- --warm-up-time 1 --measurement-time 3`
//! Throughput is elements/s: leaves per second for the 10M roots, proofs per second otherwise.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use verifier::tree::{consistency_proof, inclusion_proof, tree_hash, MemoryHashes, RightEdge};
use verifier::{leaf_hash, Digest, LeafIndex, Sha256Log, StreamingRoot, TreeSize};

const BIG: u64 = 10_000_000;
const PROOF_TREE: u64 = 1 << 20;

/// Distinct leaf hashes without paying for 10M SHA-256 calls in setup: only their bytes matter.
fn fake_leaf_hashes(n: u64) -> Vec<Digest> {
    (0..n)
        .map(|i| {
            let mut d = [0u8; 32];
            d[..8].copy_from_slice(&i.to_le_bytes());
            d[8..16].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
            Digest(d)
        })
        .collect()
}

fn bench_root_10m(c: &mut Criterion) {
    let leaves = fake_leaf_hashes(BIG);
    let mut g = c.benchmark_group("log_root_10M");
    g.sample_size(10);
    g.throughput(Throughput::Elements(BIG));
    g.bench_function("streaming_root", |b| {
        b.iter(|| {
            let mut s = StreamingRoot::<Sha256Log>::new();
            for l in &leaves {
                s.push(*l);
            }
            black_box(s.root())
        })
    });
    // The sequencer's path: a right edge in memory, emitting every hash to persist, in batches
    // of 4096 leaves whose output buffer is reused (the store would write it out).
    g.bench_function("right_edge_append_with_stored_hashes", |b| {
        let mut out = Vec::with_capacity(2 * 4096 + 64);
        b.iter(|| {
            let mut edge = RightEdge::new();
            for batch in leaves.chunks(4096) {
                out.clear();
                for l in batch {
                    edge.append(*l, &mut out);
                }
                black_box(&out);
            }
            black_box(edge.root())
        })
    });
    g.finish();
}

fn bench_proofs(c: &mut Criterion) {
    let leaves: Vec<Digest> = (0..PROOF_TREE)
        .map(|i| leaf_hash(&i.to_be_bytes()))
        .collect();
    let log = MemoryHashes::from_leaf_hashes(&leaves);
    let size = TreeSize(PROOF_TREE);
    // A cheap pseudo-random walk over indexes, so no proof is served from a warm cache alone.
    let next = |x: &mut u64| {
        *x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *x >> 40
    };

    let mut g = c.benchmark_group("proofs_from_stored_hashes_2^20");
    g.throughput(Throughput::Elements(1));
    let mut x = 1u64;
    g.bench_function("tree_hash", |b| {
        b.iter(|| {
            let s = 1 + next(&mut x) % PROOF_TREE;
            black_box(tree_hash(TreeSize(s), &log).expect("size is in the tree"))
        })
    });
    g.bench_function("inclusion_proof", |b| {
        b.iter(|| {
            let i = LeafIndex(next(&mut x) % PROOF_TREE);
            black_box(inclusion_proof(size, i, &log).expect("index is in the tree"))
        })
    });
    g.bench_function("consistency_proof", |b| {
        b.iter(|| {
            let old = TreeSize(1 + next(&mut x) % (PROOF_TREE - 1));
            black_box(consistency_proof(old, size, &log).expect("old is in the tree"))
        })
    });
    g.finish();
}

criterion_group!(benches, bench_root_10m, bench_proofs);
criterion_main!(benches);
