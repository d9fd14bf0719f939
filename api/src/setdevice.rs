//! The service's set ingest on a device (`--set-hasher`, `sets.hasher`): the binary opens the
//! backend and hands it here as a `ledger` [`RecordRoots`] (this crate has no wgpu and no
//! hasher dependency); [`crate::Server::set_record_roots`] installs it on the ledger's set store
//! behind [`Logged`], which logs every answer the ledger did not use (a failed call, a wrong
//! count, a spot-check mismatch that disabled the device). What was hashed where is in
//! `/metrics` (`crate::metrics`: `prov_set_ingest_leaves_total{hasher}`).

use std::sync::Arc;

use ledger::store::setdevice::{DeviceEvent, RecordRoots, RecordRootsError};
use ledger::Digest;

/// A [`RecordRoots`] whose refused answers go to the service's log.
pub struct Logged(pub Arc<dyn RecordRoots>);

impl RecordRoots for Logged {
    fn batch_records(&self) -> usize {
        self.0.batch_records()
    }

    fn record_roots(&self, records: &[u8]) -> Result<Option<Vec<Digest>>, RecordRootsError> {
        self.0.record_roots(records)
    }

    fn describe(&self) -> String {
        self.0.describe()
    }

    fn report(&self, event: &DeviceEvent<'_>) {
        let device = self.0.describe();
        match event {
            DeviceEvent::Failed { error } => tracing::warn!(
                %device, error = %error,
                "set ingest: the device failed; this batch of records was hashed on the cpu"
            ),
            DeviceEvent::WrongCount { records, roots } => tracing::error!(
                %device, records, roots,
                "set ingest: the device returned a wrong number of record roots; disabled, \
                 set ingest hashes on the cpu until restart"
            ),
            DeviceEvent::Mismatch { record } => tracing::error!(
                %device, record,
                "set ingest: a record root from the device differs from the cpu's; disabled, \
                 set ingest hashes on the cpu until restart"
            ),
            other => tracing::warn!(%device, event = ?other, "set ingest: device answer not used"),
        }
        self.0.report(event);
    }
}
