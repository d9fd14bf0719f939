//! Set benchmarks: building a 1M-leaf set from sorted leaves (goal under 1 s on 2 cores), and
//! inclusion / exclusion / multi-proof verification per second, in a 1M-leaf set.
//!
//! `cargo bench -p verifier --bench sets -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use verifier::set::{verify_exclusion, verify_inclusion, verify_multi, SetLeaf, SortedSet};
use verifier::{ContentId, Digest};

const N: u64 = 1_000_000;

fn sorted_leaves(n: u64) -> Vec<SetLeaf> {
    let mut v: Vec<SetLeaf> = (0..n)
        .map(|i| SetLeaf {
            cid: ContentId::of(&i.to_le_bytes()),
            size: i,
            meta: Digest::default(),
        })
        .collect();
    v.sort_unstable_by_key(|l| l.cid);
    v
}

fn build(c: &mut Criterion) {
    let leaves = sorted_leaves(N);
    let mut g = c.benchmark_group("set_build");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N));
    g.bench_function("1M_sorted_leaves", |b| {
        b.iter_batched(
            || leaves.clone(),
            |l| SortedSet::new(l).map(|s| s.root()),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    let set = SortedSet::new(sorted_leaves(N)).unwrap();
    let (root, size) = (set.root(), set.size());
    let members: Vec<ContentId> = set
        .leaves()
        .iter()
        .step_by(997)
        .map(|l| l.cid)
        .take(1000)
        .collect();
    let absent: Vec<ContentId> = (0..1000u64)
        .map(|i| ContentId::of(format!("absent {i}").as_bytes()))
        .collect();
    let inc: Vec<_> = members
        .iter()
        .map(|id| set.inclusion_proof(id).unwrap())
        .collect();
    let exc: Vec<_> = absent
        .iter()
        .map(|id| set.exclusion_proof(id).unwrap())
        .collect();

    let mut g = c.benchmark_group("set_verify_1M");
    g.throughput(Throughput::Elements(inc.len() as u64));
    g.bench_function("inclusion", |b| {
        b.iter(|| {
            for (p, id) in inc.iter().zip(&members) {
                verify_inclusion(p, id, &root, size).unwrap();
            }
        })
    });
    g.throughput(Throughput::Elements(exc.len() as u64));
    g.bench_function("exclusion", |b| {
        b.iter(|| {
            for (p, id) in exc.iter().zip(&absent) {
                verify_exclusion(p, id, &root, size).unwrap();
            }
        })
    });
    let ids: Vec<ContentId> = absent[..100].to_vec();
    let multi = set.multi_proof(&ids).unwrap();
    g.throughput(Throughput::Elements(ids.len() as u64));
    g.bench_function("multi_100_ids", |b| {
        b.iter(|| verify_multi(&multi, &ids, &root, size).unwrap())
    });
    g.finish();
}

criterion_group!(benches, build, verify);
criterion_main!(benches);
