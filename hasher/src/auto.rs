//! `--backend auto`: the CPU until the work is large enough for a device to matter, then (once)
//! a look for a hardware adapter, a calibration of both backends on it ([`crate::calibrate`],
//! cached per device and driver), and from then on each call goes where it measured faster.
//!
//! Why lazy: looking for an adapter costs tens of milliseconds (the Vulkan loader, every ICD, the
//! driver's own start-up) and, on a machine without a desktop session, Mesa's device-select layer
//! prints "error: XDG_RUNTIME_DIR is invalid or not set" on stderr. A job whose calls are all
//! smaller than [`DEVICE_MIN_BYTES`] (a one-line file, a directory of small files, JSONL chunks)
//! could never use a device, so it starts exactly as `--backend cpu` does and never loads a
//! driver. The first call that hands over at least [`DEVICE_MIN_BYTES`] at once (a batch, one
//! large item or one large file) probes; the answer (a device and its calibration, or why not) is
//! kept for the rest of the run. "No hardware adapter" is cached too, under a fingerprint of the
//! installed drivers and device nodes, so a machine without a GPU looks only once.
//!
//! What was hashed where, and why, is counted per reason ([`ContentHasher::usage`]) for `--json`:
//! every `why` starts with `too small`, `no device`, `calibrated` or `uncalibrated`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::backend::{ContentHasher, CpuHasher, Usage};
use crate::calibrate::{self, Calibration, DeviceId, Shapes, Source, AUTO_MIN_BATCH};
use crate::error::HashError;

/// Below this many bytes in one call, no device can repay its upload, so no adapter is looked
/// for: `gpu_hash::GPU_MIN_BATCH_BYTES` where the GPU backend is built in.
#[cfg(feature = "gpu")]
pub const DEVICE_MIN_BYTES: u64 = gpu_hash::GPU_MIN_BATCH_BYTES;
/// Below this many bytes in one call, no device can repay its upload (16 MiB).
#[cfg(not(feature = "gpu"))]
pub const DEVICE_MIN_BYTES: u64 = 16 << 20;

/// How `auto` calibrates. [`AutoConfig::from_env`] is what `--backend auto` uses.
#[derive(Clone, Debug)]
pub struct AutoConfig {
    /// Where calibrations and the "no adapter" answer are cached; `None`: nowhere (measured on
    /// every run that finds a device).
    pub cache_dir: Option<PathBuf>,
    /// `false`: no calibration, the fixed rule (calls of [`DEVICE_MIN_BYTES`] or more on the
    /// device), reported as `uncalibrated`.
    pub calibrate: bool,
    pub shapes: Shapes,
}

impl AutoConfig {
    /// The cache under `$XDG_CACHE_HOME/prov` (or `~/.cache/prov`); `PROV_CALIBRATION=off`
    /// turns calibration off.
    pub fn from_env() -> Self {
        Self {
            cache_dir: calibrate::default_cache_dir(),
            calibrate: std::env::var("PROV_CALIBRATION").map_or(true, |v| v != "off"),
            shapes: Shapes::default(),
        }
    }
}

/// The backend behind `--backend auto`.
pub struct AutoHasher {
    cpu: CpuHasher,
    config: AutoConfig,
    /// Filled by the first call of [`DEVICE_MIN_BYTES`] or more: the device, or why there is none.
    probe: OnceLock<Probe>,
    /// Bytes hashed, by where and why (see [`AutoHasher::usage`]).
    cpu_small: AtomicU64,
    cpu_no_device: AtomicU64,
    cpu_calibrated: AtomicU64,
    gpu_calibrated: AtomicU64,
    gpu_uncalibrated: AtomicU64,
    gpu_sets: AtomicU64,
}

struct Probe {
    device: Result<Arc<dyn ContentHasher>, String>,
    /// The device's calibration and where it came from (`None`: calibration is off).
    calibration: Option<(Calibration, Source)>,
    /// The private runtime directory the probe set `XDG_RUNTIME_DIR` to, removed at the end of
    /// the run.
    _runtime_dir: Option<tempfile::TempDir>,
}

impl AutoHasher {
    /// Starts the CPU backend only; `threads` as for [`CpuHasher::new`]; calibration as
    /// [`AutoConfig::from_env`].
    pub fn new(threads: Option<usize>) -> Result<Self, HashError> {
        Self::with_config(threads, AutoConfig::from_env())
    }

    pub fn with_config(threads: Option<usize>, config: AutoConfig) -> Result<Self, HashError> {
        Ok(AutoHasher {
            cpu: CpuHasher::new(threads)?,
            config,
            probe: OnceLock::new(),
            cpu_small: AtomicU64::new(0),
            cpu_no_device: AtomicU64::new(0),
            cpu_calibrated: AtomicU64::new(0),
            gpu_calibrated: AtomicU64::new(0),
            gpu_uncalibrated: AtomicU64::new(0),
            gpu_sets: AtomicU64::new(0),
        })
    }

    /// Looks for an adapter (and calibrates it) now instead of at the first large call: for a
    /// long-running process that wants the look done while it has one thread (it may set
    /// `XDG_RUNTIME_DIR`) and off its request threads. Idempotent.
    pub fn probe_now(&self) {
        self.probe.get_or_init(|| self.run_probe());
    }

    /// Whether an adapter has been looked for (a test hook: small jobs must leave this false).
    pub fn probed(&self) -> bool {
        self.probe.get().is_some()
    }

    /// The calibration in use, once a device was found and calibrated.
    pub fn calibration(&self) -> Option<&Calibration> {
        self.probe.get()?.calibration.as_ref().map(|(c, _)| c)
    }

    /// Where a call of `bytes` bytes (one `large` item or file, or a batch) goes: the device
    /// where it is worth asking for one, one exists and it measured faster at this size;
    /// otherwise the CPU (with the counter that says why).
    fn route(&self, bytes: u64, large: bool) -> Route<'_> {
        if bytes < DEVICE_MIN_BYTES && !self.probed() {
            return Route::Cpu(&self.cpu_small);
        }
        let probe = self.probe.get_or_init(|| self.run_probe());
        let device = match &probe.device {
            Ok(d) => d.as_ref(),
            Err(_) => return Route::Cpu(&self.cpu_no_device),
        };
        match &probe.calibration {
            Some((c, _)) => {
                let on_device = if large {
                    c.large_on_device(bytes)
                } else {
                    c.batch_on_device(bytes)
                };
                if on_device {
                    Route::Device(device, &self.gpu_calibrated)
                } else {
                    Route::Cpu(&self.cpu_calibrated)
                }
            }
            None if bytes >= DEVICE_MIN_BYTES => Route::Device(device, &self.gpu_uncalibrated),
            None => Route::Cpu(&self.cpu_small),
        }
    }

    /// Looks for a hardware adapter once (unless a cached answer says there is none under the
    /// same drivers), opens it and calibrates it. Where `XDG_RUNTIME_DIR` is unset, it first
    /// points it at a fresh private (0700) directory: Mesa's device-select layer then finds no
    /// display socket there and stays quiet instead of printing "XDG_RUNTIME_DIR is invalid or
    /// not set", and no other user's socket can be reached through it.
    fn run_probe(&self) -> Probe {
        let none = |why: String| Probe {
            device: Err(why),
            calibration: None,
            _runtime_dir: None,
        };
        if !cfg!(feature = "gpu") {
            return none("this build has no gpu backend (cargo feature `gpu`)".into());
        }
        let dir = self.config.cache_dir.as_deref();
        let fingerprint = dir.map(|_| calibrate::adapter_fingerprint());
        if let (Some(dir), Some(fp)) = (dir, &fingerprint) {
            if let Some(why) = calibrate::cached_no_adapter(dir, fp) {
                return none(format!("{why} (cached: drivers unchanged since)"));
            }
        }
        let runtime_dir = private_runtime_dir();
        let mut probe = Probe {
            device: Err(String::new()),
            calibration: None,
            _runtime_dir: runtime_dir,
        };
        let (device, id) = match open_device() {
            Ok(found) => found,
            Err(Found::NoHardware(why)) => {
                if let (Some(dir), Some(fp)) = (dir, &fingerprint) {
                    calibrate::remember_no_adapter(dir, fp, &why);
                }
                probe.device = Err(why);
                return probe;
            }
            Err(Found::Failed(why)) => {
                probe.device = Err(why);
                return probe;
            }
        };
        if self.config.calibrate {
            match calibrate::load_or_calibrate(
                dir,
                &id,
                self.cpu.threads(),
                &self.cpu,
                device.as_ref(),
                &self.config.shapes,
            ) {
                Ok(c) => probe.calibration = Some(c),
                Err(e) => {
                    // A device that fails or disagrees with the CPU while calibrating is not used.
                    probe.device = Err(e.to_string());
                    return probe;
                }
            }
        }
        probe.device = Ok(device);
        probe
    }

    /// The device a set tree of `bytes` of leaves goes to, if any: none under
    /// [`DEVICE_MIN_BYTES`] (no adapter is looked for), none where the calibration says the CPU
    /// wins at this size; without calibration (`PROV_CALIBRATION=off`), the fixed rule.
    fn set_device(&self, bytes: u64) -> Option<&dyn ContentHasher> {
        if bytes < DEVICE_MIN_BYTES {
            return None;
        }
        let probe = self.probe.get_or_init(|| self.run_probe());
        let device = probe.device.as_ref().ok()?;
        match &probe.calibration {
            Some((c, _)) if !c.set_on_device(bytes) => None,
            _ => Some(device.as_ref()),
        }
    }

    fn calibrated_why(&self, on_device: bool) -> String {
        let Some(probe) = self.probe.get() else {
            return String::new();
        };
        let device = self.device().unwrap_or_default();
        let Some((c, source)) = &probe.calibration else {
            return String::new();
        };
        let source = match source {
            Source::Cached => "cached calibration".to_string(),
            Source::Measured => "calibrated on this run".to_string(),
            Source::NotSaved(why) => format!("calibrated on this run, not cached: {why}"),
        };
        let from = |m: Option<u64>| m.map_or("never".to_string(), |m| format!("from {m} bytes"));
        if on_device {
            format!(
                "calibrated: {device} measured faster (batches {}, large items {}; {source})",
                from(c.gpu_min_batch_bytes),
                from(c.gpu_min_large_bytes)
            )
        } else {
            format!(
                "calibrated: the cpu measured faster than {device} at these sizes (device wins batches {}, large items {}; {source})",
                from(c.gpu_min_batch_bytes),
                from(c.gpu_min_large_bytes)
            )
        }
    }
}

enum Route<'a> {
    Cpu(&'a AtomicU64),
    Device(&'a dyn ContentHasher, &'a AtomicU64),
}

impl ContentHasher for AutoHasher {
    /// `gpu` once a device has hashed anything, `cpu` otherwise.
    fn name(&self) -> &str {
        let on_device = self.gpu_calibrated.load(Ordering::Relaxed)
            + self.gpu_uncalibrated.load(Ordering::Relaxed)
            + self.gpu_sets.load(Ordering::Relaxed);
        if on_device > 0 {
            "gpu"
        } else {
            "cpu"
        }
    }

    fn hash_batch(&self, items: &[&[u8]], out: &mut [[u8; 32]]) -> Result<(), HashError> {
        let bytes: u64 = items.iter().map(|i| i.len() as u64).sum();
        let counter = match self.route(bytes, false) {
            Route::Cpu(counter) => {
                self.cpu.hash_batch(items, out)?;
                counter
            }
            Route::Device(d, counter) => {
                d.hash_batch(items, out)?;
                counter
            }
        };
        counter.fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }

    fn hash_large(&self, data: &[u8]) -> Result<[u8; 32], HashError> {
        let bytes = data.len() as u64;
        let (h, counter) = match self.route(bytes, true) {
            Route::Cpu(counter) => (self.cpu.hash_large(data)?, counter),
            Route::Device(d, counter) => (d.hash_large(data)?, counter),
        };
        counter.fetch_add(bytes, Ordering::Relaxed);
        Ok(h)
    }

    /// A whole file goes where a large item of its length would: memory-mapped on the CPU, or
    /// streamed to the device (read, upload, compute and readback overlapped).
    fn hash_file(&self, path: &Path) -> Result<[u8; 32], std::io::Error> {
        let len = std::fs::metadata(path)?.len();
        let (h, counter) = match self.route(len, true) {
            Route::Cpu(counter) => (self.cpu.hash_file(path)?, counter),
            Route::Device(d, counter) => (d.hash_file(path)?, counter),
        };
        counter.fetch_add(len, Ordering::Relaxed);
        Ok(h)
    }

    /// On the device for sets of [`DEVICE_MIN_BYTES`] of leaves or more, where one was found and
    /// its calibration says it wins on set trees at this size (set trees are compute-bound: two
    /// compressions per leaf, one per node); else `None`, the CPU.
    fn set_root(&self, leaves: &[u8]) -> Option<Result<[u8; 32], HashError>> {
        let bytes = leaves.len() as u64;
        let root = self.set_device(bytes)?.set_root(leaves)?;
        if root.is_ok() {
            self.gpu_sets.fetch_add(bytes, Ordering::Relaxed);
        }
        Some(root)
    }

    /// Where [`AutoHasher::set_root`] would build a set of this many bytes: the service's set
    /// ingest asks for its records' roots this way.
    fn set_chunk_roots(
        &self,
        leaves: &[u8],
        chunk_leaves: usize,
    ) -> Option<Result<Vec<[u8; 32]>, HashError>> {
        let bytes = leaves.len() as u64;
        let roots = self
            .set_device(bytes)?
            .set_chunk_roots(leaves, chunk_leaves)?;
        if roots.is_ok() {
            self.gpu_sets.fetch_add(bytes, Ordering::Relaxed);
        }
        Some(roots)
    }

    fn device(&self) -> Option<String> {
        match &self.probe.get()?.device {
            Ok(d) => d.device(),
            Err(_) => None,
        }
    }

    /// The calibrated batch size once a device was found and measured faster somewhere, else
    /// the CPU's ([`crate::backend::CPU_BATCH_BYTES`]): asking for device-sized batches before a
    /// device is known would slow the CPU down (docs/performance.md, the text pipeline) and
    /// make every large text run look for an adapter.
    fn preferred_batch_bytes(&self) -> usize {
        let device_ok = self.probe.get().is_some_and(|p| p.device.is_ok());
        match self.calibration() {
            Some(c) if device_ok && c.gpu_min_batch_bytes.is_some() => {
                usize::try_from(c.preferred_batch_bytes).unwrap_or(AUTO_MIN_BATCH)
            }
            _ => crate::backend::CPU_BATCH_BYTES,
        }
    }

    /// Inline (as the CPU) until a device was found that measured faster on batches: then the
    /// files are gathered into the calibrated batch size.
    fn hashes_inline(&self) -> bool {
        self.preferred_batch_bytes() == crate::backend::CPU_BATCH_BYTES
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
                    "too small: calls under {DEVICE_MIN_BYTES} bytes, none looked for a device"
                ),
            ),
            (
                "cpu",
                &self.cpu_no_device,
                format!("no device: {no_device}"),
            ),
            ("cpu", &self.cpu_calibrated, self.calibrated_why(false)),
            ("gpu", &self.gpu_calibrated, self.calibrated_why(true)),
            (
                "gpu",
                &self.gpu_uncalibrated,
                format!(
                    "uncalibrated: calls of {DEVICE_MIN_BYTES} bytes or more on {}",
                    self.device().unwrap_or_default()
                ),
            ),
            (
                "gpu",
                &self.gpu_sets,
                format!(
                    "set trees of {DEVICE_MIN_BYTES} bytes of leaves or more on {}",
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

/// Why no device is used: none in hardware (cached), or one that failed to open (not cached:
/// it may be busy now and free next run).
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
enum Found {
    NoHardware(String),
    Failed(String),
}

#[cfg(feature = "gpu")]
fn open_device() -> Result<(Arc<dyn ContentHasher>, DeviceId), Found> {
    crate::gpu::find_hardware().map_err(Found::NoHardware)?;
    crate::gpu::open_auto().map_err(|e| match e {
        HashError::NoDevice(why) => Found::Failed(why),
        other => Found::Failed(other.to_string()),
    })
}

#[cfg(not(feature = "gpu"))]
fn open_device() -> Result<(Arc<dyn ContentHasher>, DeviceId), Found> {
    Err(Found::Failed(
        "this build has no gpu backend (cargo feature `gpu`)".into(),
    ))
}

#[cfg(all(feature = "gpu", unix))]
pub(crate) fn private_runtime_dir() -> Option<tempfile::TempDir> {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("prov-xdg-")
        .tempdir()
        .ok()?;
    // Rust's own environment accesses are serialised; the process's other threads are hashing
    // (no C code reading the environment) while the probe runs, and only this once. `prov serve`
    // probes (and opens `--set-hasher gpu`) before it starts its runtime (`AutoHasher::probe_now`).
    std::env::set_var("XDG_RUNTIME_DIR", dir.path());
    Some(dir)
}

#[cfg(not(all(feature = "gpu", unix)))]
pub(crate) fn private_runtime_dir() -> Option<tempfile::TempDir> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A config whose cache is the test's own directory.
    fn config(dir: &Path) -> AutoConfig {
        AutoConfig {
            cache_dir: Some(dir.to_path_buf()),
            calibrate: true,
            shapes: small_shapes(),
        }
    }

    fn small_shapes() -> Shapes {
        Shapes {
            sizes: vec![64 << 10, 256 << 10],
            item_bytes: 4096,
            runs: 1,
            set_leaves: vec![512],
        }
    }

    #[test]
    fn auto_small_job_never_looks_for_an_adapter() {
        let dir = tempfile::tempdir().unwrap();
        let h = AutoHasher::with_config(Some(2), config(dir.path())).unwrap();
        let items: Vec<Vec<u8>> = (0..100).map(|i| vec![i as u8; 1000 + i]).collect();
        let refs: Vec<&[u8]> = items.iter().map(|v| v.as_slice()).collect();
        let mut out = vec![[0u8; 32]; refs.len()];
        h.hash_batch(&refs, &mut out).unwrap();
        for (o, i) in out.iter().zip(&refs) {
            assert_eq!(o, blake3::hash(i).as_bytes());
        }
        let big = vec![7u8; 2 << 20];
        assert_eq!(h.hash_large(&big).unwrap(), *blake3::hash(&big).as_bytes());
        let file = dir.path().join("small.bin");
        std::fs::write(&file, &big).unwrap();
        assert_eq!(h.hash_file(&file).unwrap(), *blake3::hash(&big).as_bytes());
        let leaves = vec![0u8; 72 * 1000];
        assert!(h.set_root(&leaves).is_none());
        assert!(h.set_chunk_roots(&vec![0u8; 72 * 256 * 4], 256).is_none());
        assert!(!h.probed(), "a small job looked for an adapter");
        assert_eq!(h.name(), "cpu");
        assert_eq!(h.device(), None);
        assert_eq!(h.preferred_batch_bytes(), crate::backend::CPU_BATCH_BYTES);
        let usage = h.usage();
        assert_eq!(usage.len(), 1, "{usage:?}");
        assert_eq!(usage[0].backend, "cpu");
        let total: u64 = refs.iter().map(|r| r.len() as u64).sum::<u64>() + 2 * big.len() as u64;
        assert_eq!(usage[0].bytes, total);
        assert!(usage[0].why.starts_with("too small"), "{usage:?}");
        // Nothing was measured or cached: only the test's own file is in the cache directory.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn auto_large_call_probes_once_and_matches_the_cpu() {
        let dir = tempfile::tempdir().unwrap();
        let h = AutoHasher::with_config(Some(2), config(dir.path())).unwrap();
        let big: Vec<u8> = (0..DEVICE_MIN_BYTES as usize + 1000)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        assert_eq!(h.hash_large(&big).unwrap(), *blake3::hash(&big).as_bytes());
        assert!(h.probed());
        let usage = h.usage();
        let total: u64 = usage.iter().map(|u| u.bytes).sum();
        assert_eq!(total, big.len() as u64, "{usage:?}");
        // On lavapipe or no adapter at all, `auto` stays on the CPU and says why; a second
        // hasher on the same cache learns it from the cache.
        if h.device().is_none() {
            assert_eq!(h.name(), "cpu");
            assert!(usage[0].why.starts_with("no device"), "{usage:?}");
            if cfg!(feature = "gpu") {
                let again = AutoHasher::with_config(Some(2), config(dir.path())).unwrap();
                assert_eq!(
                    again.hash_large(&big).unwrap(),
                    *blake3::hash(&big).as_bytes()
                );
                let usage = again.usage();
                assert!(usage[0].why.contains("(cached"), "{usage:?}");
            }
        }
    }

    /// The CPU backend standing in for a device, counting the calls it gets: the cache logic
    /// needs a second backend to time, not a GPU (the GPU's own calibration test is in gpu.rs).
    struct Counting {
        cpu: CpuHasher,
        calls: AtomicUsize,
    }

    impl ContentHasher for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        fn hash_batch(&self, items: &[&[u8]], out: &mut [[u8; 32]]) -> Result<(), HashError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.cpu.hash_batch(items, out)
        }
        fn hash_large(&self, data: &[u8]) -> Result<[u8; 32], HashError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.cpu.hash_large(data)
        }
    }

    /// A "device" that gets one byte wrong: calibration must refuse it.
    struct Wrong(CpuHasher);

    impl ContentHasher for Wrong {
        fn name(&self) -> &str {
            "wrong"
        }
        fn hash_batch(&self, items: &[&[u8]], out: &mut [[u8; 32]]) -> Result<(), HashError> {
            self.0.hash_batch(items, out)?;
            if let Some(o) = out.last_mut() {
                o[0] ^= 1;
            }
            Ok(())
        }
        fn hash_large(&self, data: &[u8]) -> Result<[u8; 32], HashError> {
            self.0.hash_large(data)
        }
    }

    fn id(driver: &str) -> DeviceId {
        DeviceId {
            name: "Test GPU".into(),
            backend: "vulkan".into(),
            driver: driver.into(),
        }
    }

    #[test]
    fn calibration_is_cached_reused_and_redone_for_a_new_driver() {
        let dir = tempfile::tempdir().unwrap();
        let cpu = CpuHasher::new(Some(2)).unwrap();
        let dev = Counting {
            cpu: CpuHasher::new(Some(1)).unwrap(),
            calls: AtomicUsize::new(0),
        };
        let shapes = small_shapes();
        let v1 = id("NVIDIA 570.1");
        let (first, source) =
            calibrate::load_or_calibrate(Some(dir.path()), &v1, 2, &cpu, &dev, &shapes).unwrap();
        assert_eq!(source, Source::Measured);
        assert!(dev.calls.load(Ordering::Relaxed) > 0);
        let file = v1.cache_file(dir.path());
        assert!(file.is_file(), "no cache file at {}", file.display());
        assert!(file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("calibration-"));
        assert_eq!(first.points.len(), 2 * shapes.sizes.len());

        // Reused: no call reaches the device, the same numbers come back.
        dev.calls.store(0, Ordering::Relaxed);
        let (again, source) =
            calibrate::load_or_calibrate(Some(dir.path()), &v1, 2, &cpu, &dev, &shapes).unwrap();
        assert_eq!(source, Source::Cached);
        assert_eq!(again, first);
        assert_eq!(dev.calls.load(Ordering::Relaxed), 0);

        // A new driver string: measured again, into its own file.
        let v2 = id("NVIDIA 575.2");
        assert_ne!(v2.cache_file(dir.path()), file);
        let (_, source) =
            calibrate::load_or_calibrate(Some(dir.path()), &v2, 2, &cpu, &dev, &shapes).unwrap();
        assert_eq!(source, Source::Measured);
        assert!(dev.calls.load(Ordering::Relaxed) > 0);
        assert!(v2.cache_file(dir.path()).is_file());

        // A file that names another driver (copied, or a hash collision) is not trusted.
        std::fs::copy(&file, v2.cache_file(dir.path())).unwrap();
        assert!(calibrate::load(&v2.cache_file(dir.path()), &v2, 2).is_none());
        // Nor one measured with another number of CPU threads, nor a damaged one.
        assert!(calibrate::load(&file, &v1, 3).is_none());
        std::fs::write(&file, b"{\"format\":").unwrap();
        assert!(calibrate::load(&file, &v1, 2).is_none());
    }

    #[test]
    fn a_device_that_disagrees_with_the_cpu_is_never_calibrated() {
        let cpu = CpuHasher::new(Some(2)).unwrap();
        let wrong = Wrong(CpuHasher::new(Some(1)).unwrap());
        assert!(matches!(
            calibrate::calibrate(&id("x"), 2, &cpu, &wrong, &small_shapes()),
            Err(calibrate::CalibrationError::Mismatch(_))
        ));
    }
}
