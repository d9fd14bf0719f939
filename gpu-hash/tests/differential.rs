//! The GPU against the `blake3` crate: random batches, boundary sizes, large items, subtrees far
//! into a huge input, and the errors callers can provoke.

mod common;

use blake3::hazmat::HasherExt;
use gpu_hash::{adapters, worth_it, Error, GpuConfig, GpuHasher, CHUNK_LEN};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

/// Lengths on both sides of every boundary the kernels branch on: a word, a block, a chunk, the
/// tests' segment (8 KiB) and the default segment (32 KiB).
fn boundary_len(rng: &mut StdRng) -> usize {
    let anchors = [
        0,
        4,
        64,
        128,
        1024,
        2048,
        3 * 1024,
        8 * 1024,
        9 * 1024,
        32 * 1024,
    ];
    let base = anchors[rng.gen_range(0..anchors.len())] as i64;
    (base + rng.gen_range(-2i64..=2)).max(0) as usize
}

fn check_batch(gpu: &gpu_hash::GpuHasher, items: &[&[u8]], what: &str) {
    let mut out = vec![[0u8; 32]; items.len()];
    if let Err(e) = gpu.hash_batch(items, &mut out) {
        panic!("{what}: {e}");
    }
    for (i, (item, got)) in items.iter().zip(&out).enumerate() {
        assert_eq!(
            got,
            blake3::hash(item).as_bytes(),
            "{what}: item {i}, {} bytes",
            item.len()
        );
    }
}

#[test]
fn random_batches_around_block_and_chunk_boundaries() {
    let Some(gpu) = common::gpu() else { return };
    for seed in 0..4u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut pool = vec![0u8; 1 << 20];
        rng.fill_bytes(&mut pool);
        // Items start at arbitrary (unaligned) addresses of one buffer.
        let items: Vec<&[u8]> = (0..300)
            .map(|_| {
                let len = if rng.gen_bool(0.8) {
                    boundary_len(&mut rng)
                } else {
                    rng.gen_range(0..20_000)
                };
                let start = rng.gen_range(0..pool.len() - len);
                &pool[start..start + len]
            })
            .collect();
        check_batch(&gpu, &items, &format!("seed {seed}"));
    }
}

#[test]
fn large_items_mixed_with_small_ones_span_several_batches() {
    // 1 MiB batches and 8 KiB segments: the 3 MiB item alone takes several batches.
    let Some(gpu) = common::gpu() else { return };
    let mut rng = StdRng::seed_from_u64(7);
    let mut big = vec![0u8; 3 * (1 << 20) + 517];
    rng.fill_bytes(&mut big);
    let items: Vec<&[u8]> = vec![
        b"",
        &big[..(1 << 20) - 1],
        &big[..64],
        &big,
        &big[1..(1 << 20) + 1],
        &big[..1025],
    ];
    check_batch(&gpu, &items, "mixed");
    assert_eq!(gpu.hash(&big).unwrap(), *blake3::hash(&big).as_bytes());
}

#[test]
fn default_config_matches_the_cpu() {
    let Some(gpu) = common::gpu_with(GpuConfig::default()) else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(11);
    let mut data = vec![0u8; 2 << 20];
    rng.fill_bytes(&mut data);
    let lens = [
        0,
        1,
        1023,
        1024,
        1025,
        32 * 1024,
        32 * 1024 + 1,
        100 * 1024,
        2 << 20,
    ];
    let items: Vec<&[u8]> = lens.iter().map(|&n| &data[..n]).collect();
    check_batch(&gpu, &items, "default config");
}

#[test]
fn subtrees_with_chunk_counters_past_2_pow_32() {
    let Some(gpu) = common::gpu() else { return };
    let mut rng = StdRng::seed_from_u64(42);
    let mut data = vec![0u8; 64 * CHUNK_LEN];
    rng.fill_bytes(&mut data);
    let chunk = CHUNK_LEN as u64;
    let cases: [(u64, usize); 6] = [
        (1 << 42, 64 * CHUNK_LEN), // counter 2^32: high word 1, several segments
        (1 << 42, 3000),           // a short right-edge subtree up there
        ((1 << 42) + 16 * chunk, 16 * CHUNK_LEN), // counter 2^32 + 16
        (((1u64 << 32) - 8) * chunk, 8 * CHUNK_LEN), // low word at its top, just below 2^32
        ((1u64 << 52) + 5 * chunk, CHUNK_LEN), // high word 2^20, odd low word
        ((1u64 << 40) * chunk, 40 * CHUNK_LEN + 9), // counter 2^40, ragged end
    ];
    for (offset, len) in cases {
        let want = blake3::Hasher::new()
            .set_input_offset(offset)
            .update(&data[..len])
            .finalize_non_root();
        let got = gpu.subtree_cv(&data[..len], offset).unwrap();
        assert_eq!(got, want, "subtree of {len} bytes at offset {offset:#x}");
    }
}

#[test]
fn errors_callers_can_provoke() {
    let Some(gpu) = common::gpu() else { return };
    let mut out = [[0u8; 32]; 1];
    assert!(matches!(
        gpu.hash_batch(&[b"a", b"b"], &mut out),
        Err(Error::OutputLength { items: 2, out: 1 })
    ));
    assert!(matches!(
        gpu.subtree_cv(b"", 1024),
        Err(Error::InvalidSubtree(_))
    ));
    assert!(matches!(
        gpu.subtree_cv(&[0; 2048], 1024),
        Err(Error::InvalidSubtree(_))
    ));
    gpu.hash_batch(&[], &mut []).unwrap();
    // An adapter exists (we have one open), so a bad config is the only possible failure.
    for bad in [
        GpuConfig {
            segment_chunks: 3,
            ..common::config()
        },
        GpuConfig {
            ring_depth: 0,
            ..common::config()
        },
        GpuConfig {
            batch_bytes: 1000,
            ..common::config()
        },
    ] {
        assert!(
            matches!(GpuHasher::new(&bad), Err(Error::Config(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn adapters_list_the_open_device_and_auto_refuses_cpu_adapters() {
    let Some(gpu) = common::gpu() else { return };
    let list = adapters(&common::config());
    assert!(
        list.contains(gpu.device()),
        "{list:?} lacks {}",
        gpu.device()
    );
    assert_eq!(worth_it(gpu.device(), 1 << 40), !gpu.device().is_cpu());
    assert!(!worth_it(gpu.device(), 0));
}

#[test]
fn many_tiny_items_overflow_the_segment_table_into_more_batches() {
    // 1 MiB batches hold 4096 segments: 10,000 items need three batches and wrap the ring.
    let Some(gpu) = common::gpu() else { return };
    let data = common::pattern(200);
    let items: Vec<&[u8]> = (0..10_000).map(|i| &data[i % 7..i % 7 + i % 71]).collect();
    check_batch(&gpu, &items, "tiny items");
}
