//! The set ingest's record hashing handed to someone else (a device), in batches, and never
//! trusted blindly.
//!
//! [`super::sets::SetWriter`] stores a set's leaves in records of 256 and, for each full record,
//! hashes its leaves and their subtree root on the request thread. With a [`RecordRoots`] set on
//! the [`super::sets::SetStore`] ([`super::sets::SetStore::set_record_roots`]; the service's
//! `--set-hasher`, implemented in crate `hasher` over a GPU backend), the writer instead keeps up
//! to [`RecordRoots::batch_records`] closed records (at most [`MAX_BATCH_RECORDS`], 1,024 records
//! are 18 MiB of leaves) and hands them over in one call, then stages them and pushes their
//! roots up exactly as it would have: the stored records and the set's root are byte for byte
//! those of the CPU path.
//!
//! What it does not trust (a broken driver, a lying device):
//! - the answer must have exactly one root per record, else it is thrown away (never a short or
//!   long tree) and the device is disabled;
//! - one record of every batch, drawn from the operating system's randomness after the answer
//!   came ([`random_record`]: the device cannot know which), is hashed on the CPU too; a
//!   difference disables the device for this store (every later upload hashes on the CPU until
//!   the service restarts) and the batch is hashed again on the CPU;
//! - a device error only sends that batch to the CPU.
//!
//! A lie the spot check does not draw is caught at commit: the root is recomputed from the
//! stored records (the level-8 hashes the lie went into) and checked against the uploader's
//! claimed root, so the upload is refused (`RootMismatch`) and nothing of it is kept. Such an
//! upload can be retried; the device stays enabled (the claimed root may be the uploader's
//! mistake, not the device's).
//!
//! What this does not stop: a device that lies on one record of a batch and an uploader who
//! claims the root that lie makes, acting together. The spot check draws the lied record with
//! probability 1/k for a batch of k records, so such a set can be stored under a root its leaves
//! do not have. The device is then part of what the operator must trust, as its CPU and memory
//! are: `--set-hasher cpu` keeps it out, and every auditor catches such a set (`prov audit`
//! recomputes each named set's root from its leaves). docs/threat-model.md, "a device that lies".
//!
//! This crate knows nothing of devices: no wgpu and no `hasher` dependency here.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::hash::{Blake3Set, TreeHasher};
use crate::merkle;
use crate::set::SetLeaf;
use crate::types::Digest;

/// Leaves per record (the set store's `CHUNK`).
pub const RECORD_LEAVES: usize = 256;
/// Bytes of one full leaves record.
pub const RECORD_BYTES: usize = RECORD_LEAVES * SetLeaf::LEN;
/// The most records a writer keeps for one [`RecordRoots::record_roots`] call, whatever the
/// implementation asks: 4,096 records are 72 MiB of leaves per upload in progress.
pub const MAX_BATCH_RECORDS: usize = 4096;

/// Whatever went wrong on the other side, as it reported it.
pub type RecordRootsError = Box<dyn std::error::Error + Send + Sync>;

/// Hashes many full leaves records at once (a device): for `records`, `k` concatenated records
/// of [`RECORD_LEAVES`] 72-byte leaves, the `k` RFC 6962 subtree roots of their leaf hashes
/// (`verifier::set`'s tree: `merkle::root::<Blake3Set>` of `Blake3Set::leaf_hash` of each leaf).
pub trait RecordRoots: Send + Sync {
    /// Records the writer should gather for one call (capped at [`MAX_BATCH_RECORDS`]).
    fn batch_records(&self) -> usize;

    /// The roots of `records`, one per record, in order; `Ok(None)`: declined (this batch is not
    /// worth the device, or there is none after all), the writer hashes it itself and gathers no
    /// more batches for this upload.
    fn record_roots(&self, records: &[u8]) -> Result<Option<Vec<Digest>>, RecordRootsError>;

    /// What does the hashing, in words, for logs (`gpu: NVIDIA H100 (vulkan, discrete_gpu)`).
    fn describe(&self) -> String;

    /// Told when the writer did not use an answer (see [`DeviceEvent`]); the service logs it.
    fn report(&self, event: &DeviceEvent<'_>) {
        let _ = event;
    }
}

/// Why an answer of a [`RecordRoots`] was not used.
#[derive(Debug)]
#[non_exhaustive]
pub enum DeviceEvent<'a> {
    /// The call failed: this batch is hashed on the CPU; the device stays enabled.
    Failed { error: &'a RecordRootsError },
    /// The answer did not have one root per record: the device is disabled.
    WrongCount { records: usize, roots: usize },
    /// The spot-checked record's root differs from the CPU's: the device is disabled.
    Mismatch { record: u64 },
}

/// What set ingest hashed where, since the store was opened (the service's `/metrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestStats {
    /// Leaves of full records whose hashes and root came from the [`RecordRoots`].
    pub device_leaves: u64,
    /// Leaves of full records hashed on the CPU (no device, declined, failed or refused; the
    /// spot checks are not counted).
    pub cpu_leaves: u64,
    /// Calls that failed.
    pub device_errors: u64,
    /// Answers refused: a wrong number of roots or a spot-check mismatch.
    pub device_refused: u64,
    /// Whether the device was disabled by a refused answer.
    pub device_disabled: bool,
}

/// A store's record hashing: the optional device, whether it was disabled, and the counters.
#[derive(Default)]
pub(super) struct IngestHashing {
    device: std::sync::OnceLock<Arc<dyn RecordRoots>>,
    /// Which record of a batch of `k` the spot check hashes on the CPU ([`random_record`]).
    pick: std::sync::OnceLock<Arc<RecordPicker>>,
    disabled: AtomicBool,
    device_leaves: AtomicU64,
    cpu_leaves: AtomicU64,
    device_errors: AtomicU64,
    device_refused: AtomicU64,
}

impl IngestHashing {
    /// Sets the device once, with the spot check's record picker; `false` if one was already set.
    pub(super) fn set(&self, device: Arc<dyn RecordRoots>, pick: Arc<RecordPicker>) -> bool {
        if self.device.set(device).is_err() {
            return false;
        }
        // Set together with the device, under the same once: `set` succeeded, so this is free.
        let _ = self.pick.set(pick);
        true
    }

    /// The device and how many records to gather for it, while it is enabled.
    pub(super) fn active(&self) -> Option<(Arc<dyn RecordRoots>, usize)> {
        if self.disabled() {
            return None;
        }
        let d = self.device.get()?;
        let batch = d.batch_records().min(MAX_BATCH_RECORDS);
        (batch > 0).then(|| (d.clone(), batch))
    }

    /// Whether a refused answer disabled the device.
    pub(super) fn disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed)
    }

    pub(super) fn stats(&self) -> IngestStats {
        IngestStats {
            device_leaves: self.device_leaves.load(Ordering::Relaxed),
            cpu_leaves: self.cpu_leaves.load(Ordering::Relaxed),
            device_errors: self.device_errors.load(Ordering::Relaxed),
            device_refused: self.device_refused.load(Ordering::Relaxed),
            device_disabled: self.disabled.load(Ordering::Relaxed),
        }
    }

    /// Counts `records` full records hashed on the CPU.
    pub(super) fn on_cpu(&self, records: usize) {
        self.cpu_leaves
            .fetch_add((records * RECORD_LEAVES) as u64, Ordering::Relaxed);
    }

    /// The roots of `records` (whole records, the first of them record number `first` of the
    /// set): from `device` where its answer passes the checks above, else computed here.
    /// Also says what became of the device's answer.
    pub(super) fn roots(
        &self,
        device: &dyn RecordRoots,
        records: &[u8],
        first: u64,
    ) -> (Vec<Digest>, Answer) {
        let k = records.len() / RECORD_BYTES;
        let cpu = |h: &Self| {
            h.on_cpu(k);
            records
                .chunks_exact(RECORD_BYTES)
                .map(record_root)
                .collect()
        };
        match device.record_roots(records) {
            Ok(None) => (cpu(self), Answer::Declined),
            Err(error) => {
                self.device_errors.fetch_add(1, Ordering::Relaxed);
                device.report(&DeviceEvent::Failed { error: &error });
                (cpu(self), Answer::Failed)
            }
            Ok(Some(roots)) if roots.len() != k => {
                self.refuse(
                    device,
                    &DeviceEvent::WrongCount {
                        records: k,
                        roots: roots.len(),
                    },
                );
                (cpu(self), Answer::Refused)
            }
            Ok(Some(roots)) => {
                // Drawn after the answer came, so that it cannot depend on which is checked.
                let s = match self.pick.get() {
                    Some(pick) => pick(k).min(k - 1),
                    None => random_record(k),
                };
                let want = record_root(&records[s * RECORD_BYTES..(s + 1) * RECORD_BYTES]);
                if roots.get(s) != Some(&want) {
                    self.refuse(
                        device,
                        &DeviceEvent::Mismatch {
                            record: first + s as u64,
                        },
                    );
                    return (cpu(self), Answer::Refused);
                }
                self.device_leaves
                    .fetch_add((k * RECORD_LEAVES) as u64, Ordering::Relaxed);
                (roots, Answer::Used)
            }
        }
    }

    fn refuse(&self, device: &dyn RecordRoots, event: &DeviceEvent<'_>) {
        self.device_refused.fetch_add(1, Ordering::Relaxed);
        self.disabled.store(true, Ordering::Relaxed);
        device.report(event);
    }
}

/// What became of one batch handed to the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Answer {
    Used,
    Declined,
    Failed,
    Refused,
}

/// Picks which record of a batch of `k` (at least 1) the spot check hashes on the CPU.
pub type RecordPicker = dyn Fn(usize) -> usize + Send + Sync;

/// The spot check's record: uniform over the batch's `k` records, from the operating system's
/// randomness, drawn after the device has answered. A record chosen from the batch's bytes (as
/// it first was) is one the device can compute too, and then lie on every other record unseen.
pub fn random_record(k: usize) -> usize {
    use rand::Rng as _;
    if k <= 1 {
        return 0;
    }
    rand::rngs::OsRng.gen_range(0..k)
}

/// The subtree root of one full leaves record, as the CPU path computes it.
pub fn record_root(record: &[u8]) -> Digest {
    let hashes: Vec<Digest> = record
        .chunks_exact(SetLeaf::LEN)
        .map(Blake3Set::leaf_hash)
        .collect();
    merkle::root::<Blake3Set>(&hashes)
}
