//! `--backend auto`: the CPU until the work is large enough for a device to matter, then (once)
//! a look for a hardware adapter.
//!
//! Why lazy: looking for an adapter costs tens of milliseconds (the Vulkan loader, every ICD, the
//! driver's own start-up) and, on a machine without a desktop session, Mesa's device-select layer
//! prints "error: XDG_RUNTIME_DIR is invalid or not set" on stderr. A job whose calls are all
//! smaller than [`DEVICE_MIN_BYTES`] (a one-line file, a directory of small files, JSONL chunks)
//! could never use a device, so it starts exactly as `--backend cpu` does and never loads a
//! driver. The first call that hands over at least [`DEVICE_MIN_BYTES`] at once (a batch or one
//! large item) probes; the answer (a device, or why not) is kept for the rest of the run.
//!
//! What was hashed where, and why, is counted per reason ([`ContentHasher::usage`]) for `--json`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::backend::{ContentHasher, CpuHasher, Usage};
use crate::error::HashError;

/// Below this many bytes in one call, no device can repay its upload, so no adapter is looked
/// for: `gpu_hash::GPU_MIN_BATCH_BYTES` where the GPU backend is built in.
#[cfg(feature = "gpu")]
pub const DEVICE_MIN_BYTES: u64 = gpu_hash::GPU_MIN_BATCH_BYTES;
/// Below this many bytes in one call, no device can repay its upload (16 MiB).
#[cfg(not(feature = "gpu"))]
pub const DEVICE_MIN_BYTES: u64 = 16 << 20;

/// The backend behind `--backend auto`.
pub struct AutoHasher {
    cpu: CpuHasher,
    /// Filled by the first call of [`DEVICE_MIN_BYTES`] or more: the device, or why there is none.
    probe: OnceLock<Probe>,
    /// Bytes hashed, by where and why (see [`AutoHasher::usage`]).
    cpu_small: AtomicU64,
    cpu_no_device: AtomicU64,
    cpu_files: AtomicU64,
    gpu: AtomicU64,
}

struct Probe {
    device: Result<Arc<dyn ContentHasher>, String>,
    /// The private runtime directory the probe set `XDG_RUNTIME_DIR` to, removed at the end of
    /// the run.
    _runtime_dir: Option<tempfile::TempDir>,
}

impl AutoHasher {
    /// Starts the CPU backend only; `threads` as for [`CpuHasher::new`].
    pub fn new(threads: Option<usize>) -> Result<Self, HashError> {
        Ok(AutoHasher {
            cpu: CpuHasher::new(threads)?,
            probe: OnceLock::new(),
            cpu_small: AtomicU64::new(0),
            cpu_no_device: AtomicU64::new(0),
            cpu_files: AtomicU64::new(0),
            gpu: AtomicU64::new(0),
        })
    }

    /// Whether an adapter has been looked for (a test hook: small jobs must leave this false).
    pub fn probed(&self) -> bool {
        self.probe.get().is_some()
    }

    /// Where a call of `bytes` bytes goes: the device when it is worth asking for one and one
    /// exists, otherwise the CPU (with the counter that says why).
    fn route(&self, bytes: u64) -> Route<'_> {
        if bytes < DEVICE_MIN_BYTES {
            return Route::Cpu(&self.cpu_small);
        }
        match &self.probe.get_or_init(probe).device {
            Ok(d) => Route::Device(d.as_ref()),
            Err(_) => Route::Cpu(&self.cpu_no_device),
        }
    }
}

enum Route<'a> {
    Cpu(&'a AtomicU64),
    Device(&'a dyn ContentHasher),
}

impl ContentHasher for AutoHasher {
    /// `gpu` once a device has hashed anything, `cpu` otherwise.
    fn name(&self) -> &str {
        if self.gpu.load(Ordering::Relaxed) > 0 {
            "gpu"
        } else {
            "cpu"
        }
    }

    fn hash_batch(&self, items: &[&[u8]], out: &mut [[u8; 32]]) -> Result<(), HashError> {
        let bytes: u64 = items.iter().map(|i| i.len() as u64).sum();
        match self.route(bytes) {
            Route::Cpu(counter) => {
                self.cpu.hash_batch(items, out)?;
                counter.fetch_add(bytes, Ordering::Relaxed);
            }
            Route::Device(d) => {
                d.hash_batch(items, out)?;
                self.gpu.fetch_add(bytes, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn hash_large(&self, data: &[u8]) -> Result<[u8; 32], HashError> {
        let bytes = data.len() as u64;
        match self.route(bytes) {
            Route::Cpu(counter) => {
                let h = self.cpu.hash_large(data)?;
                counter.fetch_add(bytes, Ordering::Relaxed);
                Ok(h)
            }
            Route::Device(d) => {
                let h = d.hash_large(data)?;
                self.gpu.fetch_add(bytes, Ordering::Relaxed);
                Ok(h)
            }
        }
    }

    /// Whole files are memory-mapped and hashed on the CPU: the device backend has no streaming
    /// file path yet (issue 15, item 2), so no adapter is looked for here.
    fn hash_file(&self, path: &Path) -> Result<[u8; 32], std::io::Error> {
        let h = self.cpu.hash_file(path)?;
        let len = std::fs::metadata(path).map_or(0, |m| m.len());
        self.cpu_files.fetch_add(len, Ordering::Relaxed);
        Ok(h)
    }

    fn device(&self) -> Option<String> {
        match &self.probe.get()?.device {
            Ok(d) => d.device(),
            Err(_) => None,
        }
    }

    fn usage(&self) -> Vec<Usage> {
        let no_device = match self.probe.get().map(|p| &p.device) {
            Some(Err(why)) => why.clone(),
            _ => String::new(),
        };
        let rows = [
            (
                "cpu",
                &self.cpu_small,
                format!(
                    "calls under {DEVICE_MIN_BYTES} bytes: too small for a device, none looked for"
                ),
            ),
            (
                "cpu",
                &self.cpu_no_device,
                format!("no device: {no_device}"),
            ),
            (
                "cpu",
                &self.cpu_files,
                "large files: memory-mapped on the cpu (no device file path)".to_string(),
            ),
            (
                "gpu",
                &self.gpu,
                format!(
                    "calls of {DEVICE_MIN_BYTES} bytes or more on {}",
                    self.device().unwrap_or_default()
                ),
            ),
        ];
        rows.into_iter()
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
}

/// Looks for a hardware adapter once. Where `XDG_RUNTIME_DIR` is unset, it first points it at a
/// fresh private (0700) directory: Mesa's device-select layer then finds no display socket there
/// and stays quiet instead of printing "XDG_RUNTIME_DIR is invalid or not set", and no other
/// user's socket can be reached through it.
fn probe() -> Probe {
    let runtime_dir = private_runtime_dir();
    let device = open_device().map_err(|e| match e {
        HashError::NoDevice(why) => why,
        other => other.to_string(),
    });
    Probe {
        device,
        _runtime_dir: runtime_dir,
    }
}

#[cfg(feature = "gpu")]
fn open_device() -> Result<Arc<dyn ContentHasher>, HashError> {
    crate::gpu::open_auto()
}

#[cfg(not(feature = "gpu"))]
fn open_device() -> Result<Arc<dyn ContentHasher>, HashError> {
    Err(HashError::NoDevice(
        "this build has no gpu backend (cargo feature `gpu`)".into(),
    ))
}

#[cfg(all(feature = "gpu", unix))]
fn private_runtime_dir() -> Option<tempfile::TempDir> {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("prov-xdg-")
        .tempdir()
        .ok()?;
    // Rust's own environment accesses are serialised; the process's other threads are hashing
    // (no C code reading the environment) while the probe runs, and only this once.
    std::env::set_var("XDG_RUNTIME_DIR", dir.path());
    Some(dir)
}

#[cfg(not(all(feature = "gpu", unix)))]
fn private_runtime_dir() -> Option<tempfile::TempDir> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_small_job_never_looks_for_an_adapter() {
        let h = AutoHasher::new(Some(2)).unwrap();
        let items: Vec<Vec<u8>> = (0..100).map(|i| vec![i as u8; 1000 + i]).collect();
        let refs: Vec<&[u8]> = items.iter().map(|v| v.as_slice()).collect();
        let mut out = vec![[0u8; 32]; refs.len()];
        h.hash_batch(&refs, &mut out).unwrap();
        for (o, i) in out.iter().zip(&refs) {
            assert_eq!(o, blake3::hash(i).as_bytes());
        }
        let big = vec![7u8; 2 << 20];
        assert_eq!(h.hash_large(&big).unwrap(), *blake3::hash(&big).as_bytes());
        assert!(!h.probed(), "a small job looked for an adapter");
        assert_eq!(h.name(), "cpu");
        assert_eq!(h.device(), None);
        let usage = h.usage();
        assert_eq!(usage.len(), 1, "{usage:?}");
        assert_eq!(usage[0].backend, "cpu");
        let total: u64 = refs.iter().map(|r| r.len() as u64).sum::<u64>() + big.len() as u64;
        assert_eq!(usage[0].bytes, total);
        assert!(usage[0].why.contains("too small"), "{usage:?}");
    }

    #[test]
    fn auto_large_call_probes_once_and_matches_the_cpu() {
        let h = AutoHasher::new(Some(2)).unwrap();
        let big: Vec<u8> = (0..DEVICE_MIN_BYTES as usize + 1000)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        assert_eq!(h.hash_large(&big).unwrap(), *blake3::hash(&big).as_bytes());
        assert!(h.probed());
        let usage = h.usage();
        let total: u64 = usage.iter().map(|u| u.bytes).sum();
        assert_eq!(total, big.len() as u64, "{usage:?}");
        // On lavapipe or no adapter at all, `auto` stays on the CPU and says why.
        if h.device().is_none() {
            assert_eq!(h.name(), "cpu");
            assert!(usage[0].why.starts_with("no device"), "{usage:?}");
        }
    }
}
