//! `bench/gpu.sh`'s measurements: GPU kernels on device-resident data, the host-to-device copy
//! bandwidth, end to end from host memory for one large input, one large file (streamed from the
//! page cache), many 4 KiB items and a set tree, the CPU (`blake3` with rayon on all cores, and
//! the verifier's own set-tree builder) on the same data, and the batch size from which the GPU
//! wins.
//!
//! Knobs (environment): `GPU_BENCH_SCALE` (default 1: a 4 GiB input, 1,048,576 items of 4 KiB
//! and a set of 10^8 leaves; 0.001 on a software adapter), `GPU_BENCH_BATCH_MIB` (default 256),
//! `GPU_BENCH_SET_LEAVES` (overrides the set's size), `WGPU_BACKEND`, `TMPDIR` (the large file).
//! Every GPU result is checked against the CPU's; a mismatch exits non-zero.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use blake3::hazmat::HasherExt;
use gpu_hash::{GpuConfig, GpuHasher};
use rayon::prelude::*;
use verifier::set::{SetLeaf, SortedSet};

const GIB: f64 = (1u64 << 30) as f64;
const ITEM: usize = 4096;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gpubench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn env_f64(name: &str, default: f64) -> Result<f64, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// Best wall time of `runs` calls (the first call is a warm-up and is not counted).
fn best<T>(runs: usize, mut f: impl FnMut() -> Result<T, String>) -> Result<(Duration, T), String> {
    let mut out = f()?;
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        out = f()?;
        best = best.min(start.elapsed());
    }
    Ok((best, out))
}

fn gbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e9
}

fn run() -> Result<(), String> {
    let scale = env_f64("GPU_BENCH_SCALE", 1.0)?;
    let batch_mib = env_f64("GPU_BENCH_BATCH_MIB", 256.0)? as usize;
    let large_len = ((4.0 * GIB * scale) as usize / ITEM * ITEM).max(1 << 20);
    let n_items = ((1u64 << 20) as f64 * scale) as usize;
    let n_items = n_items.max(256);
    let mut data = vec![0u8; large_len.max(n_items * ITEM)];
    data.par_chunks_mut(1 << 20).enumerate().for_each(|(i, c)| {
        let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (i as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        for b in c.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
        }
    });
    let config = GpuConfig {
        batch_bytes: batch_mib << 20,
        ..GpuConfig::default()
    };
    let gpu = GpuHasher::new(&config).map_err(|e| e.to_string())?;
    let err = |e: gpu_hash::Error| e.to_string();
    println!("device: {}", gpu.device());
    println!("cpu_threads: {}", rayon::current_num_threads());
    println!("batch_mib: {}", gpu.batch_bytes() >> 20);

    let up = gpu.measure_upload(8).map_err(err)?;
    println!("h2d_copy_gbps: {:.2}", up.gb_per_s());

    let (kernel, cvs) = gpu.measure_kernels(&data, 5).map_err(err)?;
    let seg = kernel.bytes as usize / 5 / cvs.len().max(1);
    for k in [0, cvs.len() - 1] {
        let want = blake3::Hasher::new()
            .set_input_offset((k * seg) as u64)
            .update(&data[k * seg..(k + 1) * seg])
            .finalize_non_root();
        if cvs[k] != want {
            return Err(format!("kernel chaining value {k} differs from the cpu's"));
        }
    }
    println!("kernel_gbps: {:.2}", kernel.gb_per_s());

    let large = &data[..large_len];
    let (t_gpu, h_gpu) = best(2, || gpu.hash(large).map_err(err))?;
    let (t_cpu, h_cpu) = best(2, || {
        Ok(*blake3::Hasher::new()
            .update_rayon(large)
            .finalize()
            .as_bytes())
    })?;
    if h_gpu != h_cpu {
        return Err("large input: gpu and cpu roots differ".into());
    }
    let e2e = gbps(large_len, t_gpu);
    println!("large_input_mib: {}", large_len >> 20);
    println!("e2e_large_gbps: {e2e:.2}");
    println!("e2e_large_pct_of_h2d: {:.0}", 100.0 * e2e / up.gb_per_s());
    println!("cpu_large_gbps: {:.2}", gbps(large_len, t_cpu));

    // The same bytes as a file, streamed from the page cache (the `prov hash` large-file path).
    let file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    std::fs::write(file.path(), large).map_err(|e| e.to_string())?;
    let (t_gpu, h_gpu) = best(2, || gpu.hash_file(file.path()).map_err(err))?;
    let (t_cpu, h_cpu) = best(2, || {
        blake3::Hasher::new()
            .update_mmap_rayon(file.path())
            .map(|h| *h.finalize().as_bytes())
            .map_err(|e| e.to_string())
    })?;
    if h_gpu != h_cpu {
        return Err("large file: gpu and cpu roots differ".into());
    }
    println!("e2e_file_gbps: {:.2}", gbps(large_len, t_gpu));
    println!(
        "e2e_file_pct_of_h2d: {:.0}",
        100.0 * gbps(large_len, t_gpu) / up.gb_per_s()
    );
    println!("cpu_file_gbps: {:.2}", gbps(large_len, t_cpu));
    drop(file);

    let items: Vec<&[u8]> = data[..n_items * ITEM].chunks(ITEM).collect();
    let mut out_gpu = vec![[0u8; 32]; items.len()];
    let mut out_cpu = vec![[0u8; 32]; items.len()];
    let (t_gpu, ()) = best(2, || gpu.hash_batch(&items, &mut out_gpu).map_err(err))?;
    let (t_cpu, ()) = best(2, || {
        cpu_batch(&items, &mut out_cpu);
        Ok(())
    })?;
    if out_gpu != out_cpu {
        return Err("small items: gpu and cpu hashes differ".into());
    }
    let bytes = n_items * ITEM;
    println!("small_items: {n_items}");
    println!("e2e_small_gbps: {:.2}", gbps(bytes, t_gpu));
    println!(
        "e2e_small_mitems_per_s: {:.2}",
        n_items as f64 / t_gpu.as_secs_f64() / 1e6
    );
    println!(
        "e2e_small_pct_of_h2d: {:.0}",
        100.0 * gbps(bytes, t_gpu) / up.gb_per_s()
    );
    println!("cpu_small_gbps: {:.2}", gbps(bytes, t_cpu));

    // Crossover: the smallest batch of 4 KiB items that the GPU hashes faster than the CPU.
    let mut crossover = None;
    let mut size = 64 << 10;
    while size <= bytes.min(1 << 30) {
        let part = &items[..size / ITEM];
        let (tg, ()) = best(3, || {
            gpu.hash_batch(part, &mut out_gpu[..part.len()])
                .map_err(err)
        })?;
        let (tc, ()) = best(3, || {
            cpu_batch(part, &mut out_cpu[..part.len()]);
            Ok(())
        })?;
        println!(
            "batch_{}kib_gpu_vs_cpu_speedup: {:.2}",
            size >> 10,
            tc.as_secs_f64() / tg.as_secs_f64()
        );
        if crossover.is_none() && tg < tc {
            crossover = Some(size);
        }
        size *= 4;
    }
    match crossover {
        Some(b) => println!("crossover_bytes: {b}"),
        None => println!("crossover_bytes: none (the cpu won at every size)"),
    }
    drop(data);
    set_tree(&gpu, scale)
}

/// A set of sorted 72-byte leaves (content ids increasing, the rest random): its root on the
/// device from host memory, against the verifier's all-cores builder.
fn set_tree(gpu: &GpuHasher, scale: f64) -> Result<(), String> {
    let n = match std::env::var("GPU_BENCH_SET_LEAVES") {
        Ok(v) => v
            .parse::<usize>()
            .map_err(|_| format!("GPU_BENCH_SET_LEAVES={v:?} is not a count"))?,
        Err(_) => ((1e8 * scale) as usize).max(1024),
    };
    let mut bytes = vec![0u8; n * 72];
    bytes.par_chunks_mut(72).enumerate().for_each(|(i, leaf)| {
        let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for b in leaf[8..].chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
        }
        leaf[..8].copy_from_slice(&(i as u64).to_be_bytes());
    });
    let (t_gpu, r_gpu) = best(2, || gpu.set_root(&bytes).map_err(|e| e.to_string()))?;
    let leaves: Vec<SetLeaf> = bytes
        .par_chunks(72)
        .map(|c| SetLeaf::from_bytes(c.try_into().unwrap_or(&[0u8; 72])))
        .collect();
    drop(bytes);
    // One run, timed alone: cloning 72 bytes a leaf inside the timing would flatter the GPU.
    let start = Instant::now();
    let r_cpu = SortedSet::new(leaves)
        .map(|s| s.root().0)
        .map_err(|e| e.to_string())?;
    let t_cpu = start.elapsed();
    if r_gpu != r_cpu {
        return Err("set tree: gpu and cpu roots differ".into());
    }
    println!("set_leaves: {n}");
    println!("e2e_set_tree_s: {:.3}", t_gpu.as_secs_f64());
    println!(
        "e2e_set_tree_mleaves_per_s: {:.2}",
        n as f64 / t_gpu.as_secs_f64() / 1e6
    );
    println!("cpu_set_tree_s: {:.3}", t_cpu.as_secs_f64());
    println!(
        "set_tree_gpu_vs_cpu_speedup: {:.2}",
        t_cpu.as_secs_f64() / t_gpu.as_secs_f64()
    );
    Ok(())
}

fn cpu_batch(items: &[&[u8]], out: &mut [[u8; 32]]) {
    out.par_iter_mut()
        .zip(items.par_iter())
        .for_each(|(o, i)| *o = *blake3::hash(i).as_bytes());
}
