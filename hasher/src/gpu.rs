//! The GPU backend: [`ContentHasher`] over `gpu_hash::GpuHasher` (BLAKE3 in wgpu compute shaders).
//!
//! Contract with `backend::select`: [`open`] (for `--backend gpu`) returns the backend on any
//! adapter, a software one (Mesa's lavapipe) included, so that the GPU code path can be exercised
//! anywhere; it fails with [`HashError::NoDevice`] and the reason where no adapter exists.
//! [`find_hardware`] (for `--backend auto`) refuses software adapters, which never beat the CPU
//! backend; [`open_auto`] then opens the device for `auto`, which decides from its calibration
//! which calls to send (`crate::calibrate`). Large files are streamed to the device; set trees
//! are built on it ([`ContentHasher::set_root`]), and so are the roots of a set's 256-leaf records
//! for the service's set ingest ([`ContentHasher::set_chunk_roots`], `crate::records`).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gpu_hash::{GpuConfig, GpuHasher};

use crate::backend::{ContentHasher, Usage};
use crate::calibrate::DeviceId;
use crate::error::HashError;

/// Opens the GPU backend for `--backend gpu` (`backend::select` passes `true`: the user asked for
/// the GPU explicitly, so every call goes to it, whatever its size or the adapter's kind).
pub(crate) fn open(_explicit: bool) -> Result<Arc<dyn ContentHasher>, HashError> {
    // As `auto`'s probe does: Mesa's device-select layer stays quiet (no "XDG_RUNTIME_DIR is
    // invalid or not set" on stderr) where the variable is unset.
    let runtime_dir = crate::auto::private_runtime_dir();
    let mut backend = GpuBackend::new()?;
    backend._runtime_dir = runtime_dir;
    Ok(Arc::new(backend))
}

/// Whether a hardware adapter exists (for `--backend auto`): why not where there is none, or only
/// a software rasteriser, which never beats the CPU backend. Opens no device.
pub(crate) fn find_hardware() -> Result<(), String> {
    match gpu_hash::adapters(&GpuConfig::default()).first() {
        None => Err("no gpu adapter".into()),
        Some(best) if best.is_cpu() => Err(format!(
            "only a software adapter ({best}), slower than the cpu backend"
        )),
        Some(_) => Ok(()),
    }
}

/// Opens the GPU backend for `--backend auto`, which decides itself (from its calibration) which
/// calls to send: every call it sends is hashed on the device. Returns what the calibration
/// cache is keyed by, too.
pub(crate) fn open_auto() -> Result<(Arc<dyn ContentHasher>, DeviceId), HashError> {
    let backend = GpuBackend::new()?;
    let info = backend.gpu.device();
    let id = DeviceId {
        name: info.name.clone(),
        backend: info.backend.clone(),
        driver: info.driver.clone(),
    };
    Ok((Arc::new(backend), id))
}

struct GpuBackend {
    gpu: GpuHasher,
    /// Bytes hashed (for `--json`'s `hashed`; `auto` counts its own): batches and in-memory
    /// items, files streamed from disk, set-tree leaves.
    on_device: AtomicU64,
    files_on_device: AtomicU64,
    sets_on_device: AtomicU64,
    /// The private runtime directory `--backend gpu` pointed `XDG_RUNTIME_DIR` at, removed with
    /// the backend (`auto` keeps its own).
    _runtime_dir: Option<tempfile::TempDir>,
}

impl GpuBackend {
    fn new() -> Result<Self, HashError> {
        let gpu = GpuHasher::new(&GpuConfig::default()).map_err(|e| match e {
            gpu_hash::Error::NoAdapter(_) | gpu_hash::Error::RequestDevice(_) => {
                HashError::NoDevice(e.to_string())
            }
            other => backend_error(other),
        })?;
        Ok(Self {
            gpu,
            on_device: AtomicU64::new(0),
            files_on_device: AtomicU64::new(0),
            sets_on_device: AtomicU64::new(0),
            _runtime_dir: None,
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

    /// Whole files are streamed to the device: read on a thread in 16 MiB blocks while earlier
    /// blocks are uploaded, hashed and read back (`gpu_hash::GpuHasher::hash_file`).
    fn hash_file(&self, path: &Path) -> Result<[u8; 32], std::io::Error> {
        let h = self.gpu.hash_file(path).map_err(|e| match e {
            gpu_hash::Error::Io(io) => io,
            other => std::io::Error::other(backend_error(other)),
        })?;
        let len = std::fs::metadata(path).map_or(0, |m| m.len());
        self.files_on_device.fetch_add(len, Ordering::Relaxed);
        Ok(h)
    }

    fn set_root(&self, leaves: &[u8]) -> Option<Result<[u8; 32], HashError>> {
        let root = self.gpu.set_root(leaves).map_err(backend_error);
        if root.is_ok() {
            self.sets_on_device
                .fetch_add(leaves.len() as u64, Ordering::Relaxed);
        }
        Some(root)
    }

    fn set_chunk_roots(
        &self,
        leaves: &[u8],
        chunk_leaves: usize,
    ) -> Option<Result<Vec<[u8; 32]>, HashError>> {
        let roots = self
            .gpu
            .set_chunk_roots(leaves, chunk_leaves)
            .map_err(backend_error);
        if roots.is_ok() {
            self.sets_on_device
                .fetch_add(leaves.len() as u64, Ordering::Relaxed);
        }
        Some(roots)
    }

    fn usage(&self) -> Vec<Usage> {
        [
            ("gpu", &self.on_device, "--backend gpu".to_string()),
            (
                "gpu",
                &self.files_on_device,
                "--backend gpu: large files streamed to the device".to_string(),
            ),
            (
                "gpu",
                &self.sets_on_device,
                "--backend gpu: set-tree leaves hashed on the device".to_string(),
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
        match GpuBackend::new() {
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

    #[test]
    fn gpu_backend_streams_large_files_and_says_so() {
        let Some(gpu) = backend() else { return };
        let dir = tempfile::tempdir().unwrap();
        // Around the 16 MiB streaming block: one block, one more chunk, two blocks and a bit.
        for len in [(16 << 20) - 1, (16 << 20) + 1025, (32 << 20) + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let path = dir.path().join(format!("f{len}"));
            std::fs::write(&path, &data).unwrap();
            assert_eq!(
                gpu.hash_file(&path).unwrap(),
                *blake3::hash(&data).as_bytes(),
                "len {len}"
            );
        }
        let usage = gpu.usage();
        assert_eq!(usage.len(), 1, "{usage:?}");
        assert_eq!(usage[0].backend, "gpu");
        assert!(usage[0].why.contains("large files streamed"), "{usage:?}");
        assert_eq!(
            usage[0].bytes,
            (16 << 20) - 1 + (16 << 20) + 1025 + (32 << 20) + 7
        );
    }

    #[test]
    fn gpu_backend_set_root_equals_the_verifiers() {
        let Some(gpu) = backend() else { return };
        for n in [0usize, 1, 2, 3, 1000, 4097] {
            let leaves: Vec<verifier::set::SetLeaf> = (0..n as u64)
                .map(|i| {
                    let mut b = [0u8; 72];
                    b[..8].copy_from_slice(&i.to_be_bytes());
                    b[40..48].copy_from_slice(&(i * 7).to_le_bytes());
                    verifier::set::SetLeaf::from_bytes(&b)
                })
                .collect();
            let bytes: Vec<u8> = leaves.iter().flat_map(|l| l.to_bytes()).collect();
            let want = verifier::set::SortedSet::new(leaves).unwrap().root().0;
            assert_eq!(gpu.set_root(&bytes).unwrap().unwrap(), want, "{n} leaves");
        }
        assert!(matches!(
            gpu.set_root(&[0u8; 73]),
            Some(Err(HashError::Backend { .. }))
        ));
    }

    /// The service's set ingest on the device (`crate::records`): the roots of 256-leaf records
    /// equal the ledger's own, around several device calls' worth of records.
    #[test]
    fn gpu_record_roots_are_the_ledgers() {
        use ledger::store::setdevice::{record_root, RecordRoots, RECORD_BYTES};
        let Some(gpu) = backend() else { return };
        let r = crate::records::BackendRecordRoots::new(Arc::new(gpu));
        for k in [1usize, 3, 1024] {
            let recs: Vec<u8> = (0..k * RECORD_BYTES)
                .map(|i| (i * 29 % 253) as u8)
                .collect();
            let want: Vec<_> = recs.chunks(RECORD_BYTES).map(record_root).collect();
            assert_eq!(r.record_roots(&recs).unwrap().unwrap(), want, "{k} records");
        }
        assert!(r.record_roots(&[0u8; 100]).is_err());
        assert!(r.describe().contains("gpu"), "{}", r.describe());
    }

    /// The streamed builder `prov hash` and `prov publish` use for a manifest's root
    /// (`crate::settree::SetRootBuilder`), its aligned batches built on the device: the
    /// verifier's root on either side of a batch boundary.
    #[test]
    fn streamed_set_root_with_batches_on_the_device_equals_the_verifiers() {
        let Some(gpu) = backend() else { return };
        for n in [0usize, 1, 1023, 1024, 1025, 3 * 1024 + 5] {
            let leaves: Vec<verifier::set::SetLeaf> = (0..n as u64)
                .map(|i| {
                    let mut b = [0u8; 72];
                    b[..8].copy_from_slice(&i.to_be_bytes());
                    b[40..48].copy_from_slice(&(i * 5).to_le_bytes());
                    verifier::set::SetLeaf::from_bytes(&b)
                })
                .collect();
            let mut streamed = crate::settree::SetRootBuilder::with_batch_leaves(Some(&gpu), 1024);
            for l in &leaves {
                streamed.push(l).unwrap();
            }
            let want = verifier::set::SortedSet::new(leaves).unwrap().root();
            assert_eq!(streamed.finish().unwrap(), want, "{n} leaves");
        }
    }

    /// Calibration on whatever adapter the tests have (lavapipe in CI): the device agrees with
    /// the CPU on every shape, and the result survives the cache.
    #[test]
    fn calibration_runs_on_the_device_and_is_cached() {
        let Some(gpu) = backend() else { return };
        let cpu = CpuHasher::new(Some(2)).unwrap();
        let info = gpu.gpu.device().clone();
        let id = DeviceId {
            name: info.name,
            backend: info.backend,
            driver: info.driver,
        };
        let shapes = crate::calibrate::Shapes {
            sizes: vec![256 << 10, 1 << 20],
            item_bytes: 4096,
            runs: 1,
            set_leaves: vec![1000],
        };
        let dir = tempfile::tempdir().unwrap();
        let (c, source) =
            crate::calibrate::load_or_calibrate(Some(dir.path()), &id, 2, &cpu, &gpu, &shapes)
                .unwrap();
        assert_eq!(source, crate::calibrate::Source::Measured);
        // Two sizes of batches and large items, and one set tree (1,000 leaves: 4 records).
        assert_eq!(c.points.len(), 5);
        assert_eq!(c.points.iter().filter(|p| p.set_tree).count(), 1);
        assert!(c
            .points
            .iter()
            .all(|p| p.gpu_gbps > 0.0 && p.cpu_gbps > 0.0));
        assert_eq!(
            crate::calibrate::load(&id.cache_file(dir.path()), &id, 2),
            Some(c)
        );
    }
}
