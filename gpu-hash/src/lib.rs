//! BLAKE3 as wgpu compute shaders, bit-identical to the `blake3` crate.
//!
//! [`GpuHasher`] hashes batches of items ([`GpuHasher::hash_batch`]) and single large inputs
//! ([`GpuHasher::hash`]) on whatever adapter wgpu finds (Vulkan, Metal or DX12). Work is cut into
//! *segments*: a whole item of at most [`GpuConfig::segment_chunks`] KiB, or an aligned
//! power-of-two subtree of a larger item. Each segment's root (or non-root chaining value) is
//! computed on the GPU by two passes, one invocation per 1 KiB chunk, then one per segment folding
//! its chunk chaining values; subtrees of large items are merged on the CPU with the `blake3`
//! crate's `hazmat` API (one compression per 32 KiB by default, a rounding error next to the GPU's
//! work). Batches go through a ring of reusable staging buffers so that packing the next batch on
//! the CPU overlaps the copy, the compute and the readback of the previous ones.
//!
//! [`adapters`] describes the adapters present without opening a device, and [`worth_it`] is the
//! rule a caller's `auto` selection should use: a CPU adapter (Mesa's lavapipe, say) never wins
//! against the `blake3` crate's SIMD code, and small batches do not repay the upload.
//!
//! Deliberately not here: keyed hashing, `derive_key` and extendable output (content ids are
//! plain 32-byte BLAKE3); reading files (the caller hands in bytes, so it decides between reading
//! and memory-mapping); a GL backend (it would hide a missing Vulkan driver behind a slow
//! fallback); and any dependency on the `hasher` crate, which depends on this one.

mod device;
mod measure;
mod merge;
mod ring;
mod settree;
mod stream;

use std::sync::Mutex;

pub use device::{adapters, DeviceInfo, DeviceKind, GpuConfig};
pub use measure::Measured;
pub use settree::SET_LEAF_LEN;

/// BLAKE3 output length.
pub const OUT_LEN: usize = 32;

/// Bytes per BLAKE3 chunk: the unit of parallelism on the GPU.
pub const CHUNK_LEN: usize = 1024;

/// Total batch size below which the CPU backend is expected to win even on a discrete GPU: the
/// fixed cost of a submission and a readback (tens of microseconds) is what the `blake3` crate
/// spends on a few MiB with all cores. On lavapipe (the only adapter the authors could measure
/// on) the CPU wins at every size; see `bench/gpu.sh` to measure a real crossover.
pub const GPU_MIN_BATCH_BYTES: u64 = 16 << 20;

/// Errors of the GPU backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No adapter on the requested backends.
    #[error("no usable gpu adapter ({0})")]
    NoAdapter(String),
    /// The adapter refused to open a device.
    #[error("cannot open gpu device: {0}")]
    RequestDevice(String),
    /// A validation error, an out-of-memory or a lost device reported by wgpu.
    #[error("gpu error: {0}")]
    Device(String),
    /// A staging buffer could not be mapped.
    #[error("cannot map gpu buffer: {0}")]
    Map(String),
    /// `out` does not have one slot per item.
    #[error("output has {out} slots for {items} items")]
    OutputLength { items: usize, out: usize },
    /// A subtree that BLAKE3 cannot have at this offset (empty, misaligned or too long).
    #[error("invalid subtree: {0}")]
    InvalidSubtree(String),
    /// A configuration value out of range.
    #[error("invalid gpu config: {0}")]
    Config(String),
    /// Reading a streamed input failed.
    #[error("cannot read input: {0}")]
    Io(#[from] std::io::Error),
    /// Set-tree leaves whose byte length is not a multiple of [`SET_LEAF_LEN`].
    #[error("{0} bytes of set leaves are not whole {SET_LEAF_LEN}-byte leaves")]
    SetLeaves(usize),
}

/// Whether `auto` should hash a batch of `batch_bytes` on `device` rather than on the CPU.
pub fn worth_it(device: &DeviceInfo, batch_bytes: u64) -> bool {
    !device.is_cpu() && batch_bytes >= GPU_MIN_BATCH_BYTES
}

/// A wgpu device with the BLAKE3 pipelines and a ring of staging buffers.
///
/// Calls take `&self` and are serialised on the ring: one batch stream at a time keeps every
/// staging buffer reusable and the GPU's queue in order.
pub struct GpuHasher {
    gpu: device::Gpu,
    ring: Mutex<ring::Ring>,
    /// Configured bytes per streamed block ([`GpuHasher::stream_block_bytes`]).
    stream_block: usize,
    /// Leaves per device-side set subtree ([`GpuConfig::set_chunk_leaves`]).
    set_chunk_leaves: usize,
    /// The set-tree kernels and buffers, compiled on first use.
    set_tree: std::sync::OnceLock<Result<Mutex<settree::SetTree>, String>>,
}

impl GpuHasher {
    /// Opens the best adapter on the configured backends (a discrete GPU first, a CPU adapter
    /// last) and compiles the kernels.
    pub fn new(config: &GpuConfig) -> Result<Self, Error> {
        let gpu = device::Gpu::open(config)?;
        let ring = ring::Ring::new(&gpu, config)?;
        if config.set_chunk_leaves < 2 || !config.set_chunk_leaves.is_power_of_two() {
            return Err(Error::Config(
                "set_chunk_leaves must be a power of two of at least 2".into(),
            ));
        }
        Ok(Self {
            gpu,
            ring: Mutex::new(ring),
            stream_block: config.stream_block_bytes,
            set_chunk_leaves: config.set_chunk_leaves,
            set_tree: std::sync::OnceLock::new(),
        })
    }

    /// The adapter in use (for `--json`'s `device`).
    pub fn device(&self) -> &DeviceInfo {
        &self.gpu.info
    }

    /// Largest number of input bytes one GPU batch holds on this device (after clamping to the
    /// device's binding and buffer limits).
    pub fn batch_bytes(&self) -> usize {
        self.lock_ring().map(|r| r.batch_bytes()).unwrap_or(0)
    }

    /// Hashes every item; `out[i]` receives BLAKE3(`items[i]`).
    pub fn hash_batch(&self, items: &[&[u8]], out: &mut [[u8; OUT_LEN]]) -> Result<(), Error> {
        if items.len() != out.len() {
            return Err(Error::OutputLength {
                items: items.len(),
                out: out.len(),
            });
        }
        let mut ring = self.lock_ring()?;
        let seg_len = ring.segment_bytes();
        let mut plan = merge::Plan::default();
        for item in items {
            plan.add_item(item, seg_len);
        }
        let cvs = ring.run(&self.gpu, &plan.segments)?;
        plan.finish(&cvs, out);
        Ok(())
    }

    /// BLAKE3 of one input of any size.
    pub fn hash(&self, data: &[u8]) -> Result<[u8; OUT_LEN], Error> {
        let mut out = [[0u8; OUT_LEN]];
        self.hash_batch(&[data], &mut out)?;
        Ok(out[0])
    }

    /// The non-root chaining value of the subtree `data` starting `input_offset` bytes into a
    /// larger input, as `blake3::hazmat` computes it: `input_offset` must be a multiple of the
    /// chunk length and `data` no longer than `blake3::hazmat::max_subtree_len(input_offset)`.
    pub fn subtree_cv(&self, data: &[u8], input_offset: u64) -> Result<[u8; OUT_LEN], Error> {
        merge::check_subtree(data.len() as u64, input_offset)?;
        let mut ring = self.lock_ring()?;
        let seg_len = ring.segment_bytes();
        let mut plan = merge::Plan::default();
        plan.add_subtree(data, input_offset / CHUNK_LEN as u64, seg_len);
        let cvs = ring.run(&self.gpu, &plan.segments)?;
        let mut out = [[0u8; OUT_LEN]];
        plan.finish(&cvs, &mut out);
        Ok(out[0])
    }

    fn lock_ring(&self) -> Result<std::sync::MutexGuard<'_, ring::Ring>, Error> {
        // A panic while holding the ring leaves its buffers in an unknown mapping state.
        self.ring
            .lock()
            .map_err(|_| Error::Device("ring poisoned by an earlier panic".into()))
    }
}
