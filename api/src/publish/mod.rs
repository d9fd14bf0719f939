//! The static mirror of the log in an object store (issue 16; docs/publishing.md): `prov serve
//! --publish URL` writes the checkpoint, hash tiles, entry bundles and the stored trees that
//! entries name into a bucket, byte for byte as the service's routes of the same names, so that
//! readers (and a CDN in front of the bucket) never touch the sequencer.
//!
//! One task ([`spawn`]) follows the log: the sequencer never waits for it, and a store that is
//! down only makes the mirror lag (`/healthz` `publish.lag_entries`, `/metrics`
//! `prov_publish_lag_entries`) until it is back. Order, so that a reader who sees a checkpoint
//! finds everything it covers: trees named by the new entries, then the tiles and bundles of the
//! new size, then `checkpoint` last ([`task`]). Immutable objects are created, never
//! overwritten; one found with other bytes stops the publisher ([`PublishError::Conflict`]).
//!
//! Deliberately not here: reading the mirror (crate `cli`, `LogSource`), and deleting anything
//! from the bucket (the mirror only grows, as the log does).

mod objects;
mod stream;
mod target;
mod task;
mod trees;

use std::sync::Mutex;

use serde::Serialize;
use utoipa::ToSchema;

pub use objects::Written;
pub use stream::{part_size, publish_tree, MIN_PART_SIZE};
pub use target::{check_url, open, Target, TargetError};
pub use task::spawn;
pub use trees::Tree;

/// The object name of the log-signed checkpoint.
pub const CHECKPOINT: &str = "checkpoint";
/// The object name of the witness-cosigned checkpoint.
pub const CHECKPOINT_COSIGNED: &str = "checkpoint.cosigned";

/// Why one publishing round failed. [`PublishError::is_fatal`] tells the errors that stop the
/// publisher (an alarm for an operator) from those it retries with backoff.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The store failed or is unreachable: retried.
    #[error("object store, {object}: {source}")]
    Store {
        object: String,
        #[source]
        source: object_store::Error,
    },
    /// An immutable object is already in the bucket with other bytes: never overwritten.
    #[error("{object} is in the bucket with other bytes ({theirs} bytes there, {ours} ours): not overwritten")]
    Conflict {
        object: String,
        ours: usize,
        theirs: usize,
    },
    /// The bucket's checkpoint does not verify with this log's key.
    #[error("the bucket's checkpoint is not this log's")]
    ForeignCheckpoint {
        #[source]
        reason: ForeignCheckpoint,
    },
    /// The bucket's checkpoint is larger than this log, or has another root at its size.
    #[error("the bucket's checkpoint (size {bucket}) is not a checkpoint of this log (size {local}): {reason}")]
    Diverged {
        bucket: u64,
        local: u64,
        reason: &'static str,
    },
    /// Reading the local ledger failed: retried (the ledger reports its own failures).
    #[error("reading the ledger: {0}")]
    Local(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl PublishError {
    pub(crate) fn local(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        PublishError::Local(Box::new(e))
    }

    /// Whether the publisher stops (until restarted by an operator) rather than retry.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            PublishError::Conflict { .. }
                | PublishError::ForeignCheckpoint { .. }
                | PublishError::Diverged { .. }
        )
    }

    /// A short label for `prov_publish_errors_total{kind}`.
    fn kind(&self) -> &'static str {
        match self {
            PublishError::Store { .. } => "store",
            PublishError::Conflict { .. } => "conflict",
            PublishError::ForeignCheckpoint { .. } => "foreign-checkpoint",
            PublishError::Diverged { .. } => "diverged",
            PublishError::Local(_) => "local",
        }
    }
}

/// The publisher's state, shared between its task and `/healthz`.
#[derive(Debug)]
pub struct Publishing {
    url: String,
    inner: Mutex<Status>,
}

#[derive(Debug, Default, Clone)]
struct Status {
    published_size: u64,
    last_error: Option<String>,
    state: PublishState,
}

/// What the publisher is doing.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PublishState {
    /// Reading the bucket's checkpoint (at start, and after a failure before it was read).
    #[default]
    Starting,
    /// Following the log.
    Ok,
    /// The last round failed; retrying with backoff.
    Retrying,
    /// Stopped on a conflict or a bucket that is not this log's mirror: an operator must look.
    Stopped,
}

/// `/healthz`'s `publish` object.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct PublishHealth {
    /// The publish URL as configured.
    pub url: String,
    /// `starting`, `ok`, `retrying` or `stopped` (a conflict or a foreign bucket: see
    /// `last_error`; the publisher writes nothing more until restarted).
    pub state: String,
    /// The size of the checkpoint in the bucket.
    pub published_size: u64,
    /// The size of the log's latest checkpoint.
    pub log_size: u64,
    /// `log_size - published_size`.
    pub lag_entries: u64,
    /// The last failure, if the last round failed (or the publisher stopped).
    pub last_error: Option<String>,
}

impl Publishing {
    pub fn new(url: &str) -> Self {
        Publishing {
            url: url.to_string(),
            inner: Mutex::new(Status::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        // A poisoned lock only means a panic while holding it; the status is plain data.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The status for `/healthz`, against the log's current size.
    pub fn health(&self, log_size: u64) -> PublishHealth {
        let s = self.lock().clone();
        let state = match s.state {
            PublishState::Starting => "starting",
            PublishState::Ok => "ok",
            PublishState::Retrying => "retrying",
            PublishState::Stopped => "stopped",
        };
        PublishHealth {
            url: self.url.clone(),
            state: state.into(),
            published_size: s.published_size,
            log_size,
            lag_entries: log_size.saturating_sub(s.published_size),
            last_error: s.last_error,
        }
    }

    /// The size published so far.
    pub fn published_size(&self) -> u64 {
        self.lock().published_size
    }

    fn published(&self, size: u64, log_size: u64) {
        let mut s = self.lock();
        s.published_size = size;
        s.last_error = None;
        s.state = PublishState::Ok;
        drop(s);
        metrics::gauge!("prov_publish_published_size").set(size as f64);
        metrics::gauge!("prov_publish_lag_entries").set(log_size.saturating_sub(size) as f64);
    }

    fn failed(&self, e: &PublishError, log_size: u64) {
        let mut s = self.lock();
        s.last_error = Some(error_chain(e));
        s.state = if e.is_fatal() {
            PublishState::Stopped
        } else {
            PublishState::Retrying
        };
        let published = s.published_size;
        drop(s);
        metrics::counter!("prov_publish_errors_total", "kind" => e.kind()).increment(1);
        metrics::gauge!("prov_publish_lag_entries").set(log_size.saturating_sub(published) as f64);
    }

    fn lagging(&self, log_size: u64) {
        let published = self.lock().published_size;
        metrics::gauge!("prov_publish_lag_entries").set(log_size.saturating_sub(published) as f64);
    }
}

/// `e` as `/healthz` and the log show it: every variant's message already names its cause.
fn error_chain(e: &PublishError) -> String {
    e.to_string()
}

/// Why the bucket's checkpoint is not this log's.
#[derive(Debug, thiserror::Error)]
pub enum ForeignCheckpoint {
    #[error("not UTF-8")]
    NotUtf8(#[source] std::str::Utf8Error),
    #[error("does not verify with the log's key")]
    Verify(#[source] ledger::CheckpointError),
}
