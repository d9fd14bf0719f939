//! The service's set ingest on a hashing backend: `ledger`'s [`RecordRoots`] (the roots of many
//! 256-leaf set records at once) over a [`ContentHasher`]'s
//! [`ContentHasher::set_chunk_roots`], so that `prov serve --set-hasher gpu|auto` hands full
//! records to the device while `ledger` itself knows nothing of devices. The ledger checks every
//! answer (`ledger::store::setdevice`); this side only translates.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ledger::store::setdevice::{RecordRoots, RecordRootsError, RECORD_BYTES, RECORD_LEAVES};
use ledger::Digest;

use crate::backend::ContentHasher;

/// Records per call: 1,024 records of 256 leaves, 18 MiB of leaves (at least `auto`'s
/// [`crate::auto::DEVICE_MIN_BYTES`], so a full batch is worth a device).
pub const BATCH_RECORDS: usize = 1024;

/// [`RecordRoots`] over a backend.
pub struct BackendRecordRoots {
    backend: Arc<dyn ContentHasher>,
    batch: usize,
    /// A whole batch was declined (`auto` found no device, or calibrated the CPU faster): the
    /// same answer would come for every later one, so uploads stop gathering batches.
    never: AtomicBool,
}

impl BackendRecordRoots {
    pub fn new(backend: Arc<dyn ContentHasher>) -> Self {
        Self::with_batch_records(backend, BATCH_RECORDS)
    }

    /// [`BackendRecordRoots::new`] with `batch` records per call (tests use small ones).
    pub fn with_batch_records(backend: Arc<dyn ContentHasher>, batch: usize) -> Self {
        BackendRecordRoots {
            backend,
            batch: batch.max(1),
            never: AtomicBool::new(false),
        }
    }
}

impl RecordRoots for BackendRecordRoots {
    fn batch_records(&self) -> usize {
        if self.never.load(Ordering::Relaxed) {
            0
        } else {
            self.batch
        }
    }

    fn record_roots(&self, records: &[u8]) -> Result<Option<Vec<Digest>>, RecordRootsError> {
        match self.backend.set_chunk_roots(records, RECORD_LEAVES) {
            None => {
                if records.len() >= self.batch * RECORD_BYTES {
                    self.never.store(true, Ordering::Relaxed);
                }
                Ok(None)
            }
            Some(Err(e)) => Err(Box::new(e)),
            Some(Ok(roots)) => Ok(Some(roots.into_iter().map(Digest).collect())),
        }
    }

    fn describe(&self) -> String {
        match self.backend.device() {
            Some(d) => format!("{} backend on {d}", self.backend.name()),
            None => format!("{} backend", self.backend.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuHasher;
    use ledger::store::setdevice::record_root;

    /// A backend whose set trees are the CPU's own chunk roots (`settree::chunk_roots`).
    struct ChunkRoots(CpuHasher);

    impl ContentHasher for ChunkRoots {
        fn name(&self) -> &str {
            "chunks"
        }
        fn hash_batch(
            &self,
            items: &[&[u8]],
            out: &mut [[u8; 32]],
        ) -> Result<(), crate::HashError> {
            self.0.hash_batch(items, out)
        }
        fn hash_large(&self, data: &[u8]) -> Result<[u8; 32], crate::HashError> {
            self.0.hash_large(data)
        }
        fn set_chunk_roots(
            &self,
            leaves: &[u8],
            chunk_leaves: usize,
        ) -> Option<Result<Vec<[u8; 32]>, crate::HashError>> {
            Some(Ok(crate::settree::chunk_roots(leaves, chunk_leaves, None)
                .into_iter()
                .map(|d| d.0)
                .collect()))
        }
    }

    fn records(k: usize) -> Vec<u8> {
        (0..k * RECORD_BYTES)
            .map(|i| (i * 13 % 251) as u8)
            .collect()
    }

    #[test]
    fn record_roots_are_the_ledgers_record_roots() {
        let r = BackendRecordRoots::with_batch_records(
            Arc::new(ChunkRoots(CpuHasher::new(Some(2)).unwrap())),
            4,
        );
        let recs = records(3);
        let want: Vec<Digest> = recs.chunks(RECORD_BYTES).map(record_root).collect();
        assert_eq!(r.record_roots(&recs).unwrap().unwrap(), want);
        assert_eq!(r.batch_records(), 4);
    }

    /// The CPU backend builds no set trees: a whole batch declined, uploads stop gathering.
    #[test]
    fn a_backend_without_set_trees_declines_and_is_not_asked_again() {
        let r =
            BackendRecordRoots::with_batch_records(Arc::new(CpuHasher::new(Some(1)).unwrap()), 2);
        assert_eq!(r.batch_records(), 2);
        assert!(r.record_roots(&records(1)).unwrap().is_none());
        assert_eq!(
            r.batch_records(),
            2,
            "a short batch says nothing of full ones"
        );
        assert!(r.record_roots(&records(2)).unwrap().is_none());
        assert_eq!(r.batch_records(), 0);
    }
}
