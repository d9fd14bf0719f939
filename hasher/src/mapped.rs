//! One large file hashed on every core through memory maps of aligned windows: the only `unsafe`
//! in the workspace (`#[allow(unsafe_code)]` on [`map_window`] alone; everything else denies it).
//!
//! Why not the `blake3` crate's `update_mmap_rayon`, which `prov` used before: it maps the whole
//! file, takes one page fault per 64 KiB as the threads touch it, and unmaps all of it at the end
//! on one thread. On a 512 MiB file that last `munmap` alone is ~11 ms of a ~90 ms run (`strace
//! -ttt`), while the other core idles, and the 8,300 faults are a fifth of the CPU time
//! (`perf stat`). Here the file is cut into aligned windows of [`WINDOW`] bytes; each worker maps
//! its window with `MAP_POPULATE` (one call fills the page table: 180 faults instead of 8,300),
//! hashes it as a BLAKE3 subtree at its offset (itself split across the pool, so no core idles
//! while another finishes the last window), and unmaps it itself, so the unmapping is spread
//! over the cores and overlaps the hashing. Smaller windows were measured slower (2 MiB: +17 %
//! CPU, each `munmap` of a threaded process pays a TLB shoot-down). The subtrees are merged with the `blake3` crate's
//! `hazmat` API along the tree's own split points (`left_subtree_len`), so the root is bit for bit
//! `blake3::hash` of the file (tests below, sizes around every boundary).
//!
//! What the `unsafe` admits, and why it is the same bargain `b3sum` and `update_mmap_rayon` make:
//! a mapping's bytes can change if another process writes the file while it is hashed, and a
//! file truncated under us raises `SIGBUS` on the next touch of a page past its new end. The
//! first gives a digest of whatever bytes were read (as `read` would, for a file written while
//! read); the second ends the process instead of returning an error. Neither can make a digest
//! name bytes that were never in the file. Files that cannot be mapped (pipes, `/proc`) never get
//! here: the walker sends only regular files of a known length at or above the large-file
//! threshold, and a failed `mmap` is an error, never a silent fallback.

use std::fs::File;
use std::io;
use std::path::Path;

use blake3::hazmat::{self, ChainingValue, HasherExt, Mode};

/// Bytes per window: a power of two (so every window is a whole BLAKE3 subtree at its offset) and
/// a multiple of the page size (so it can be mapped at its offset). 32 MiB: large enough that a
/// window's `mmap`/`munmap` cost is noise, small enough that 2-16 cores get several each.
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
    let left = hazmat::left_subtree_len(len);
    let (l, r) = rayon::join(
        || subtree(file, 0, left, window),
        || subtree(file, left, len - left, window),
    );
    Ok(*hazmat::merge_subtrees_root(&l?, &r?, Mode::Hash).as_bytes())
}

/// The chaining value of the subtree of `len` bytes at `offset` (a BLAKE3 subtree: `offset` is a
/// multiple of the largest power of two chunks not above `len`, as `left_subtree_len` keeps it).
fn subtree(file: &File, offset: u64, len: u64, window: u64) -> io::Result<ChainingValue> {
    if len <= window {
        let map = map_window(file, offset, len)?;
        let mut h = blake3::Hasher::new();
        h.set_input_offset(offset);
        // Within the window too, on every core: a worker that has run out of windows helps
        // with the last ones instead of idling while one thread finishes a whole window alone
        // (measured: up to 9 ms of one idle core at the end of a 512 MiB file).
        h.update_rayon(&map);
        let cv = h.finalize_non_root();
        // Unmapped here, on this worker, while the others still hash (the point of windows).
        drop(map);
        return Ok(cv);
    }
    let left = hazmat::left_subtree_len(len);
    let (l, r) = rayon::join(
        || subtree(file, offset, left, window),
        || subtree(file, offset + left, len - left, window),
    );
    Ok(hazmat::merge_subtrees_non_root(&l?, &r?, Mode::Hash))
}

/// A read-only, populated map of `len` bytes of `file` at `offset` (page-aligned: windows start at
/// multiples of [`WINDOW`] or of a power of two chunks at least a page).
#[allow(unsafe_code)]
fn map_window(file: &File, offset: u64, len: u64) -> io::Result<memmap2::Mmap> {
    let len = usize::try_from(len).map_err(|_| io::Error::other("window longer than memory"))?;
    // SAFETY: the map is read-only and private to this call; the module's comment says what a
    // concurrent writer or truncation can do (a digest of the bytes read, or SIGBUS), the same
    // terms as `blake3::Hasher::update_mmap` and `b3sum`. No reference into it outlives `map`.
    unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .populate()
            .map(file)
    }
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
