//! Calibration of `--backend auto`: on a device's first use, both backends are timed on the
//! shapes the pipeline hands over (batches of 4 KiB items, single large items, and set trees:
//! the roots of 256-leaf chunks of a set's leaves, the service's set records), and `auto` then
//! sends a call to the device only at the sizes where it measured faster.
//!
//! The result is cached in `$XDG_CACHE_HOME/prov/calibration-<hash>.json` (`~/.cache/prov/...`
//! without `XDG_CACHE_HOME`), one file per device and driver: `<hash>` is taken from the adapter's
//! name, backend and driver string, and the file repeats them, so a new driver (or another card)
//! finds no file, or a file that does not match, and measures again. A file written for another
//! number of CPU threads is measured again too: the CPU side of the comparison changed.
//!
//! Also here, so that a machine without a GPU pays nothing for looking: the answer "no hardware
//! adapter" is cached (`adapters-<fingerprint>.json`) under a fingerprint of what decides it (the
//! Vulkan driver manifests present, the GPU device nodes, the environment variables that steer
//! the loader). While the fingerprint is unchanged, `auto` does not load a driver to learn again
//! that there is none (tens of milliseconds, and Mesa's noise on stderr).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::backend::ContentHasher;

/// The `format` of a calibration file.
/// (v2 added the set-tree points: a v1 file is measured again.)
pub const CALIBRATION_FORMAT: &str = "prov-calibration/v2";

/// The batch size `auto` asks for when nothing was measured: today's fixed rule (16 MiB), which
/// the text pipeline also uses to aggregate chunks and coalesce files.
pub const AUTO_MIN_BATCH: usize = 16 << 20;

/// What a calibration is valid for: the adapter and its driver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceId {
    pub name: String,
    pub backend: String,
    pub driver: String,
}

impl DeviceId {
    /// The cache file of this device and driver in `dir`.
    pub fn cache_file(&self, dir: &Path) -> PathBuf {
        let mut h = blake3::Hasher::new();
        for part in [&self.name, &self.backend, &self.driver] {
            h.update(part.as_bytes());
            h.update(&[0]);
        }
        let hex = h.finalize().to_hex();
        dir.join(format!("calibration-{}.json", &hex[..16]))
    }
}

/// One measured shape: `batch_bytes` hashed as items of `item_bytes` (0: one large item), or
/// (`set_tree`) `batch_bytes` of 72-byte set leaves turned into the roots of their 256-leaf
/// chunks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub batch_bytes: u64,
    pub item_bytes: u64,
    #[serde(default)]
    pub set_tree: bool,
    pub cpu_gbps: f64,
    pub gpu_gbps: f64,
}

/// A device's calibration, as cached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub format: String,
    pub device: DeviceId,
    pub cpu_threads: usize,
    pub points: Vec<Point>,
    /// Batches of small items from this many bytes go to the device; `None`: never.
    pub gpu_min_batch_bytes: Option<u64>,
    /// Single large items (and files) from this many bytes go to the device; `None`: never.
    pub gpu_min_large_bytes: Option<u64>,
    /// Set trees (a set's root, or the roots of its chunks) of this many bytes of leaves or more
    /// go to the device; `None`: never (or the device builds no set trees).
    #[serde(default)]
    pub gpu_min_set_bytes: Option<u64>,
    /// The batch size to hand `auto` (see [`crate::ContentHasher::preferred_batch_bytes`]).
    pub preferred_batch_bytes: u64,
}

impl Calibration {
    /// Whether a batch of `bytes` should go to the device.
    pub fn batch_on_device(&self, bytes: u64) -> bool {
        self.gpu_min_batch_bytes.is_some_and(|m| bytes >= m)
    }

    /// Whether one large item (or file) of `bytes` should go to the device.
    pub fn large_on_device(&self, bytes: u64) -> bool {
        self.gpu_min_large_bytes.is_some_and(|m| bytes >= m)
    }

    /// Whether a set tree of `bytes` of leaves should be built on the device.
    pub fn set_on_device(&self, bytes: u64) -> bool {
        self.gpu_min_set_bytes.is_some_and(|m| bytes >= m)
    }
}

/// Where a calibration came from, for `--json`'s reasons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Read from the cache file.
    Cached,
    /// Measured now and saved.
    Measured,
    /// Measured now; the cache could not be written (why).
    NotSaved(String),
}

/// The sizes a calibration measures. The default suits a hardware GPU (under a second in all);
/// tests and software adapters use smaller ones.
#[derive(Clone, Debug)]
pub struct Shapes {
    /// Batch sizes, increasing.
    pub sizes: Vec<u64>,
    /// Item size of the batches (the pipeline's small files and records).
    pub item_bytes: u64,
    /// Timed runs per shape and backend (the best counts), after one warm-up.
    pub runs: usize,
    /// Set sizes, in leaves (rounded up to whole 256-leaf chunks), increasing: the roots of their
    /// 256-leaf chunks on the device against every core.
    pub set_leaves: Vec<u64>,
}

impl Default for Shapes {
    fn default() -> Self {
        Self {
            sizes: vec![1 << 20, 4 << 20, 16 << 20, 64 << 20],
            item_bytes: 4096,
            runs: 2,
            // A quarter and a whole of the service's batch (1,024 records of 256 leaves).
            set_leaves: vec![1 << 16, 1 << 18],
        }
    }
}

/// Why a calibration could not be made: the device failed, or disagreed with the CPU (then it
/// must not be used at all).
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    #[error("device failed while calibrating: {0}")]
    Device(crate::HashError),
    #[error("device and cpu disagree on a {0}-byte calibration input")]
    Mismatch(u64),
}

/// The cached calibration for `id` if one is valid, else a new one measured with `cpu` and
/// `device` and saved in `dir` (when given).
pub fn load_or_calibrate(
    dir: Option<&Path>,
    id: &DeviceId,
    cpu_threads: usize,
    cpu: &dyn ContentHasher,
    device: &dyn ContentHasher,
    shapes: &Shapes,
) -> Result<(Calibration, Source), CalibrationError> {
    if let Some(c) = dir.and_then(|d| load(&id.cache_file(d), id, cpu_threads)) {
        return Ok((c, Source::Cached));
    }
    let c = calibrate(id, cpu_threads, cpu, device, shapes)?;
    let source = match dir {
        None => Source::NotSaved("no cache directory".into()),
        Some(d) => match save(&id.cache_file(d), &c) {
            Ok(()) => Source::Measured,
            Err(e) => Source::NotSaved(e.to_string()),
        },
    };
    Ok((c, source))
}

/// A valid cached calibration for `id` at `path`: right format, same device and driver, same CPU
/// thread count. Anything else (absent, unreadable, stale) is `None`: measure again.
pub fn load(path: &Path, id: &DeviceId, cpu_threads: usize) -> Option<Calibration> {
    let bytes = std::fs::read(path).ok()?;
    let c: Calibration = serde_json::from_slice(&bytes).ok()?;
    (c.format == CALIBRATION_FORMAT && &c.device == id && c.cpu_threads == cpu_threads).then_some(c)
}

/// Times both backends on every shape and derives the thresholds.
pub fn calibrate(
    id: &DeviceId,
    cpu_threads: usize,
    cpu: &dyn ContentHasher,
    device: &dyn ContentHasher,
    shapes: &Shapes,
) -> Result<Calibration, CalibrationError> {
    let max = shapes.sizes.iter().copied().max().unwrap_or(0) as usize;
    let data: Vec<u8> = (0..max).map(|i| (i % 251) as u8).collect();
    let item = (shapes.item_bytes.max(1)) as usize;
    let mut points = Vec::new();
    for &size in &shapes.sizes {
        let part = &data[..size as usize];
        // Batches of small items.
        let items: Vec<&[u8]> = part.chunks(item).collect();
        let mut out_c = vec![[0u8; 32]; items.len()];
        let mut out_g = vec![[0u8; 32]; items.len()];
        let tc = best(shapes.runs, || cpu.hash_batch(&items, &mut out_c))
            .map_err(CalibrationError::Device)?;
        let tg = best(shapes.runs, || device.hash_batch(&items, &mut out_g))
            .map_err(CalibrationError::Device)?;
        if out_c != out_g {
            return Err(CalibrationError::Mismatch(size));
        }
        points.push(point(size, item as u64, tc, tg));
        // One large item.
        let (mut hc, mut hg) = ([0u8; 32], [0u8; 32]);
        let tc = best(shapes.runs, || cpu.hash_large(part).map(|h| hc = h))
            .map_err(CalibrationError::Device)?;
        let tg = best(shapes.runs, || device.hash_large(part).map(|h| hg = h))
            .map_err(CalibrationError::Device)?;
        if hc != hg {
            return Err(CalibrationError::Mismatch(size));
        }
        points.push(point(size, 0, tc, tg));
    }
    points.extend(set_points(cpu, device, shapes)?);
    let batch: Vec<&Point> = points
        .iter()
        .filter(|p| p.item_bytes > 0 && !p.set_tree)
        .collect();
    let large: Vec<&Point> = points
        .iter()
        .filter(|p| p.item_bytes == 0 && !p.set_tree)
        .collect();
    let sets: Vec<&Point> = points.iter().filter(|p| p.set_tree).collect();
    let gpu_min_batch_bytes = crossover(&batch);
    // The preferred batch: the smallest at which the device reaches 90 % of its best measured
    // throughput, where the device wins at all; else today's constant.
    let preferred_batch_bytes = match gpu_min_batch_bytes {
        Some(min) => {
            let wins: Vec<&&Point> = batch.iter().filter(|p| p.batch_bytes >= min).collect();
            let top = wins.iter().map(|p| p.gpu_gbps).fold(0.0, f64::max);
            wins.iter()
                .find(|p| p.gpu_gbps >= 0.9 * top)
                .map_or(min, |p| p.batch_bytes)
        }
        None => AUTO_MIN_BATCH as u64,
    };
    Ok(Calibration {
        format: CALIBRATION_FORMAT.into(),
        device: id.clone(),
        cpu_threads,
        gpu_min_batch_bytes,
        gpu_min_large_bytes: crossover(&large),
        gpu_min_set_bytes: crossover(&sets),
        preferred_batch_bytes,
        points,
    })
}

/// The set-tree points: the roots of 256-leaf chunks, on the device against every core of the
/// CPU (`crate::settree::chunk_roots`); none where the device builds no set trees.
fn set_points(
    cpu: &dyn ContentHasher,
    device: &dyn ContentHasher,
    shapes: &Shapes,
) -> Result<Vec<Point>, CalibrationError> {
    let _ = cpu; // the CPU side is the all-cores builder, not a backend call
    let chunk = crate::settree::RECORD_LEAVES;
    let mut points = Vec::new();
    for &n in &shapes.set_leaves {
        let n = (n as usize).div_ceil(chunk).max(1) * chunk;
        let leaves: Vec<u8> = (0..n * ledger::set::SetLeaf::LEN)
            .map(|i| (i % 253) as u8)
            .collect();
        let mut want = Vec::new();
        let tc = best(shapes.runs, || {
            want = crate::settree::chunk_roots(&leaves, chunk, None);
            Ok(())
        })
        .map_err(CalibrationError::Device)?;
        // A device without set trees answers `None`: nothing to measure.
        if device.set_chunk_roots(&leaves, chunk).is_none() {
            return Ok(Vec::new());
        }
        let mut got = Vec::new();
        let tg = best(shapes.runs, || {
            got = device
                .set_chunk_roots(&leaves, chunk)
                .unwrap_or_else(|| Ok(Vec::new()))?;
            Ok(())
        })
        .map_err(CalibrationError::Device)?;
        let want: Vec<[u8; 32]> = want.into_iter().map(|d| d.0).collect();
        if got != want {
            return Err(CalibrationError::Mismatch(leaves.len() as u64));
        }
        let mut p = point(
            leaves.len() as u64,
            ledger::set::SetLeaf::LEN as u64,
            tc,
            tg,
        );
        p.set_tree = true;
        points.push(p);
    }
    Ok(points)
}

/// The smallest measured size from which the device was faster at every larger measured size
/// (so that one lucky size in the middle does not send the sizes above it to a slower device).
fn crossover(points: &[&Point]) -> Option<u64> {
    let mut from = None;
    for p in points.iter().rev() {
        if p.gpu_gbps > p.cpu_gbps {
            from = Some(p.batch_bytes);
        } else {
            break;
        }
    }
    from
}

fn point(size: u64, item: u64, cpu: Duration, gpu: Duration) -> Point {
    let gbps = |t: Duration| size as f64 / t.as_secs_f64().max(1e-9) / 1e9;
    Point {
        batch_bytes: size,
        item_bytes: item,
        set_tree: false,
        cpu_gbps: gbps(cpu),
        gpu_gbps: gbps(gpu),
    }
}

fn best(
    runs: usize,
    mut f: impl FnMut() -> Result<(), crate::HashError>,
) -> Result<Duration, crate::HashError> {
    f()?; // warm-up: first-touch page faults, pipeline caches
    let mut best = Duration::MAX;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}

/// Writes `c` to `path` through a temporary file and a rename, so a reader never sees half.
pub fn save(path: &Path, c: &Calibration) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut text = serde_json::to_vec_pretty(c).map_err(std::io::Error::other)?;
    text.push(b'\n');
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::fs::write(tmp.path(), &text)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// `$XDG_CACHE_HOME/prov`, else `$HOME/.cache/prov`; `None` without either.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("prov"))
}

/// What decides whether a hardware adapter can exist, hashed: the Vulkan driver manifests (names,
/// sizes, modification times), the GPU device nodes, the variables that steer the Vulkan loader
/// and wgpu, and this program's version.
pub fn adapter_fingerprint() -> String {
    let mut h = blake3::Hasher::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    for var in [
        "VK_ICD_FILENAMES",
        "VK_DRIVER_FILES",
        "VK_ADD_DRIVER_FILES",
        "WGPU_BACKEND",
        "WGPU_ADAPTER_NAME",
        "CUDA_VISIBLE_DEVICES",
        "NVIDIA_VISIBLE_DEVICES",
    ] {
        h.update(var.as_bytes());
        h.update(std::env::var(var).unwrap_or_default().as_bytes());
        h.update(&[0]);
    }
    let mut dirs: Vec<PathBuf> = [
        "/usr/share/vulkan/icd.d",
        "/usr/local/share/vulkan/icd.d",
        "/etc/vulkan/icd.d",
        "/dev",
        "/dev/dri",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    if let Some(data) = std::env::var_os("XDG_DATA_HOME") {
        dirs.push(PathBuf::from(data).join("vulkan/icd.d"));
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<(String, u64, u64)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let relevant = dir.ends_with("icd.d")
                    || name.starts_with("nvidia")
                    || name.starts_with("renderD")
                    || name == "kfd"
                    || name == "dxg";
                if !relevant {
                    return None;
                }
                let meta = e.metadata().ok();
                let len = meta.as_ref().map_or(0, |m| m.len());
                let mtime = meta
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs());
                Some((name, len, mtime))
            })
            .collect();
        names.sort();
        h.update(dir.to_string_lossy().as_bytes());
        for (name, len, mtime) in names {
            h.update(name.as_bytes());
            h.update(&len.to_le_bytes());
            h.update(&mtime.to_le_bytes());
        }
    }
    h.finalize().to_hex()[..16].to_string()
}

/// A cached "no hardware adapter here", and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoAdapter {
    pub fingerprint: String,
    pub why: String,
}

/// The cached "no hardware adapter" for `fingerprint` in `dir`, if any.
pub fn cached_no_adapter(dir: &Path, fingerprint: &str) -> Option<String> {
    let path = dir.join(format!("adapters-{fingerprint}.json"));
    let n: NoAdapter = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (n.fingerprint == fingerprint).then_some(n.why)
}

/// Remembers that looking found no hardware adapter under `fingerprint` (best effort).
pub fn remember_no_adapter(dir: &Path, fingerprint: &str, why: &str) {
    let n = NoAdapter {
        fingerprint: fingerprint.into(),
        why: why.into(),
    };
    let path = dir.join(format!("adapters-{fingerprint}.json"));
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::fs::write(
            tmp.path(),
            serde_json::to_vec(&n).map_err(std::io::Error::other)?,
        )?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    let _ = write();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(batch_bytes: u64, cpu_gbps: f64, gpu_gbps: f64) -> Point {
        Point {
            batch_bytes,
            item_bytes: 4096,
            set_tree: false,
            cpu_gbps,
            gpu_gbps,
        }
    }

    #[test]
    fn crossover_is_where_the_device_wins_from_then_on() {
        let won_from_4 = [
            p(1 << 20, 5.0, 1.0),
            p(4 << 20, 5.0, 9.0),
            p(16 << 20, 5.0, 20.0),
        ];
        assert_eq!(
            crossover(&won_from_4.iter().collect::<Vec<_>>()),
            Some(4 << 20)
        );
        // A lucky middle size does not send the sizes above it to a slower device.
        let lucky = [
            p(1 << 20, 5.0, 1.0),
            p(4 << 20, 5.0, 6.0),
            p(16 << 20, 5.0, 4.0),
        ];
        assert_eq!(crossover(&lucky.iter().collect::<Vec<_>>()), None);
        let never = [p(1 << 20, 5.0, 1.0), p(4 << 20, 5.0, 2.0)];
        assert_eq!(crossover(&never.iter().collect::<Vec<_>>()), None);
        let cal = Calibration {
            format: CALIBRATION_FORMAT.into(),
            device: DeviceId {
                name: "d".into(),
                backend: "vulkan".into(),
                driver: "1".into(),
            },
            cpu_threads: 1,
            points: won_from_4.to_vec(),
            gpu_min_batch_bytes: Some(4 << 20),
            gpu_min_large_bytes: None,
            gpu_min_set_bytes: Some(18 << 20),
            preferred_batch_bytes: 16 << 20,
        };
        assert!(!cal.batch_on_device((4 << 20) - 1));
        assert!(cal.batch_on_device(4 << 20));
        assert!(!cal.large_on_device(1 << 30));
        assert!(!cal.set_on_device((18 << 20) - 1));
        assert!(cal.set_on_device(18 << 20));
    }
}
