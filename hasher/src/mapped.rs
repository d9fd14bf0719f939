//! One large file hashed on every core through one memory map, populated and dropped window by
//! window: the only `unsafe` in the workspace (`#[allow(unsafe_code)]` on [`map_file`] and
//! [`drop_window`] alone; everything else denies it).
//!
//! Why not the `blake3` crate's `update_mmap_rayon`, which `prov` used before: it maps the whole
//! file, takes one page fault per 64 KiB as the threads touch it, and unmaps all of it at the end
//! on one thread. On a 512 MiB file that last `munmap` alone is ~11 ms of a ~90 ms run (`strace
//! -ttt`), while the other core idles, and the 8,300 faults are a fifth of the CPU time
//! (`perf stat`).
//!
//! Here the file is mapped once and cut into aligned windows of [`WINDOW`] bytes. A worker fills
//! its window's page table in one call (`MADV_POPULATE_READ`: ~180 faults for the file instead
//! of 8,300), hashes the window as a BLAKE3 subtree at its offset (itself split across the pool,
//! so no core idles while another finishes the last window), and drops the window's page table
//! entries itself (`MADV_DONTNEED`), so that the clearing is spread over the cores and overlaps
//! the hashing, and the final `munmap` finds nothing left to clear.
//!
//! Why one map rather than one `mmap`/`munmap` per window (what this module did before, 2-3 %
//! slower than `b3sum`): `munmap` takes the process's memory-map lock for writing, so one
//! worker's unmapping waited for the other's populating and the other way round; `perf stat`
//! counted ~20 ms of idle core in a 95 ms run. Both `madvise` calls take the lock for reading
//! only, and the same 512 MiB file takes ~90 ms instead of ~95 ms (docs/performance.md, "One
//! large file"). Smaller windows were measured slower (8 MiB and 2 MiB: +4-5 % CPU, each drop of
//! a threaded process's entries pays a TLB shoot-down). The subtrees are merged with the `blake3`
//! crate's `hazmat` API along the tree's own split points (`left_subtree_len`), so the root is bit
//! for bit `blake3::hash` of the file (tests below, sizes around every boundary).
//!
//! What the `unsafe` admits, and why it is the same bargain `b3sum` and `update_mmap_rayon` make:
//! a mapping's bytes can change if another process writes the file while it is hashed, and a
//! file truncated under us raises `SIGBUS` on the next touch of a page past its new end. The
//! first gives a digest of whatever bytes were read (as `read` would, for a file written while
//! read); the second ends the process instead of returning an error. Neither can make a digest
//! name bytes that were never in the file. Files that cannot be mapped (pipes, `/proc`) never get
//! here: the walker sends only regular files of a known length at or above the large-file
//! threshold, and a failed `mmap` is an error, never a silent fallback. The two `madvise` calls
//! are advice: a kernel without `MADV_POPULATE_READ` (before Linux 5.14) refuses it and the
//! pages fault in as they are read; a refused `MADV_DONTNEED` leaves the entries to the final
//! `munmap`. Neither changes a byte that is read.

use std::fs::File;
use std::io;
use std::path::Path;

use blake3::hazmat::{self, ChainingValue, HasherExt, Mode};
use memmap2::{Advice, Mmap};

/// Bytes per window: a power of two (so every window is a whole BLAKE3 subtree at its offset) and
/// a multiple of the page size (so its page table entries can be populated and dropped on their
/// own). 32 MiB: large enough that a window's two `madvise` calls are noise, small enough that
/// 2-16 cores get several each.
pub const WINDOW: u64 = 32 << 20;

/// Files shorter than this are mapped whole by `update_mmap_rayon`, as before: two windows is the
/// least that gives two cores one each.
pub const MIN_WINDOWED: u64 = 2 * WINDOW;

/// BLAKE3 of the file at `path`, hashed in windows on the calling rayon pool (`pool.install`),
/// or through `update_mmap_rayon` when it is shorter than [`MIN_WINDOWED`].
pub fn hash_file(path: &Path) -> io::Result<[u8; 32]> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len < MIN_WINDOWED {
        let mut h = blake3::Hasher::new();
        h.update_mmap_rayon(path)?;
        return Ok(*h.finalize().as_bytes());
    }
    hash_windows(&file, len, WINDOW)
}

/// The root of `len` bytes of `file` (at least two windows), hashed in windows of `window` bytes.
fn hash_windows(file: &File, len: u64, window: u64) -> io::Result<[u8; 32]> {
    debug_assert!(window.is_power_of_two() && window >= 4096 && len > window);
    let map = map_file(file, len)?;
    let left = hazmat::left_subtree_len(len);
    let (l, r) = rayon::join(
        || subtree(&map, 0, left, window),
        || subtree(&map, left, len - left, window),
    );
    // The map is unmapped here, on return; its windows' entries are gone already.
    Ok(*hazmat::merge_subtrees_root(&l, &r, Mode::Hash).as_bytes())
}

/// The chaining value of the subtree of `len` bytes at `offset` (a BLAKE3 subtree: `offset` is a
/// multiple of the largest power of two chunks not above `len`, as `left_subtree_len` keeps it).
fn subtree(map: &Mmap, offset: u64, len: u64, window: u64) -> ChainingValue {
    if len <= window {
        // Within `map`'s length (its callers split `0..map.len()`), so these cannot fail.
        let (at, n) = (offset as usize, len as usize);
        let bytes = &map[at..at + n];
        // Advice, so a refusal (an old kernel) only means the pages fault in as they are read.
        let _ = map.advise_range(Advice::PopulateRead, at, n);
        let mut h = blake3::Hasher::new();
        h.set_input_offset(offset);
        // Within the window too, on every core: a worker that has run out of windows helps
        // with the last ones instead of idling while one thread finishes a whole window alone
        // (measured: up to 9 ms of one idle core at the end of a 512 MiB file).
        h.update_rayon(bytes);
        let cv = h.finalize_non_root();
        // Dropped here, on this worker, while the others still hash (the point of windows).
        drop_window(map, at, n);
        return cv;
    }
    let left = hazmat::left_subtree_len(len);
    let (l, r) = rayon::join(
        || subtree(map, offset, left, window),
        || subtree(map, offset + left, len - left, window),
    );
    hazmat::merge_subtrees_non_root(&l, &r, Mode::Hash)
}

/// A read-only, shared map of the first `len` bytes of `file`, populated by nobody yet.
#[allow(unsafe_code)]
fn map_file(file: &File, len: u64) -> io::Result<Mmap> {
    let len = usize::try_from(len).map_err(|_| io::Error::other("file longer than memory"))?;
    // SAFETY: the map is read-only and private to this module's call; the module's comment says
    // what a concurrent writer or truncation can do (a digest of the bytes read, or SIGBUS), the
    // same terms as `blake3::Hasher::update_mmap` and `b3sum`. No reference into it outlives it.
    unsafe { memmap2::MmapOptions::new().len(len).map(file) }
}

/// Drops the page table entries of `n` bytes of `map` at `at` (a window whose hashing is done).
#[allow(unsafe_code)]
fn drop_window(map: &Mmap, at: usize, n: usize) {
    // SAFETY: `MADV_DONTNEED` on a shared file map drops only page table entries: the page cache
    // keeps the bytes, and a later read of the range (none is made: the window is hashed) would
    // fault the same bytes back in. What makes it unchecked in `memmap2` is a private map, whose
    // written pages it would discard; this map is shared and never written. Advice again: a
    // refusal leaves the entries to the `munmap` at the end.
    let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, at, n) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(len: usize) -> (tempfile::NamedTempFile, Vec<u8>) {
        let data: Vec<u8> = (0..len)
            .map(|i| (i * 7 % 251) as u8 ^ (i >> 13) as u8)
            .collect();
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&data).unwrap();
        f.flush().unwrap();
        (f, data)
    }

    #[test]
    fn windowed_roots_are_blake3_of_the_file_at_every_boundary() {
        // Windows of 8 KiB (two pages, eight chunks): every size straddles windows, chunks and
        // the uneven right edges that `left_subtree_len` splits.
        let w = 8 << 10;
        for len in [
            w + 1,
            2 * w - 1,
            2 * w,
            2 * w + 1,
            3 * w,
            3 * w + 1023,
            3 * w + 1025,
            5 * w + 64,
            8 * w,
            8 * w + 1,
            13 * w + 4097,
        ] {
            let (f, data) = file_of(len as usize);
            let got = hash_windows(f.as_file(), len, w).unwrap();
            assert_eq!(got, *blake3::hash(&data).as_bytes(), "length {len}");
        }
    }

    #[test]
    fn whole_files_either_side_of_the_windowed_threshold_are_blake3() {
        for len in [
            0usize,
            1,
            1 << 20,
            (MIN_WINDOWED - 1) as usize,
            MIN_WINDOWED as usize + 1,
        ] {
            let (f, data) = file_of(len);
            assert_eq!(
                hash_file(f.path()).unwrap(),
                *blake3::hash(&data).as_bytes(),
                "length {len}"
            );
        }
    }
}
