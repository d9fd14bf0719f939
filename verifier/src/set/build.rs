//! Building every level of a set's tree in memory, on all cores.
//!
//! Level by level with the odd last node carried up is the same tree as RFC 6962's recursive
//! split (tested against `merkle::root` for sizes 0..=300), and it keeps each level as one
//! contiguous vector, which is what makes O(log n) proofs and a fast build possible. Threads come
//! from `std::thread::scope`: the verifier core takes no thread-pool dependency.

use super::SetLeaf;
use crate::hash::{Blake3Set, TreeHasher};
use crate::types::Digest;

/// Below this many inputs a level is hashed on the calling thread: spawning costs more.
const PARALLEL_THRESHOLD: usize = 1 << 14;

/// `levels[0]` are the leaf hashes, the last level holds the root (or nothing, for no leaves).
pub(super) fn levels(leaves: &[SetLeaf]) -> Vec<Vec<Digest>> {
    levels_over(leaves, SetLeaf::leaf_hash)
}

/// [`levels`] for any leaf type, given its leaf hash (set leaves, range leaves).
pub(crate) fn levels_over<T: Sync>(
    leaves: &[T],
    leaf_hash: impl Fn(&T) -> Digest + Sync,
) -> Vec<Vec<Digest>> {
    let mut levels = vec![par_chunks(leaves, 1, |chunk| {
        chunk.iter().map(&leaf_hash).collect()
    })];
    while let Some(prev) = levels.last().filter(|l| l.len() > 1) {
        let next = par_chunks(prev, 2, |chunk| {
            chunk
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] => Blake3Set::node_hash(l, r),
                    [odd] => *odd,
                    _ => Digest::default(), // chunks(2) yields one or two items
                })
                .collect()
        });
        levels.push(next);
    }
    levels
}

/// The root of a tree kept as [`levels_over`] builds it; `BLAKE3("")` for no leaves.
pub(crate) fn root_of(levels: &[Vec<Digest>]) -> Digest {
    match levels.first().filter(|l| !l.is_empty()) {
        Some(_) => levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or_else(Blake3Set::empty_root),
        None => Blake3Set::empty_root(),
    }
}

/// Node `index` of `level` of a tree kept as [`levels_over`] builds it, if it exists.
pub(crate) fn node_of(levels: &[Vec<Digest>], level: u32, index: u64) -> Option<Digest> {
    levels
        .get(level as usize)
        .and_then(|l| l.get(index as usize))
        .copied()
}

/// Applies `f` to consecutive chunks of `input` (chunk lengths a multiple of `align`) on up to
/// `available_parallelism` threads and concatenates the results in order.
fn par_chunks<T: Sync, U: Send>(
    input: &[T],
    align: usize,
    f: impl Fn(&[T]) -> Vec<U> + Sync,
) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(16));
    if threads == 1 || input.len() < PARALLEL_THRESHOLD {
        return f(input);
    }
    let per = input.len().div_ceil(threads).div_ceil(align) * align;
    let f = &f;
    let parts: Vec<Vec<U>> = std::thread::scope(|s| {
        let handles: Vec<_> = input
            .chunks(per)
            .map(|chunk| s.spawn(move || f(chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    parts.into_iter().for_each(|p| out.extend(p));
    out
}
