//! Hashing backends: the [`ContentHasher`] provider trait, the CPU implementation, and the
//! run-time selection behind `--backend auto|cpu|gpu`.
//!
//! Why a trait with a batch method: a GPU only pays off when it hashes thousands of items per
//! dispatch, so the pipeline hands backends whole batches of small items and calls
//! [`ContentHasher::hash_large`] for items big enough to saturate a device on their own. The
//! backend is picked explicitly at start-up (rustls' `CryptoProvider` habit), never by a cargo
//! feature: the `gpu` feature only makes the GPU backend available to pick.
//!
//! Every backend must give the `blake3` crate's output bit for bit; the GPU backend is trusted only
//! through differential tests against [`CpuHasher`].

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::HashError;

/// A BLAKE3-256 implementation that hashes items. Implementations are shared across the
/// pipeline's threads, hence `Send + Sync`; they may keep their own worker pool or device queue.
pub trait ContentHasher: Send + Sync {
    /// Short name reported in `--json` output (`cpu`, `gpu`).
    fn name(&self) -> &str;

    /// Hashes every item of `items` into the slot of `out` at the same index.
    /// `out.len()` must equal `items.len()` ([`HashError::BatchShape`] otherwise).
    fn hash_batch(&self, items: &[&[u8]], out: &mut [[u8; 32]]) -> Result<(), HashError>;

    /// Hashes one large item (a memory-mapped file), using parallelism within the item.
    fn hash_large(&self, data: &[u8]) -> Result<[u8; 32], HashError>;

    /// Hashes a whole file of at least [`ContentHasher::large_threshold`] bytes. The default
    /// memory-maps it through the `blake3` crate's safe `update_mmap_rayon` (the workspace denies
    /// `unsafe`, and this is where a mapping is needed), on rayon's global pool; a GPU backend
    /// overrides it to stream the file to the device.
    fn hash_file(&self, path: &Path) -> Result<[u8; 32], std::io::Error> {
        let mut h = blake3::Hasher::new();
        h.update_mmap_rayon(path)?;
        Ok(*h.finalize().as_bytes())
    }

    /// The device in words (adapter name and driver), for the `device` field of `--json`.
    /// `None` for the CPU.
    fn device(&self) -> Option<String> {
        None
    }

    /// Items at least this large go to [`ContentHasher::hash_large`] on their own, smaller ones
    /// are batched. A GPU wants a larger threshold than the CPU.
    fn large_threshold(&self) -> usize {
        DEFAULT_LARGE_THRESHOLD
    }

    /// The root of a sorted set's Merkle tree (`verifier::set`'s rule) from its leaves (72 bytes
    /// each, concatenated in tree order), where this backend builds set trees itself: `None`
    /// means "build it on the CPU" (the caller's own builder). The GPU backend builds it on the
    /// device; `auto` does where it has found one that its calibration says wins on set trees,
    /// for sets of `DEVICE_MIN_BYTES` or more.
    fn set_root(&self, leaves: &[u8]) -> Option<Result<[u8; 32], HashError>> {
        let _ = leaves;
        None
    }

    /// The roots of the aligned chunks of `chunk_leaves` leaves (a power of two) of a sorted
    /// set's leaves (`leaves`: whole chunks of 72-byte leaves), one per chunk, each the RFC 6962
    /// subtree root of its chunk's leaf hashes (`verifier::set`'s rule), where this backend
    /// builds set trees itself; `None`: "build them on the CPU". The service's set ingest hashes
    /// its 256-leaf records this way, a batch at a time ([`crate::records`]). The GPU backend
    /// builds them on the device; `auto` does where its calibration says the device wins on set
    /// trees.
    fn set_chunk_roots(
        &self,
        leaves: &[u8],
        chunk_leaves: usize,
    ) -> Option<Result<Vec<[u8; 32]>, HashError>> {
        let _ = (leaves, chunk_leaves);
        None
    }

    /// Item bytes the pipeline gathers for one [`ContentHasher::hash_batch`] call where it can
    /// choose (text records of several blocks, small files of several units of work): a device
    /// wants batches large enough to repay the upload (the GPU backend asks for
    /// `gpu_hash::GPU_MIN_BATCH_BYTES`, `auto`'s [`crate::auto::DEVICE_MIN_BYTES`]). The
    /// default, [`CPU_BATCH_BYTES`], is the CPU's: larger batches only hold its workers back
    /// (a worker reading 16 MiB of small files alone leaves the other idle at the end) and push
    /// the bytes out of cache before they are hashed.
    fn preferred_batch_bytes(&self) -> usize {
        CPU_BATCH_BYTES
    }

    /// Whether small items are best hashed one call at a time on the thread that read them, as
    /// soon as they are read (a CPU: the bytes are still in that core's cache and no other
    /// thread is woken), rather than gathered into [`ContentHasher::preferred_batch_bytes`]
    /// batches (a device). The pipeline's file workers ask.
    fn hashes_inline(&self) -> bool {
        false
    }

    /// Bytes hashed so far, by backend and reason, for the `hashed` field of `--json`. Empty for
    /// a backend the user named (everything went to it, because they asked); `auto` fills it.
    fn usage(&self) -> Vec<Usage> {
        Vec::new()
    }
}

/// The batch size a CPU backend asks the pipeline for ([`ContentHasher::preferred_batch_bytes`]):
/// enough items to spread over every core, small enough to stay in cache.
pub const CPU_BATCH_BYTES: usize = 1 << 20;

/// One row of [`ContentHasher::usage`]: `bytes` hashed on `backend` (`cpu`, `gpu`), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub backend: String,
    pub bytes: u64,
    pub why: String,
}

/// 1 MiB: from here on, `update_rayon` splits one item across threads profitably (the `blake3`
/// docs suggest 128 KiB as the break-even; batching keeps small files cheaper than that).
pub const DEFAULT_LARGE_THRESHOLD: usize = 1 << 20;

/// The `--backend` choice, parsed from `auto`, `cpu` or `gpu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// The GPU when this build has one and an adapter is present, otherwise the CPU.
    #[default]
    Auto,
    Cpu,
    Gpu,
}

impl FromStr for BackendChoice {
    type Err = HashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "cpu" => Ok(BackendChoice::Cpu),
            "gpu" => Ok(BackendChoice::Gpu),
            other => Err(HashError::Config(format!(
                "unknown backend {other:?} (expected auto, cpu or gpu)"
            ))),
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cpu => "cpu",
            BackendChoice::Gpu => "gpu",
        })
    }
}

/// Opens the backend the user asked for. `threads` sizes the CPU backend's pool (`None`: one
/// thread per core). `Auto` never fails for want of a GPU and looks for none until a call is large
/// enough for a device to matter ([`crate::auto`]); `Gpu` opens the device now and fails, with
/// the reason, where there is none.
pub fn select(
    choice: BackendChoice,
    threads: Option<usize>,
) -> Result<Arc<dyn ContentHasher>, HashError> {
    match choice {
        BackendChoice::Cpu => Ok(Arc::new(CpuHasher::new(threads)?)),
        BackendChoice::Gpu => open_gpu(),
        BackendChoice::Auto => Ok(Arc::new(crate::auto::AutoHasher::new(threads)?)),
    }
}

#[cfg(feature = "gpu")]
/// `gpu` takes any adapter, a software one included.
fn open_gpu() -> Result<Arc<dyn ContentHasher>, HashError> {
    crate::gpu::open(true)
}

#[cfg(not(feature = "gpu"))]
fn open_gpu() -> Result<Arc<dyn ContentHasher>, HashError> {
    Err(HashError::GpuNotBuilt)
}

/// The `blake3` crate on a dedicated rayon pool: across items for batches, within an item
/// (`update_rayon`) for large ones. A dedicated pool, rather than rayon's global one, is what
/// makes `--threads` mean something and keeps a library caller's own pool undisturbed.
pub struct CpuHasher {
    pool: rayon::ThreadPool,
}

impl CpuHasher {
    pub fn new(threads: Option<usize>) -> Result<Self, HashError> {
        let mut b = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("prov-hash-{i}"));
        if let Some(n) = threads {
            if n == 0 {
                return Err(HashError::Config("thread count must be at least 1".into()));
            }
            b = b.num_threads(n);
        }
        let pool = b
            .build()
            .map_err(|e| HashError::Config(format!("cannot start hashing threads: {e}")))?;
        Ok(CpuHasher { pool })
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }
}

/// Below this many bytes in a batch, hashing on the calling thread beats waking the pool. Above
/// the text modes' fused runs (`textbatch::FUSED_RUN`, 256 KiB): their threads already run on
/// every core, and each hashes the records it has just parsed while they are in its cache.
pub(crate) const SERIAL_BATCH_BYTES: usize = 512 << 10;

impl ContentHasher for CpuHasher {
    fn name(&self) -> &str {
        "cpu"
    }

    fn hash_batch(&self, items: &[&[u8]], out: &mut [[u8; 32]]) -> Result<(), HashError> {
        if items.len() != out.len() {
            return Err(HashError::BatchShape {
                items: items.len(),
                outputs: out.len(),
            });
        }
        // Groups of items with their chunks side by side in the SIMD lanes (`many.rs`), a group
        // (or, for large items, fewer items) per task.
        let total: usize = items.iter().map(|i| i.len()).sum();
        if total < SERIAL_BATCH_BYTES || self.threads() == 1 {
            crate::many::hash_items(items, out);
            return Ok(());
        }
        let per_task = crate::many::task_len(items.len(), total);
        self.pool.install(|| {
            items
                .par_chunks(per_task)
                .zip(out.par_chunks_mut(per_task))
                .for_each(|(items, out)| crate::many::hash_items(items, out));
        });
        Ok(())
    }

    fn hashes_inline(&self) -> bool {
        true
    }

    fn hash_large(&self, data: &[u8]) -> Result<[u8; 32], HashError> {
        if self.threads() == 1 {
            return Ok(*blake3::hash(data).as_bytes());
        }
        let h = self.pool.install(|| {
            let mut h = blake3::Hasher::new();
            h.update_rayon(data);
            h.finalize()
        });
        Ok(*h.as_bytes())
    }

    /// Windows of the file mapped, hashed and unmapped on every thread of the pool
    /// ([`crate::mapped`]).
    fn hash_file(&self, path: &Path) -> Result<[u8; 32], std::io::Error> {
        self.pool.install(|| crate::mapped::hash_file(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Vec<u8>> {
        // Sizes around BLAKE3's chunk (1024) and block (64) boundaries, plus a large one.
        [0usize, 1, 63, 64, 65, 1023, 1024, 1025, 4096, 200_000]
            .iter()
            .map(|&n| (0..n).map(|i| (i * 31 % 251) as u8).collect())
            .collect()
    }

    #[test]
    fn cpu_batch_matches_one_shot_for_every_thread_count() {
        let items = items();
        let refs: Vec<&[u8]> = items.iter().map(|v| v.as_slice()).collect();
        let want: Vec<[u8; 32]> = refs.iter().map(|i| *blake3::hash(i).as_bytes()).collect();
        for threads in [1, 2, 3] {
            let h = CpuHasher::new(Some(threads)).unwrap();
            let mut out = vec![[0u8; 32]; refs.len()];
            h.hash_batch(&refs, &mut out).unwrap();
            assert_eq!(out, want, "threads={threads}");
            for (i, item) in refs.iter().enumerate() {
                assert_eq!(h.hash_large(item).unwrap(), want[i]);
            }
        }
    }

    #[test]
    fn cpu_batches_over_the_serial_threshold_match_one_shot() {
        // Split across the pool: 200 records of ~5 KB (tasks of ~50, gathered by chunk number)
        // and a batch of mixed sizes with two near the large-item threshold (tasks of a few).
        let records: Vec<Vec<u8>> = (0..200usize)
            .map(|i| (0..4000 + i * 13).map(|j| (j * 7 + i) as u8).collect())
            .collect();
        let mut mixed = items();
        mixed.extend([900_000usize, 700_001].map(|n| (0..n).map(|i| (i % 253) as u8).collect()));
        for batch in [records, mixed] {
            let refs: Vec<&[u8]> = batch.iter().map(|v| v.as_slice()).collect();
            assert!(refs.iter().map(|r| r.len()).sum::<usize>() >= SERIAL_BATCH_BYTES);
            let want: Vec<[u8; 32]> = refs.iter().map(|i| *blake3::hash(i).as_bytes()).collect();
            for threads in [2, 3] {
                let h = CpuHasher::new(Some(threads)).unwrap();
                let mut out = vec![[0u8; 32]; refs.len()];
                h.hash_batch(&refs, &mut out).unwrap();
                assert_eq!(out, want, "threads={threads}");
            }
        }
    }

    #[test]
    fn batch_shape_mismatch_is_an_error() {
        let h = CpuHasher::new(Some(1)).unwrap();
        let mut out = vec![[0u8; 32]; 1];
        let err = h.hash_batch(&[b"a", b"b"], &mut out).unwrap_err();
        assert!(matches!(
            err,
            HashError::BatchShape {
                items: 2,
                outputs: 1
            }
        ));
    }

    #[test]
    fn backend_choice_parses_and_rejects_unknown_names() {
        assert_eq!("cpu".parse::<BackendChoice>().unwrap(), BackendChoice::Cpu);
        assert_eq!(
            "auto".parse::<BackendChoice>().unwrap(),
            BackendChoice::Auto
        );
        assert_eq!("gpu".parse::<BackendChoice>().unwrap(), BackendChoice::Gpu);
        assert!(matches!(
            "tpu".parse::<BackendChoice>(),
            Err(HashError::Config(_))
        ));
        assert_eq!(BackendChoice::Gpu.to_string(), "gpu");
    }

    #[test]
    fn auto_always_yields_a_backend_and_zero_threads_is_refused() {
        let b = select(BackendChoice::Auto, Some(1)).unwrap();
        assert!(["cpu", "gpu"].contains(&b.name()));
        assert!(matches!(
            select(BackendChoice::Cpu, Some(0)),
            Err(HashError::Config(_))
        ));
    }
}
