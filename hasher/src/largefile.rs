//! One large file hashed on every core without a memory map: each pool thread reads aligned
//! pieces of [`PIECE`] bytes with positional reads (`FileExt::read_exact_at`) into a buffer of
//! its own, reused, and hashes each piece as a BLAKE3 subtree (`blake3::hazmat`); the pieces'
//! chaining values are merged in order on the calling thread.
//!
//! Why not `update_mmap_rayon` (which `b3sum` uses): on the virtual machines we measured, the
//! page faults of a mapping cost more than the copy of a `pread` (512 MiB from the page cache:
//! 187 ms of CPU mapped, 80 ms read in 1 MiB pieces; docs/performance.md), and the copy is spread
//! over the cores with the hashing, each piece hashed while it is still in the core's cache.
//!
//! Why it is the same hash: BLAKE3's tree is left-complete, so with pieces of one power-of-two
//! number of chunks (the last one shorter) the tree above the pieces pairs their chaining values
//! level by level, an odd last one promoted (the same argument as `gpu_hash::merge`).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use blake3::hazmat::{
    merge_subtrees_non_root, merge_subtrees_root, ChainingValue, HasherExt, Mode,
};

/// Bytes per piece: 1,024 BLAKE3 chunks, half a core's L2 cache, so a piece is hashed from cache
/// right after it was copied there.
pub const PIECE: usize = 1 << 20;

/// BLAKE3's chunk: a piece is a power-of-two number of these.
const CHUNK: usize = 1024;

/// The BLAKE3 hash of the file at `path`, read in pieces by the threads of `pool`.
pub fn hash_path(path: &Path, pool: &rayon::ThreadPool) -> io::Result<[u8; 32]> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    hash_file(&file, len, pool, PIECE)
}

/// The BLAKE3 hash of the first `len` bytes of `file` (its length when opened), read in pieces
/// of `piece` bytes (a power-of-two multiple of 1,024) by the threads of `pool`. A file that is
/// shorter than `len` by the time it is read is an error ([`io::ErrorKind::UnexpectedEof`]).
pub fn hash_file(
    file: &File,
    len: u64,
    pool: &rayon::ThreadPool,
    piece: usize,
) -> io::Result<[u8; 32]> {
    if piece < CHUNK || !piece.is_power_of_two() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("piece of {piece} bytes: not a power-of-two number of 1024-byte chunks"),
        ));
    }
    let pieces = len.div_ceil(piece as u64);
    if pieces <= 1 || pool.current_num_threads() == 1 {
        return hash_serial(file, len, piece);
    }
    let next = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let per_thread = pool.broadcast(|_| -> io::Result<Vec<(u64, ChainingValue)>> {
        let mut buf = vec![0u8; piece];
        let mut cvs = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= pieces || failed.load(Ordering::Relaxed) {
                return Ok(cvs);
            }
            let offset = i * piece as u64;
            let n = (len - offset).min(piece as u64) as usize;
            let part = &mut buf[..n];
            if let Err(e) = read_at(file, part, offset) {
                failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
            let mut h = blake3::Hasher::new();
            h.set_input_offset(offset);
            h.update(part);
            cvs.push((i, h.finalize_non_root()));
        }
    });
    let mut cvs = Vec::with_capacity(pieces as usize);
    for r in per_thread {
        cvs.extend(r?);
    }
    cvs.sort_unstable_by_key(|&(i, _)| i);
    if cvs.len() as u64 != pieces {
        // Every piece is taken by exactly one thread, and a thread that stops early has failed.
        return Err(io::Error::other("a piece of the file was not hashed"));
    }
    let cvs: Vec<ChainingValue> = cvs.into_iter().map(|(_, cv)| cv).collect();
    Ok(fold(&cvs))
}

/// One thread: the file read piece by piece into one buffer, hashed as one stream.
fn hash_serial(file: &File, len: u64, piece: usize) -> io::Result<[u8; 32]> {
    let mut buf = vec![0u8; piece.min(usize::try_from(len).unwrap_or(piece))];
    let mut h = blake3::Hasher::new();
    let mut offset = 0u64;
    while offset < len {
        let n = (len - offset).min(buf.len() as u64) as usize;
        read_at(file, &mut buf[..n], offset)?;
        h.update(&buf[..n]);
        offset += n as u64;
    }
    Ok(*h.finalize().as_bytes())
}

fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.read_exact_at(buf, offset).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file became shorter while it was read",
            )
        } else {
            e
        }
    })
}

/// The root hash of at least two subtrees' chaining values, in order: pairs merged level by
/// level, an odd last one promoted, the last merge a root.
fn fold(cvs: &[ChainingValue]) -> [u8; 32] {
    let mut level = cvs.to_vec();
    while level.len() > 2 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => merge_subtrees_non_root(l, r, Mode::Hash),
                _ => pair[0],
            })
            .collect();
    }
    match level.as_slice() {
        [l, r] => *merge_subtrees_root(l, r, Mode::Hash).as_bytes(),
        // Not reached: callers pass two or more; one chaining value is not a root hash.
        _ => [0u8; 32],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    /// The official vectors' input: 0, 1, ..., 250, 0, 1, ...
    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    fn file_of(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f.flush().unwrap();
        f
    }

    #[test]
    fn official_blake3_vectors_read_in_pieces_of_one_to_four_chunks() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testdata/blake3_test_vectors.json"
        );
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = doc["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 35);
        let pools = [pool(1), pool(2), pool(3)];
        for c in cases {
            let input = pattern(c["input_len"].as_u64().unwrap() as usize);
            let want = &c["hash"].as_str().unwrap()[..64];
            let f = file_of(&input);
            for piece in [1024, 2048, 4096] {
                for p in &pools {
                    let got = hash_file(f.as_file(), input.len() as u64, p, piece).unwrap();
                    assert_eq!(hex::encode(got), want, "len {} piece {piece}", input.len());
                }
            }
            assert_eq!(hex::encode(hash_path(f.path(), &pools[1]).unwrap()), want);
        }
    }

    #[test]
    fn a_file_that_shrank_is_an_error_not_another_hash() {
        let f = file_of(&pattern(10_000));
        let err = hash_file(f.as_file(), 20_000, &pool(2), 1024).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(hash_file(f.as_file(), 10, &pool(2), 1000).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Sizes around chunk and piece boundaries, pieces of 1 to 16 chunks, 1 to 4 threads:
        /// always `blake3::hash` of the same bytes.
        #[test]
        fn pieces_hash_like_blake3(
            pieces in 0usize..40,
            delta in -1025i64..1026,
            log_piece in 0u32..5,
            threads in 1usize..5,
        ) {
            let piece = 1024usize << log_piece;
            let n = (pieces as i64 * piece as i64 + delta).max(0) as usize;
            let input = pattern(n);
            let f = file_of(&input);
            let got = hash_file(f.as_file(), n as u64, &pool(threads), piece).unwrap();
            prop_assert_eq!(got, *blake3::hash(&input).as_bytes());
        }
    }
}
