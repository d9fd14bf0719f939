//! A sorted set's root (`verifier::set`'s tree: leaf `BLAKE3(0x00 || leaf)`, node
//! `BLAKE3(0x01 || left || right)`, RFC 6962 shape) on every core of a rayon pool, for the
//! builders that hold a set's leaves in memory (`prov publish`, the service's set ingest, the
//! benchmarks). The verifier's own builders stay single-threaded and free of rayon.
//!
//! Why the root is the same: in an RFC 6962 tree every split point of a range longer than
//! `2^k` leaves that starts at a multiple of `2^k` is itself a multiple of `2^k` (the largest
//! power of two below the range's length is at least `2^k`). So the roots of the aligned chunks of
//! [`CHUNK_LEAVES`] leaves (the last one shorter) are nodes of the whole tree, and the tree above
//! them is the RFC 6962 tree of those roots taken as leaf hashes: each chunk is built on its own
//! thread, and the chunk roots are combined on the calling one.

use ledger::set::SetLeaf;
use ledger::{Blake3Set, Digest, StreamingRoot, TreeHasher};
use rayon::prelude::*;

use crate::backend::ContentHasher;
use crate::error::HashError;

/// Leaves per chunk: a power of two; 4,096 leaves (288 KiB) keep a chunk in one core's cache and
/// give the pool thousands of chunks to balance on a large set.
pub const CHUNK_LEAVES: usize = 1 << 12;

/// The root of the set whose leaves (72 bytes each, in tree order, already sorted and unique) are
/// `leaves`, built on `pool` (rayon's global pool when `None`). Trailing bytes short of a leaf are
/// ignored, as `chunks_exact` would.
pub fn set_root(leaves: &[u8], pool: Option<&rayon::ThreadPool>) -> Digest {
    set_root_chunked(leaves, pool, CHUNK_LEAVES)
}

/// [`set_root`] with chunks of `chunk_leaves` leaves (a power of two; tests use small ones to
/// cross chunk boundaries).
pub fn set_root_chunked(
    leaves: &[u8],
    pool: Option<&rayon::ThreadPool>,
    chunk_leaves: usize,
) -> Digest {
    let chunk_leaves = chunk_leaves.max(1).next_power_of_two();
    let n = leaves.len() / SetLeaf::LEN;
    let leaves = &leaves[..n * SetLeaf::LEN];
    if n <= chunk_leaves {
        return chunk_root(leaves);
    }
    let roots = || -> Vec<Digest> {
        leaves
            .par_chunks(chunk_leaves * SetLeaf::LEN)
            .map(chunk_root)
            .collect()
    };
    let roots = match pool {
        Some(p) => p.install(roots),
        None => roots(),
    };
    let mut top = StreamingRoot::<Blake3Set>::new();
    for r in roots {
        top.push(r);
    }
    top.root()
}

/// Leaves per record of the service's set store (`ledger::store::setdevice::RECORD_LEAVES`):
/// the chunk whose roots set ingest asks a device for.
pub const RECORD_LEAVES: usize = ledger::store::setdevice::RECORD_LEAVES;

/// The roots of the aligned chunks of `chunk_leaves` leaves (a power of two) of `leaves`, in
/// order, each on its own thread of `pool` (rayon's global pool when `None`): the CPU's answer
/// to [`ContentHasher::set_chunk_roots`]. A last chunk short of `chunk_leaves` gets the root of
/// what it has; trailing bytes short of a leaf are ignored.
pub fn chunk_roots(
    leaves: &[u8],
    chunk_leaves: usize,
    pool: Option<&rayon::ThreadPool>,
) -> Vec<Digest> {
    let n = leaves.len() / SetLeaf::LEN;
    let leaves = &leaves[..n * SetLeaf::LEN];
    let roots = || -> Vec<Digest> {
        leaves
            .par_chunks(chunk_leaves.max(1) * SetLeaf::LEN)
            .map(chunk_root)
            .collect()
    };
    match pool {
        Some(p) => p.install(roots),
        None => roots(),
    }
}

/// Leaves per batch of a [`SetRootBuilder`]: 2^18 leaves, 18 MiB of leaves, at least the
/// `auto` backend's [`crate::auto::DEVICE_MIN_BYTES`] (16 MiB) so that a batch is worth a
/// device where one was found.
pub const BATCH_LEAVES: usize = 1 << 18;

/// A sorted set's root built as its leaves stream past (the manifest a hashing run writes), in
/// bounded memory: leaves are gathered into aligned batches of [`BATCH_LEAVES`] (a power of
/// two), each batch's root is built by the backend where it builds set trees itself
/// ([`ContentHasher::set_root`]: on the device) or else on every core ([`set_root`]), and the
/// batch roots are combined as the leaves of the tree above them. That gives the verifier's root
/// for the reason given at the top of this file: a batch of `2^k` leaves starting at a multiple
/// of `2^k` is a node of the whole tree, and so is the last, shorter one.
///
/// Memory: one batch (18 MiB) and one hash per level above the batches.
pub struct SetRootBuilder<'a> {
    backend: Option<&'a dyn ContentHasher>,
    batch_leaves: usize,
    buf: Vec<u8>,
    top: StreamingRoot<Blake3Set>,
    size: u64,
}

impl<'a> SetRootBuilder<'a> {
    /// A builder whose batches go to `backend` first (`None`: every batch on the CPU's cores).
    pub fn new(backend: Option<&'a dyn ContentHasher>) -> Self {
        Self::with_batch_leaves(backend, BATCH_LEAVES)
    }

    /// [`SetRootBuilder::new`] with batches of `batch_leaves` (rounded up to a power of two;
    /// tests use small ones to cross batch boundaries).
    pub fn with_batch_leaves(backend: Option<&'a dyn ContentHasher>, batch_leaves: usize) -> Self {
        let batch_leaves = batch_leaves.max(1).next_power_of_two();
        SetRootBuilder {
            backend,
            batch_leaves,
            buf: Vec::with_capacity(batch_leaves.min(BATCH_LEAVES) * SetLeaf::LEN),
            top: StreamingRoot::new(),
            size: 0,
        }
    }

    /// Appends the next leaf (the caller keeps the set sorted and unique, as the manifest
    /// writer does).
    pub fn push(&mut self, leaf: &SetLeaf) -> Result<(), HashError> {
        self.buf.extend_from_slice(&leaf.to_bytes());
        self.size += 1;
        if self.buf.len() == self.batch_leaves * SetLeaf::LEN {
            self.flush()?;
        }
        Ok(())
    }

    /// Leaves pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of every leaf pushed (the empty set's root when none was).
    pub fn finish(mut self) -> Result<Digest, HashError> {
        self.flush()?;
        Ok(self.top.root())
    }

    fn flush(&mut self) -> Result<(), HashError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let root = match self.backend.and_then(|b| b.set_root(&self.buf)) {
            Some(r) => Digest(r?),
            None => set_root(&self.buf, None),
        };
        self.top.push(root);
        self.buf.clear();
        Ok(())
    }
}

/// The root of consecutive leaves, streamed (one hash per level of memory).
fn chunk_root(leaves: &[u8]) -> Digest {
    let mut s = StreamingRoot::<Blake3Set>::new();
    for leaf in leaves.chunks_exact(SetLeaf::LEN) {
        s.push(Blake3Set::leaf_hash(leaf));
    }
    s.root()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::set::SortedSet;
    use ledger::ContentId;

    fn leaves(n: usize) -> Vec<SetLeaf> {
        (0..n)
            .map(|i| {
                let mut cid = [0u8; 32];
                cid[..8].copy_from_slice(&(i as u64).to_be_bytes());
                cid[8] = (i * 7) as u8;
                SetLeaf {
                    cid: ContentId(cid),
                    size: i as u64 * 3,
                    meta: Digest([(i % 251) as u8; 32]),
                }
            })
            .collect()
    }

    #[test]
    fn parallel_root_equals_the_verifiers_around_chunk_boundaries() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for chunk in [1usize, 2, 4, 8] {
            for n in (0..=4 * chunk + 2).chain([63, 64, 65, 100, 127, 128, 129]) {
                let set = leaves(n);
                let bytes: Vec<u8> = set.iter().flat_map(|l| l.to_bytes()).collect();
                let want = SortedSet::new(set).unwrap().root();
                assert_eq!(
                    set_root_chunked(&bytes, Some(&pool), chunk),
                    want,
                    "n={n} chunk={chunk}"
                );
                assert_eq!(set_root_chunked(&bytes, None, chunk), want);
            }
        }
        let set = leaves(3 * CHUNK_LEAVES + 17);
        let bytes: Vec<u8> = set.iter().flat_map(|l| l.to_bytes()).collect();
        assert_eq!(set_root(&bytes, None), SortedSet::new(set).unwrap().root());
        assert_eq!(set_root(&[], None), Blake3Set::empty_root());
    }

    #[test]
    fn chunk_roots_are_the_records_subtree_roots() {
        let set = leaves(5 * 256 + 17);
        let bytes: Vec<u8> = set.iter().flat_map(|l| l.to_bytes()).collect();
        let got = chunk_roots(&bytes, RECORD_LEAVES, None);
        assert_eq!(got.len(), 6);
        for (i, c) in bytes.chunks(RECORD_LEAVES * SetLeaf::LEN).enumerate() {
            assert_eq!(
                got[i],
                ledger::store::setdevice::record_root(c),
                "chunk {i}"
            );
        }
    }

    /// A backend that builds every batch's root itself, with the verifier's builder, and
    /// counts the batches it was given: the streamed builder must hand it whole aligned batches.
    struct CountingDevice(std::sync::atomic::AtomicUsize);
    impl crate::backend::ContentHasher for CountingDevice {
        fn name(&self) -> &str {
            "counting"
        }
        fn hash_batch(
            &self,
            items: &[&[u8]],
            out: &mut [[u8; 32]],
        ) -> Result<(), crate::error::HashError> {
            for (item, o) in items.iter().zip(out.iter_mut()) {
                *o = *blake3::hash(item).as_bytes();
            }
            Ok(())
        }
        fn hash_large(&self, data: &[u8]) -> Result<[u8; 32], crate::error::HashError> {
            Ok(*blake3::hash(data).as_bytes())
        }
        fn set_root(&self, leaves: &[u8]) -> Option<Result<[u8; 32], crate::error::HashError>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let set: Vec<SetLeaf> = leaves
                .chunks_exact(SetLeaf::LEN)
                .map(|b| SetLeaf::from_bytes(b.try_into().unwrap()))
                .collect();
            Some(Ok(SortedSet::new(set).unwrap().root().0))
        }
    }

    #[test]
    fn streamed_batches_give_the_verifiers_root_on_the_cpu_and_through_a_backend() {
        for batch in [1usize, 2, 4, 8] {
            for n in (0..=4 * batch + 2).chain([31, 32, 33, 100]) {
                let set = leaves(n);
                let want = SortedSet::new(set.clone()).unwrap().root();
                let mut cpu = SetRootBuilder::with_batch_leaves(None, batch);
                let device = CountingDevice(Default::default());
                let mut dev = SetRootBuilder::with_batch_leaves(Some(&device), batch);
                for l in &set {
                    cpu.push(l).unwrap();
                    dev.push(l).unwrap();
                }
                assert_eq!(cpu.size(), n as u64);
                assert_eq!(cpu.finish().unwrap(), want, "cpu n={n} batch={batch}");
                assert_eq!(dev.finish().unwrap(), want, "backend n={n} batch={batch}");
                assert_eq!(
                    device.0.load(std::sync::atomic::Ordering::Relaxed),
                    n.div_ceil(batch),
                    "batches given to the backend, n={n} batch={batch}"
                );
            }
        }
    }
}
