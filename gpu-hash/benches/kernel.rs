//! The GPU backend's batch hashing end to end from host memory (pack, upload, the two kernels,
//! readback, CPU merge): `GpuHasher::hash_batch` over batches of 4 KiB items, next to the
//! `blake3` crate with rayon on the same items. Every GPU result is checked against the CPU's
//! once before it is timed.
//!
//! `WGPU_BACKEND=vulkan cargo bench -p gpu-hash --bench kernel -- --warm-up-time 1 --measurement-time 3`
//!
//! On a GPU: batches of 4, 64 and 256 MiB (the `auto` rule switches to the GPU from 16 MiB). On a
//! software adapter (Mesa's lavapipe, ~0.15 GB/s): one batch of 4 MiB only, to keep the run
//! short. Without any adapter the bench prints why and measures nothing.
//!
//! Throughput is printed in bytes/s of item data hashed.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use gpu_hash::{GpuConfig, GpuHasher};
use rayon::prelude::*;

const MIB: usize = 1 << 20;
const ITEM: usize = 4 << 10;

fn cpu_batch(items: &[&[u8]], out: &mut [[u8; 32]]) {
    out.par_iter_mut()
        .zip(items.par_iter())
        .for_each(|(o, i)| *o = *blake3::hash(i).as_bytes());
}

fn bench_batch(c: &mut Criterion) {
    // `backends: None` honours WGPU_BACKEND, as `prov hash --backend gpu` does.
    let probe = GpuConfig::default();
    let Some(first) = gpu_hash::adapters(&probe).into_iter().next() else {
        eprintln!(
            "gpu-hash kernel bench: SKIPPED, no gpu adapter \
             (check WGPU_BACKEND; mesa-vulkan-drivers provides lavapipe)"
        );
        return;
    };
    let (config, sizes) = if first.is_cpu() {
        let config = GpuConfig {
            batch_bytes: 4 * MIB,
            ..probe
        };
        (config, vec![4 * MIB])
    } else {
        (probe, vec![4 * MIB, 64 * MIB, 256 * MIB])
    };
    let gpu = match GpuHasher::new(&config) {
        Ok(gpu) => gpu,
        Err(e) => {
            eprintln!("gpu-hash kernel bench: SKIPPED, cannot open {first}: {e}");
            return;
        }
    };
    eprintln!(
        "gpu-hash kernel bench on {} (batch buffer {} MiB)",
        gpu.device(),
        gpu.batch_bytes() / MIB
    );

    let max = sizes.iter().copied().max().unwrap_or(0);
    let mut data = vec![0u8; max];
    blake3::Hasher::new()
        .update(b"gpu-hash kernel bench")
        .finalize_xof()
        .fill(&mut data);

    let mut g = c.benchmark_group("gpu_hash_batch");
    g.sample_size(10);
    for size in sizes {
        let items: Vec<&[u8]> = data[..size].chunks_exact(ITEM).collect();
        let mut out_gpu = vec![[0u8; 32]; items.len()];
        let mut out_cpu = vec![[0u8; 32]; items.len()];
        gpu.hash_batch(&items, &mut out_gpu)
            .expect("the gpu hashes a batch");
        cpu_batch(&items, &mut out_cpu);
        assert!(out_gpu == out_cpu, "gpu and cpu hashes differ");

        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(format!("gpu/4KiB_items/{}MiB", size / MIB), |b| {
            b.iter(|| {
                gpu.hash_batch(black_box(&items), &mut out_gpu)
                    .expect("the gpu hashes a batch");
                black_box(&out_gpu);
            })
        });
        g.bench_function(
            format!(
                "cpu_rayon_{}_threads/4KiB_items/{}MiB",
                rayon::current_num_threads(),
                size / MIB
            ),
            |b| {
                b.iter(|| {
                    cpu_batch(black_box(&items), &mut out_cpu);
                    black_box(&out_cpu);
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench_batch);
criterion_main!(benches);
