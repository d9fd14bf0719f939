//! Small files hashed on the reading thread (a CPU backend, `hashes_inline`) and gathered into
//! batches (a device-like backend) give the same root, the same ids and the same metadata, and
//! both agree with `blake3::hash` of each file: the two read paths of `work.rs` are one answer.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hasher::{ContentHasher, CpuHasher, HashConfig, HashError, Mode};
use ledger::ContentId;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The CPU backend asking to be given batches, counting the batch calls.
struct Batched {
    cpu: CpuHasher,
    batches: AtomicUsize,
}

impl ContentHasher for Batched {
    fn name(&self) -> &str {
        "batched"
    }
    fn hash_batch(&self, items: &[&[u8]], out: &mut [[u8; 32]]) -> Result<(), HashError> {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.cpu.hash_batch(items, out)
    }
    fn hash_large(&self, data: &[u8]) -> Result<[u8; 32], HashError> {
        self.cpu.hash_large(data)
    }
    fn preferred_batch_bytes(&self) -> usize {
        4 << 20
    }
}

#[derive(Default)]
struct Listed(Vec<(ContentId, PathBuf)>);

impl hasher::Observer for Listed {
    fn listed(&mut self, cid: &ContentId, path: &Path) {
        self.0.push((*cid, path.to_path_buf()));
    }
}

#[test]
fn files_hashed_as_read_and_files_hashed_in_batches_give_one_answer() {
    let d = tempfile::tempdir().unwrap();
    // Sizes around BLAKE3's chunk, empty files, one above the 1 MiB large-file threshold, and
    // enough files for several units of work (64 files each).
    let mut n = 0u64;
    for size in [
        0usize,
        1,
        63,
        64,
        1023,
        1024,
        1025,
        4096,
        16_385,
        70_000,
        (1 << 20) + 1,
    ] {
        for _ in 0..3 {
            write(
                &d.path().join(format!("d{}/f{n:04}", n % 4)),
                &bytes(n, size),
            );
            n += 1;
        }
    }
    for i in 0..200u64 {
        write(
            &d.path().join(format!("many/g{i:04}")),
            &bytes(1000 + i, 100 + i as usize * 37),
        );
    }
    let cfg = HashConfig {
        mode: Mode::File,
        list: true,
        ..HashConfig::default()
    };
    let paths = [d.path().to_path_buf()];
    let cpu = CpuHasher::new(Some(2)).unwrap();
    assert!(cpu.hashes_inline());
    let batched = Batched {
        cpu: CpuHasher::new(Some(2)).unwrap(),
        batches: AtomicUsize::new(0),
    };
    assert!(!batched.hashes_inline());
    let mut inline_list = Listed::default();
    let (a, _) =
        hasher::hash_corpus::<std::fs::File>(&paths, &cfg, &cpu, None, &mut inline_list).unwrap();
    let mut batch_list = Listed::default();
    let (b, _) =
        hasher::hash_corpus::<std::fs::File>(&paths, &cfg, &batched, None, &mut batch_list)
            .unwrap();
    assert!(batched.batches.load(Ordering::Relaxed) > 0);
    assert_eq!(a.header, b.header);
    assert_eq!(a.header.items, n + 200);
    assert_eq!(inline_list.0, batch_list.0);
    assert_eq!(inline_list.0.len() as u64, n + 200);
    for (cid, path) in &inline_list.0 {
        let want = blake3::hash(&std::fs::read(path).unwrap());
        assert_eq!(&cid.0, want.as_bytes(), "{}", path.display());
    }
}

/// `/proc/self/cmdline` says it is 0 bytes long and is not: a reader that trusted the length
/// would give every such file the id of the empty file.
#[cfg(target_os = "linux")]
#[test]
fn a_file_whose_size_says_zero_is_read_to_its_end() {
    let path = PathBuf::from("/proc/self/cmdline");
    let want = blake3::hash(&std::fs::read(&path).unwrap());
    assert_ne!(want, blake3::hash(b""));
    let cfg = HashConfig {
        mode: Mode::File,
        list: true,
        ..HashConfig::default()
    };
    let cpu = CpuHasher::new(Some(2)).unwrap();
    let mut listed = Listed::default();
    hasher::hash_corpus::<std::fs::File>(&[path], &cfg, &cpu, None, &mut listed).unwrap();
    assert_eq!(listed.0.len(), 1);
    assert_eq!(&listed.0[0].0 .0, want.as_bytes());
}
