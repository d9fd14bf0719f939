//! The GPU backend: [`ContentHasher`] over `gpu_hash::GpuHasher` (BLAKE3 in wgpu compute shaders).
//!
//! Contract with `backend::select`: [`open`] (for `--backend gpu`) returns the backend on any
//! adapter, a software one (Mesa's lavapipe) included, so that the GPU code path can be exercised
//! anywhere; it fails with [`HashError::NoDevice`] and the reason where no adapter exists.
//! [`open_auto`] (for `--backend auto`) also refuses software adapters, which never beat the CPU
//! backend, and hashes batches too small to repay an upload on the CPU (see
//! `gpu_hash::worth_it`).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gpu_hash::{GpuConfig, GpuHasher};
use rayon::prelude::*;

use crate::backend::{ContentHasher, Usage};
use crate::error::HashError;

/// Opens the GPU backend for `--backend gpu` (`backend::select` passes `true`: the user asked for
/// the GPU explicitly, so every batch goes to it, whatever its size or the adapter's kind).
pub(crate) fn open(_explicit: bool) -> Result<Arc<dyn ContentHasher>, HashError> {
    Ok(Arc::new(GpuBackend::new(false)?))
}

/// Opens the GPU backend for `--backend auto`: [`HashError::NoDevice`] unless a hardware adapter
/// exists, so that `auto` falls back to the CPU on machines with only a software rasteriser.
pub(crate) fn open_auto() -> Result<Arc<dyn ContentHasher>, HashError> {
    let config = GpuConfig::default();
    match gpu_hash::adapters(&config).first() {
        None => return Err(HashError::NoDevice("no gpu adapter".into())),
        Some(best) if best.is_cpu() => {
            return Err(HashError::NoDevice(format!(
                "only a software adapter ({best}), slower than the cpu backend"
            )))
        }
        Some(_) => {}
    }
    Ok(Arc::new(GpuBackend::new(true)?))
}

struct GpuBackend {
    gpu: GpuHasher,
    /// Set for `auto`: batches below `gpu_hash::GPU_MIN_BATCH_BYTES` are hashed on the CPU.
    small_batches_on_cpu: bool,
    /// Bytes hashed, by where (for `--json`'s `hashed`; `auto` counts its own).
    on_device: AtomicU64,
    small_on_cpu: AtomicU64,
    files_on_cpu: AtomicU64,
}

impl GpuBackend {
    fn new(small_batches_on_cpu: bool) -> Result<Self, HashError> {
        let gpu = GpuHasher::new(&GpuConfig::default()).map_err(|e| match e {
            gpu_hash::Error::NoAdapter(_) | gpu_hash::Error::RequestDevice(_) => {
                HashError::NoDevice(e.to_string())
            }
            other => backend_error(other),
        })?;
        Ok(Self {
            gpu,
            small_batches_on_cpu,
            on_device: AtomicU64::new(0),
            small_on_cpu: AtomicU64::new(0),
            files_on_cpu: AtomicU64::new(0),
        })
    }
}

impl ContentHasher for GpuBackend {
    fn name(&self) -> &str {
        "gpu"
    }

    fn hash_batch(&self, items: &[&[u8]], out: &mut [[u8; 32]]) -> Result<(), HashError> {
        if items.len() != out.len() {
            return Err(HashError::BatchShape {
                items: items.len(),
                outputs: out.len(),
            });
        }
        let bytes: u64 = items.iter().map(|i| i.len() as u64).sum();
        if self.small_batches_on_cpu && !gpu_hash::worth_it(self.gpu.device(), bytes) {
            out.par_iter_mut()
                .zip(items.par_iter())
                .for_each(|(o, item)| *o = *blake3::hash(item).as_bytes());
            self.small_on_cpu.fetch_add(bytes, Ordering::Relaxed);
            return Ok(());
        }
        self.gpu.hash_batch(items, out).map_err(backend_error)?;
        self.on_device.fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }

    fn hash_large(&self, data: &[u8]) -> Result<[u8; 32], HashError> {
        let h = self.gpu.hash(data).map_err(backend_error)?;
        self.on_device
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok(h)
    }

    /// Whole files are still memory-mapped and hashed on the CPU (no device file path yet,
    /// issue 15 item 2): counted as such, so `--json` never says the device hashed them.
    fn hash_file(&self, path: &Path) -> Result<[u8; 32], std::io::Error> {
        let mut h = blake3::Hasher::new();
        h.update_mmap_rayon(path)?;
        let len = std::fs::metadata(path).map_or(0, |m| m.len());
        self.files_on_cpu.fetch_add(len, Ordering::Relaxed);
        Ok(*h.finalize().as_bytes())
    }

    fn usage(&self) -> Vec<Usage> {
        [
            ("gpu", &self.on_device, "--backend gpu".to_string()),
            (
                "cpu",
                &self.small_on_cpu,
                format!(
                    "batches under {} bytes: too small for the device",
                    gpu_hash::GPU_MIN_BATCH_BYTES
                ),
            ),
            (
                "cpu",
                &self.files_on_cpu,
                "large files: memory-mapped on the cpu (no device file path)".to_string(),
            ),
        ]
        .into_iter()
        .filter_map(|(backend, n, why)| {
            let bytes = n.load(Ordering::Relaxed);
            (bytes > 0).then(|| Usage {
                backend: backend.into(),
                bytes,
                why,
            })
        })
        .collect()
    }

    fn device(&self) -> Option<String> {
        Some(self.gpu.device().to_string())
    }

    /// Items of a whole GPU batch or more stream through the ring on their own; smaller ones are
    /// packed with others, which is where the GPU wins.
    fn large_threshold(&self) -> usize {
        self.gpu
            .batch_bytes()
            .max(crate::backend::DEFAULT_LARGE_THRESHOLD)
    }

    /// The pipeline gathers text items and small files up to the size where the device wins.
    fn preferred_batch_bytes(&self) -> usize {
        gpu_hash::GPU_MIN_BATCH_BYTES as usize
    }
}

fn backend_error(e: gpu_hash::Error) -> HashError {
    match e {
        gpu_hash::Error::OutputLength { items, out } => HashError::BatchShape {
            items,
            outputs: out,
        },
        other => HashError::Backend {
            backend: "gpu".into(),
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuHasher;

    /// The backend, or `None` (with the reason printed) where no adapter exists outside CI.
    fn backend() -> Option<GpuBackend> {
        match GpuBackend::new(false) {
            Ok(b) => Some(b),
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but no gpu adapter: {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED: {e}");
                None
            }
        }
    }

    #[test]
    fn gpu_backend_matches_cpu_backend() {
        let Some(gpu) = backend() else { return };
        let cpu = CpuHasher::new(Some(2)).unwrap();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let items: Vec<&[u8]> = [0, 1, 64, 1023, 1024, 1025, 40_000, 300_000]
            .iter()
            .map(|&n| &data[..n])
            .collect();
        let (mut g, mut c) = (vec![[0; 32]; items.len()], vec![[0; 32]; items.len()]);
        gpu.hash_batch(&items, &mut g).unwrap();
        cpu.hash_batch(&items, &mut c).unwrap();
        assert_eq!(g, c);
        assert_eq!(
            gpu.hash_large(&data).unwrap(),
            cpu.hash_large(&data).unwrap()
        );
        let device = gpu.device().unwrap();
        // wgpu must not have fallen back to GL: this build asks for Vulkan, Metal or DX12 only.
        #[cfg(target_os = "linux")]
        assert!(device.contains("vulkan"), "{device}");
        assert!(!device.is_empty());
        assert!(matches!(
            gpu.hash_batch(&items, &mut g[..1]),
            Err(HashError::BatchShape { .. })
        ));
    }
}
