//! Large inputs streamed from a reader or a file (the `--backend gpu` large-file path): roots
//! equal to the `blake3` crate's around chunk, segment and block boundaries, short reads, read
//! errors, and the hasher still usable after one.

mod common;

use std::io::{self, Read};

use gpu_hash::{Error, GpuConfig, GpuHasher};

const BLOCK: usize = 64 << 10;

/// Blocks of 64 KiB (segments of 8 KiB) in a ring of 256 KiB batches: a few MiB is many blocks
/// and several laps of the ring.
fn gpu() -> Option<GpuHasher> {
    common::gpu_with(GpuConfig {
        batch_bytes: 256 << 10,
        ring_depth: 3,
        segment_chunks: 8,
        stream_block_bytes: BLOCK,
        ..GpuConfig::default()
    })
}

/// Hands out at most `step` bytes per read, and fails once `fail_at` bytes have been read.
struct Trickle<'a> {
    data: &'a [u8],
    pos: usize,
    step: usize,
    fail_at: Option<usize>,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.fail_at.is_some_and(|f| self.pos >= f) {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.step).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn streamed_roots_equal_the_cpu_around_block_boundaries() {
    let Some(gpu) = gpu() else { return };
    assert_eq!(gpu.stream_block_bytes(), BLOCK);
    let data = common::pattern(40 * BLOCK + 3000);
    let mut lens = vec![0, 1, 1023, 1024, 1025, 8191, 8192, 8193, data.len()];
    for k in [1, 2, 3, 4, 5, 8, 16, 17] {
        lens.extend([k * BLOCK - 1, k * BLOCK, k * BLOCK + 1, k * BLOCK + 1024]);
    }
    for len in lens {
        let want = *blake3::hash(&data[..len]).as_bytes();
        assert_eq!(gpu.hash_reader(&data[..len]).unwrap(), want, "len {len}");
    }
}

#[test]
fn short_reads_give_the_same_root() {
    let Some(gpu) = gpu() else { return };
    let data = common::pattern(7 * BLOCK + 777);
    let reader = Trickle {
        data: &data,
        pos: 0,
        step: 1000,
        fail_at: None,
    };
    assert_eq!(
        gpu.hash_reader(reader).unwrap(),
        *blake3::hash(&data).as_bytes()
    );
}

#[test]
fn a_read_error_is_reported_and_the_hasher_stays_usable() {
    let Some(gpu) = gpu() else { return };
    let data = common::pattern(12 * BLOCK);
    for fail_at in [0, BLOCK / 2, 5 * BLOCK] {
        let reader = Trickle {
            data: &data,
            pos: 0,
            step: 4096,
            fail_at: Some(fail_at),
        };
        assert!(
            matches!(gpu.hash_reader(reader), Err(Error::Io(_))),
            "fail_at {fail_at}"
        );
        assert_eq!(
            gpu.hash_reader(data.as_slice()).unwrap(),
            *blake3::hash(&data).as_bytes(),
            "after an error at {fail_at}"
        );
    }
}

#[test]
fn hash_file_streams_a_file_from_disk() {
    let Some(gpu) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let data = common::pattern(3 << 20 | 5);
    std::fs::write(&path, &data).unwrap();
    assert_eq!(
        gpu.hash_file(&path).unwrap(),
        *blake3::hash(&data).as_bytes()
    );
    assert!(matches!(
        gpu.hash_file(&dir.path().join("missing")),
        Err(Error::Io(_))
    ));
}
