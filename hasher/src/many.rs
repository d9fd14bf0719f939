//! BLAKE3 of many short items at once: the chunks of different items hashed side by side in the
//! SIMD lanes, where `blake3::hash` of each item alone leaves most lanes empty.
//!
//! Why: a JSON Lines record of ~5 KB is five BLAKE3 chunks. `blake3::hash` hashes an item's whole
//! chunks together (`hash_many`), so those four chunks fill four lanes of the sixteen an AVX-512
//! core has (eight with AVX2), and the text modes spent 25 % of their CPU there (`perf record`,
//! docs/performance.md). Here the whole chunks of up to [`GROUP`] items that are not their item's
//! last chunk are gathered by chunk number (every item's chunk 0, then every item's chunk 1, ...)
//! and hashed sixteen at a time with the crate's own `hash_many` kernel; each item's last chunk
//! and its parent nodes are then hashed with the crate's public subtree API (`hazmat`), so the
//! root is BLAKE3's by construction: a chunk's chaining value depends only on its bytes, its
//! chunk number and its flags, never on the chunks beside it in a SIMD call. The tests below check
//! every length up to three chunks and every block edge of every chunk count to past
//! [`MAX_CHUNKS`], gathered and alone, and batches that mix them.
//!
//! The one thing taken from outside the `blake3` crate's documented API: its `platform` module
//! (`Platform::hash_many`, `IncrementCounter`), which it marks "undocumented and unstable, for
//! benchmarks only". That is why the workspace pins `blake3` to one release (Cargo.toml): an
//! upgrade is a deliberate change that these tests then check, never a `cargo update` side effect.
//! The key words are BLAKE3's IV (the spec's, SHA-256's initial hash value) and the flags the
//! spec's `CHUNK_START` and `CHUNK_END`, both checked by the same tests.

use blake3::hazmat::{self, ChainingValue, HasherExt, Mode};
use blake3::platform::Platform;
use blake3::IncrementCounter;

/// BLAKE3's chunk: 1,024 bytes.
const CHUNK_LEN: usize = 1024;

/// BLAKE3's IV (BLAKE3 spec section 2.2: SHA-256's initial hash value), the key words of an
/// unkeyed hash.
const IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];

/// The spec's block flags of a chunk's first and last block (BLAKE3 spec table 3).
const CHUNK_START: u8 = 1 << 0;
const CHUNK_END: u8 = 1 << 1;

/// Items of more than this many chunks are hashed alone: `blake3::hash` fills the lanes with an
/// item's own chunks from sixteen on (the widest SIMD degree the crate has).
pub const MAX_CHUNKS: usize = 16;

/// Items gathered per group: enough whole chunks of each chunk number to fill sixteen lanes
/// several times over, few enough that the group's chaining values stay in L1 (64 items of up to
/// 16 chunks: 32 KiB).
pub const GROUP: usize = 64;

/// Bytes per task when a batch is split across a pool ([`task_len`]): ~5 KB records go ~50 to a
/// task (enough to fill the lanes), while items near the large-item threshold (1 MiB) go one to a
/// task, so that every thread of a large pool has work.
pub const TASK_BYTES: usize = 256 << 10;

/// Items per task for a batch of `items` items and `bytes` bytes split across a pool: as many as
/// make [`TASK_BYTES`] on average, at most a [`GROUP`] and at least one.
pub fn task_len(items: usize, bytes: usize) -> usize {
    let mean = (bytes / items.max(1)).max(1);
    (TASK_BYTES / mean).clamp(1, GROUP)
}

/// Fewer gathered items than this in a group and each is hashed alone: one item's own chunks then
/// fill the lanes better than a chunk number shared by a few items would (a call of one file,
/// measured: twice the CPU of `blake3::hash` when gathered). Sixteen: the widest SIMD degree.
pub const MIN_GATHERED: usize = 16;

/// Writes BLAKE3 of each of `items` to the same place in `out` (`items.len() == out.len()`; the
/// caller checks it), on the calling thread.
pub fn hash_items(items: &[&[u8]], out: &mut [[u8; 32]]) {
    let platform = Platform::detect();
    for (items, out) in items.chunks(GROUP).zip(out.chunks_mut(GROUP)) {
        hash_group(platform, items, out);
    }
}

/// [`hash_items`] of at most [`GROUP`] items.
fn hash_group(platform: Platform, items: &[&[u8]], out: &mut [[u8; 32]]) {
    debug_assert!(items.len() <= GROUP && items.len() == out.len());
    let gathered = items.iter().filter(|i| gathers(i)).count();
    if gathered < MIN_GATHERED {
        for (item, out) in items.iter().zip(out.iter_mut()) {
            *out = *blake3::hash(item).as_bytes();
        }
        return;
    }
    // chunks[k]: item k's chunk count where it is gathered, else 0 (hashed alone here).
    let mut chunks = [0usize; GROUP];
    let mut most = 0;
    for (k, item) in items.iter().enumerate() {
        let n = item.len().div_ceil(CHUNK_LEN);
        if gathers(item) {
            chunks[k] = n;
            most = most.max(n);
        } else {
            out[k] = *blake3::hash(item).as_bytes();
        }
    }
    // cvs[k][j]: the chaining value of item k's chunk j.
    let mut cvs = [[[0u8; 32]; MAX_CHUNKS]; GROUP];
    let mut inputs: Vec<&[u8; CHUNK_LEN]> = Vec::with_capacity(GROUP);
    let mut whose: Vec<usize> = Vec::with_capacity(GROUP);
    let mut hashed = [0u8; 32 * GROUP];
    // Every whole chunk that is not its item's last, chunk number by chunk number: one counter
    // (the chunk number) for the whole call, not incremented from input to input.
    for j in 0..most.saturating_sub(1) {
        inputs.clear();
        whose.clear();
        for (k, item) in items.iter().enumerate() {
            if j + 1 < chunks[k] {
                // A whole chunk: `j + 1 < chunks[k]` puts its end at or before the item's.
                if let Ok(c) = <&[u8; CHUNK_LEN]>::try_from(&item[j * CHUNK_LEN..][..CHUNK_LEN]) {
                    inputs.push(c);
                    whose.push(k);
                }
            }
        }
        let out_bytes = &mut hashed[..32 * inputs.len()];
        platform.hash_many(
            &inputs,
            &IV,
            j as u64,
            IncrementCounter::No,
            0,
            CHUNK_START,
            CHUNK_END,
            out_bytes,
        );
        for (cv, &k) in out_bytes.chunks_exact(32).zip(&whose) {
            cvs[k][j].copy_from_slice(cv);
        }
    }
    // Each gathered item's last chunk (whole or not) as a subtree of one chunk at its offset,
    // then the item's tree above its chunks.
    for (k, item) in items.iter().enumerate() {
        let n = chunks[k];
        if n == 0 {
            continue;
        }
        let last = (n - 1) * CHUNK_LEN;
        let mut h = blake3::Hasher::new();
        h.set_input_offset(last as u64);
        h.update(&item[last..]);
        cvs[k][n - 1] = h.finalize_non_root();
        out[k] = root(&cvs[k][..n]);
    }
}

/// Whether `item`'s chunks are gathered with other items' (two to [`MAX_CHUNKS`] chunks): one
/// chunk is its own root, and more than [`MAX_CHUNKS`] fill the lanes by themselves.
fn gathers(item: &[u8]) -> bool {
    (2..=MAX_CHUNKS).contains(&item.len().div_ceil(CHUNK_LEN))
}

/// The root of an item of `cvs.len()` (at least two) chunks from its chunks' chaining values:
/// BLAKE3's tree, the left subtree always the largest power of two chunks below the whole.
fn root(cvs: &[ChainingValue]) -> [u8; 32] {
    let left = split(cvs.len());
    let (l, r) = (subtree(&cvs[..left]), subtree(&cvs[left..]));
    *hazmat::merge_subtrees_root(&l, &r, Mode::Hash).as_bytes()
}

/// The chaining value of the (non-root) subtree over `cvs`.
fn subtree(cvs: &[ChainingValue]) -> ChainingValue {
    if cvs.len() == 1 {
        return cvs[0];
    }
    let left = split(cvs.len());
    let (l, r) = (subtree(&cvs[..left]), subtree(&cvs[left..]));
    hazmat::merge_subtrees_non_root(&l, &r, Mode::Hash)
}

/// Chunks in the left subtree of `n` chunks (at least two), as `hazmat::left_subtree_len` says.
fn split(n: usize) -> usize {
    (hazmat::left_subtree_len((n * CHUNK_LEN) as u64) / CHUNK_LEN as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(len: usize, seed: usize) -> Vec<u8> {
        (0..len)
            .map(|i| ((i * 31 + seed * 7) % 251) as u8 ^ (i >> 10) as u8)
            .collect()
    }

    /// [`hash_items`] of `items` in one call, each checked against `blake3::hash`; the digests.
    fn assert_blake3(items: &[Vec<u8>], what: &str) -> Vec<[u8; 32]> {
        let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
        let mut out = vec![[0u8; 32]; refs.len()];
        hash_items(&refs, &mut out);
        for (i, item) in refs.iter().enumerate() {
            let len = item.len();
            assert_eq!(
                out[i],
                *blake3::hash(item).as_bytes(),
                "{what}: item {i} of {len}"
            );
        }
        out
    }

    #[test]
    fn every_length_is_blake3_gathered_and_alone() {
        // Every length up to three chunks and every block edge of every chunk count up to past
        // the last gathered one: in a call of MIN_GATHERED items of that one length (gathered:
        // each chunk number's call full), and alone (hashed alone).
        let edges = (3..=MAX_CHUNKS + 1).flat_map(|n| {
            [1, 63, 64, 65, 512, 959, 960, 1023]
                .into_iter()
                .map(move |d| (n - 1) * CHUNK_LEN + d)
                .chain([n * CHUNK_LEN])
        });
        for len in (0..=3 * CHUNK_LEN).chain(edges) {
            let items: Vec<Vec<u8>> = (0..MIN_GATHERED).map(|s| bytes(len, len + s)).collect();
            let out = assert_blake3(&items, &format!("length {len}"));
            let mut one = [[0u8; 32]];
            hash_items(&[&items[0]], &mut one);
            assert_eq!(one[0], out[0], "length {len} alone");
        }
    }

    #[test]
    fn mixed_batches_are_blake3_item_by_item() {
        // Batches that mix every chunk count and block edge, across several groups, so that each
        // chunk-number call holds items of other lengths beside it.
        let lens: Vec<usize> = (0..3 * GROUP + 5)
            .map(|i| match i % 9 {
                0 => 0,
                1 => 1,
                2 => CHUNK_LEN,
                3 => CHUNK_LEN + 1,
                4 => (i % MAX_CHUNKS + 1) * CHUNK_LEN,
                5 => (i % MAX_CHUNKS + 1) * CHUNK_LEN - 1,
                6 => (i % MAX_CHUNKS + 1) * CHUNK_LEN + 64,
                7 => MAX_CHUNKS * CHUNK_LEN + 1 + i,
                _ => 300 + i * 97 % 9000,
            })
            .collect();
        let items: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &n)| bytes(n, i)).collect();
        assert_blake3(&items, "a mixed batch");
    }

    #[test]
    fn tasks_keep_small_items_in_groups_and_large_ones_apart() {
        // 2 KB items: a whole group per task; ~5 KB records: 52, enough to fill the lanes.
        assert_eq!(task_len(1000, 1000 * 2000), GROUP);
        assert_eq!(task_len(1000, 1000 * 5000), 52);
        // 16 KiB files: 16 per task, still enough to gather.
        assert_eq!(task_len(64, 64 << 14), MIN_GATHERED);
        // 900 KB items: one per task, so a pool of 16 threads has 16 tasks for 16 items.
        assert_eq!(task_len(16, 16 * 900_000), 1);
        assert_eq!(task_len(0, 0), GROUP);
    }

    #[test]
    fn an_empty_batch_writes_nothing() {
        hash_items(&[], &mut []);
    }
}
