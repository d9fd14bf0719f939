//! Helpers shared by the corpus tests: an independent computation of a set's root from DESIGN.md
//! (BLAKE3 one-shot ids, 72-byte leaves, the ledger's RFC 6962 tree), and corpus builders.
#![allow(dead_code)] // each test file uses a different subset

use std::io::Cursor;
use std::path::{Path, PathBuf};

use hasher::{HashConfig, ManifestReader, Summary};
use ledger::{Blake3Set, Digest};

/// The root DESIGN.md defines for items with no metadata: ids sorted, duplicates merged.
pub fn expected_root_no_meta<I: AsRef<[u8]>>(items: &[I]) -> (Digest, usize) {
    let mut leaves: Vec<[u8; 72]> = items
        .iter()
        .map(|i| {
            let i = i.as_ref();
            let mut l = [0u8; 72];
            l[..32].copy_from_slice(blake3::hash(i).as_bytes());
            l[32..40].copy_from_slice(&(i.len() as u64).to_be_bytes());
            l
        })
        .collect();
    leaves.sort();
    leaves.dedup();
    let hashes: Vec<Digest> = leaves
        .iter()
        .map(|l| {
            let mut h = blake3::Hasher::new();
            h.update(&[0]);
            h.update(l);
            Digest(*h.finalize().as_bytes())
        })
        .collect();
    (ledger::merkle::root::<Blake3Set>(&hashes), leaves.len())
}

/// Hashes `paths` with the CPU backend into an in-memory manifest, and reads it back verified.
pub fn run(paths: &[PathBuf], cfg: &HashConfig, threads: usize) -> (Summary, Vec<u8>) {
    let backend = hasher::CpuHasher::new(Some(threads)).unwrap();
    let (s, out) = hasher::hash_corpus(
        paths,
        cfg,
        &backend,
        Some(Cursor::new(Vec::new())),
        &mut hasher::Quiet,
    )
    .unwrap();
    let bytes = out.unwrap().into_inner();
    let h = ManifestReader::new(Cursor::new(&bytes))
        .unwrap()
        .verify_to_end()
        .unwrap();
    assert_eq!(h, s.header);
    (s, bytes)
}

pub fn write(path: &Path, data: &[u8]) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, data).unwrap();
}

/// Deterministic pseudo-random bytes (xorshift), so tests need no RNG crate.
pub fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}
