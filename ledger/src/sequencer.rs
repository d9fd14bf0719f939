//! The sequencer: the one writer of the log.
//!
//! Many threads submit entry bytes; one sequencer thread takes them in batches (by count and by
//! time), validates each (the entry's own rules, then the cross-entry rules against the indexes
//! and the batch so far), and integrates the batch:
//!
//! 1. one atomic, synced write of the batch's entries, new tree hashes, index updates and the new
//!    tree size;
//! 2. a check that the new tree extends the last signed checkpoint (a consistency proof, verified);
//! 3. a signed checkpoint covering the batch, stored with a synced write;
//! 4. only then, each writer is answered with its entry's index and that checkpoint.
//!
//! A failed durable write (or a failed extension check) poisons the sequencer (Sunlight's
//! `errFatal`): it answers every later submission with [`SubmitError::Fatal`] until the ledger
//! is reopened, because the store's state is then unknown. Nothing acknowledged is lost: an
//! acknowledgement is only sent after both writes returned.
//!
//! No async runtime: std threads and channels. Callers in an async service use
//! [`Sequencer::submit_with`] with a oneshot channel, or `spawn_blocking` around
//! [`Sequencer::submit`].

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::hash::Sha256Log;
use crate::merkle::verify_consistency;
use crate::note::{NoteError, NoteSigner};
use crate::store::index::{self, BatchIndex, Rejection};
use crate::store::keys;
use crate::store::log::{self, SignedCheckpoint, StoreHashes};
use crate::store::sets::SetStore;
use crate::store::{Column, Durability, LogStore, StoreError, WriteBatch};
use crate::tree::{self, RightEdge};
use crate::types::{LeafIndex, TreeSize};

/// How the sequencer batches.
#[derive(Clone, Debug)]
pub struct SequencerConfig {
    /// The most entries integrated in one batch.
    pub max_batch: usize,
    /// How long the first entry of a batch waits for more before the batch is integrated.
    pub max_delay: Duration,
    /// Submissions queued before [`SubmitError::Busy`].
    pub queue: usize,
    /// How far an entry's `time` may be from the sequencer's clock (either way).
    pub max_skew: Duration,
    /// The most ids a signed opt-out's set may have (anonymous opt-outs carry inline ids only).
    pub max_optout_set: u64,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        SequencerConfig {
            max_batch: 4096,
            max_delay: Duration::from_millis(5),
            queue: 65536,
            max_skew: Duration::from_secs(600),
            max_optout_set: 10_000,
        }
    }
}

/// What a writer gets back: its entry's index and a signed checkpoint that covers it.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub index: LeafIndex,
    pub checkpoint: Arc<SignedCheckpoint>,
}

/// Why a submission was not integrated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The entry is wrong; resubmitting it will not help.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The queue is full; retry later.
    #[error("sequencer is busy")]
    Busy,
    /// Reading the indexes failed before anything was written; retry later.
    #[error("storage read failed, nothing was written: {0}")]
    Retry(String),
    /// A durable write failed earlier; the ledger must be reopened. The entry may or may not
    /// be in the log (it was not acknowledged).
    #[error("sequencer stopped after a storage failure; reopen the ledger: {0}")]
    Fatal(String),
    /// The sequencer was shut down.
    #[error("sequencer is closed")]
    Closed,
}

/// Why the sequencer could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("stored checkpoint does not verify with the ledger's key: {0}")]
    KeyMismatch(String),
    #[error("stored checkpoint does not match the stored tree: {0}")]
    Inconsistent(String),
    #[error("stored checkpoint is damaged: {0}")]
    Damaged(String),
    #[error("signing a checkpoint: {0}")]
    Sign(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reading the tree: {0}")]
    Tree(#[from] tree::TreeError),
}

type Reply = Box<dyn FnOnce(Result<Receipt, SubmitError>) + Send>;

struct Request {
    entry: Vec<u8>,
    reply: Reply,
}

/// State shared between the sequencer thread and readers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) latest: RwLock<Arc<SignedCheckpoint>>,
    pub(crate) fatal: RwLock<Option<String>>,
}

/// The running sequencer. Dropping it (or [`Sequencer::close`]) finishes the queued batches and
/// stops the thread.
pub struct Sequencer {
    tx: Mutex<Option<SyncSender<Request>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer").finish_non_exhaustive()
    }
}

impl Sequencer {
    /// Starts the sequencer on `store` after reconciling it: the latest stored checkpoint must
    /// verify with `signer`'s key and match the stored tree; if entries were made durable but
    /// the crash came before their checkpoint was stored, a checkpoint for them is signed now.
    /// `sets` is the ledger's set store, which the acceptance rules look entries' sets up in.
    pub fn start(
        store: Arc<dyn LogStore>,
        sets: SetStore,
        signer: NoteSigner,
        config: SequencerConfig,
    ) -> Result<Self, StartError> {
        let latest = reconcile(&*store, &signer)?;
        let edge = RightEdge::load(latest.size(), &StoreHashes(&*store))?;
        let shared = Arc::new(Shared {
            latest: RwLock::new(Arc::new(latest)),
            fatal: RwLock::new(None),
        });
        let (tx, rx) = mpsc::sync_channel(config.queue.max(1));
        let worker = Worker {
            store,
            sets,
            signer,
            config,
            edge,
            shared: shared.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("ledger-sequencer".into())
            .spawn(move || worker.run(rx))
            .map_err(|e| StoreError::Io(format!("spawning the sequencer: {e}")))?;
        Ok(Sequencer {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            shared,
        })
    }

    /// Submits an entry and blocks until it is integrated and covered by a signed checkpoint,
    /// or refused.
    pub fn submit(&self, entry: Vec<u8>) -> Result<Receipt, SubmitError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit_with(entry, move |r| {
            let _ = tx.send(r);
        });
        rx.recv().unwrap_or(Err(SubmitError::Closed))
    }

    /// Submits an entry; `reply` is called exactly once, from the sequencer thread (or this one
    /// if the queue is full or closed), with the outcome. It must not block.
    pub fn submit_with(
        &self,
        entry: Vec<u8>,
        reply: impl FnOnce(Result<Receipt, SubmitError>) + Send + 'static,
    ) {
        if let Some(why) = self.fatal() {
            return reply(Err(SubmitError::Fatal(why)));
        }
        let tx = match self.tx.lock() {
            Ok(g) => g.clone(),
            Err(_) => None,
        };
        let Some(tx) = tx else {
            return reply(Err(SubmitError::Closed));
        };
        let req = Request {
            entry,
            reply: Box::new(reply),
        };
        match tx.try_send(req) {
            Ok(()) => {}
            Err(TrySendError::Full(r)) => (r.reply)(Err(SubmitError::Busy)),
            Err(TrySendError::Disconnected(r)) => (r.reply)(Err(SubmitError::Closed)),
        }
    }

    /// The latest signed checkpoint.
    pub fn latest(&self) -> Arc<SignedCheckpoint> {
        latest_of(&self.shared)
    }

    /// Why the sequencer stopped, if a durable write failed.
    pub fn fatal(&self) -> Option<String> {
        self.shared.fatal.read().ok().and_then(|g| g.clone())
    }

    /// Stops accepting submissions, integrates what is queued, and joins the thread.
    pub fn close(&self) {
        if let Ok(mut g) = self.tx.lock() {
            g.take();
        }
        let handle = self.thread.lock().ok().and_then(|mut g| g.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }
}

pub(crate) fn latest_of(shared: &Shared) -> Arc<SignedCheckpoint> {
    match shared.latest.read() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

impl Drop for Sequencer {
    fn drop(&mut self) {
        self.close();
    }
}

/// Checks the stored checkpoint against the key and the tree, and signs one for entries that
/// are durable but not yet covered (a crash between steps 1 and 3 of an append).
/// Tells a key that is not this ledger's (no signature by it, or another log's name) from a
/// stored checkpoint that is damaged (unparsable, or a signature by this key that fails): the
/// first is an operator's mistake, the second is corruption and must not read as a key problem.
fn stored_checkpoint_error(e: CheckpointError) -> StartError {
    match e {
        CheckpointError::OriginMismatch { .. }
        | CheckpointError::Note(NoteError::NotSigned { .. }) => {
            StartError::KeyMismatch(e.to_string())
        }
        e => StartError::Damaged(e.to_string()),
    }
}

fn reconcile(store: &dyn LogStore, signer: &NoteSigner) -> Result<SignedCheckpoint, StartError> {
    let size = log::durable_size(store)?;
    let vkey = signer.verifier_key();
    let last = match log::latest_checkpoint_note(store)? {
        None => None,
        Some(note) => {
            let cp = Checkpoint::verify(&note, &vkey).map_err(stored_checkpoint_error)?;
            if cp.size > size {
                return Err(StartError::Inconsistent(format!(
                    "checkpoint size {} is beyond the stored tree size {}",
                    cp.size, size
                )));
            }
            let root = tree::tree_hash(cp.size, &StoreHashes(store))?;
            if root != cp.root {
                return Err(StartError::Inconsistent(format!(
                    "root of the stored tree at size {} differs from the checkpoint's",
                    cp.size
                )));
            }
            Some(SignedCheckpoint {
                checkpoint: cp,
                note,
            })
        }
    };
    match last {
        Some(last) if last.size() == size => Ok(last),
        _ => {
            // Durable entries without a checkpoint (or a new, empty log): sign one now.
            let root = tree::tree_hash(size, &StoreHashes(store))?;
            let cp = Checkpoint {
                origin: signer.name().to_string(),
                size,
                root,
            };
            let note = cp
                .sign(signer)
                .map_err(|e| StartError::Sign(e.to_string()))?;
            let mut b = WriteBatch::new();
            b.put(
                Column::Checkpoints,
                keys::checkpoint_key(size.0).to_vec(),
                note.clone(),
            );
            // Durable step. Crash before: the next open signs again (same tree, same body).
            // Crash after: the checkpoint is the latest.
            store.write(b, Durability::Synced)?;
            Ok(SignedCheckpoint {
                checkpoint: cp,
                note,
            })
        }
    }
}

struct Worker {
    store: Arc<dyn LogStore>,
    sets: SetStore,
    signer: NoteSigner,
    config: SequencerConfig,
    /// The right edge of the durable tree, so new hashes need no reads.
    edge: RightEdge,
    shared: Arc<Shared>,
}

impl Worker {
    fn run(mut self, rx: Receiver<Request>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            let deadline = Instant::now() + self.config.max_delay;
            while batch.len() < self.config.max_batch {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(r) => batch.push(r),
                    Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            self.integrate(batch);
        }
    }

    fn fatal(&self) -> Option<String> {
        self.shared.fatal.read().ok().and_then(|g| g.clone())
    }

    fn poison(&self, why: String) {
        if let Ok(mut g) = self.shared.fatal.write() {
            g.get_or_insert(why);
        }
    }

    fn integrate(&mut self, batch: Vec<Request>) {
        if let Some(why) = self.fatal() {
            for r in batch {
                (r.reply)(Err(SubmitError::Fatal(why.clone())));
            }
            return;
        }
        let start = self.edge.size();
        let entries: Vec<&[u8]> = batch.iter().map(|r| r.entry.as_slice()).collect();
        let prepared = index::prepare_batch(&entries);

        // Cross-entry rules, in submission order, against the log and the batch so far. The
        // naming lock is held until the batch is durable, so that no set an accepted entry
        // names is collected in between.
        let sets = self.sets.clone();
        let naming = sets.naming_lock();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let ctx = index::RuleContext {
            origin: self.signer.name(),
            now: Some(now),
            max_skew_secs: self.config.max_skew.as_secs(),
            max_optout_set: self.config.max_optout_set,
        };
        let mut view = BatchIndex::new(&*self.store);
        let mut outcomes: Vec<Result<LeafIndex, Rejection>> = Vec::with_capacity(batch.len());
        let mut accepted: Vec<usize> = Vec::new();
        for (i, p) in prepared.into_iter().enumerate() {
            let index = LeafIndex(start.0 + accepted.len() as u64);
            let outcome =
                p.and_then(|p| index::apply(&mut view, &sets, &ctx, &p, index).map(|()| index));
            if outcome.is_ok() {
                accepted.push(i);
            }
            outcomes.push(outcome);
        }
        let index_ops = match view.into_ops() {
            Ok(ops) => ops,
            Err(e) => {
                // A read failed: nothing was written, so nothing is lost; refuse the batch.
                for r in batch {
                    (r.reply)(Err(SubmitError::Retry(format!("reading indexes: {e}"))));
                }
                return;
            }
        };
        if accepted.is_empty() {
            let latest = latest_of(&self.shared);
            return answer(batch, outcomes, &latest);
        }

        let mut wb = WriteBatch::new();
        let mut edge = self.edge.clone();
        let mut hashes = Vec::with_capacity(2 * accepted.len() + 64);
        let first_hash = tree::stored_hash_count(start);
        for (k, &i) in accepted.iter().enumerate() {
            let bytes = &batch[i].entry;
            wb.put(
                Column::Entries,
                keys::entry_key(start.0 + k as u64).to_vec(),
                bytes.clone(),
            );
            edge.append(crate::hash::leaf_hash(bytes), &mut hashes);
        }
        for (j, h) in hashes.iter().enumerate() {
            wb.put(
                Column::Hashes,
                keys::hash_key(first_hash + j as u64).to_vec(),
                h.0.to_vec(),
            );
        }
        for (k, v) in index_ops {
            wb.put(Column::Index, k, v);
        }
        let size = edge.size();
        wb.put(
            Column::Meta,
            keys::META_TREE_SIZE.to_vec(),
            size.0.to_be_bytes().to_vec(),
        );

        // Durable step 1. Crash before: the batch is gone, no writer was answered. Crash after:
        // the entries are in the log but no checkpoint covers them yet and no writer was
        // answered; the next open signs a checkpoint for them (`reconcile`).
        let written = self.store.write(wb, Durability::Synced);
        drop(naming);
        if let Err(e) = written {
            return self.fail(batch, format!("writing batch at {start}: {e}"));
        }
        self.edge = edge;

        // Never sign a tree that does not extend the last signed one.
        let last = latest_of(&self.shared);
        let root = self.edge.root();
        if let Err(e) = self.check_extends(&last, size, &root) {
            return self.fail(batch, e);
        }
        let cp = Checkpoint {
            origin: self.signer.name().to_string(),
            size,
            root,
        };
        let note = match cp.sign(&self.signer) {
            Ok(n) => n,
            Err(e) => return self.fail(batch, format!("signing checkpoint: {e}")),
        };
        let mut cb = WriteBatch::new();
        cb.put(
            Column::Checkpoints,
            keys::checkpoint_key(size.0).to_vec(),
            note.clone(),
        );
        // Durable step 2. Crash before: as after step 1. Crash after: the checkpoint is stored
        // but not yet served or sent; the next open serves it.
        if let Err(e) = self.store.write(cb, Durability::Synced) {
            return self.fail(batch, format!("writing checkpoint {size}: {e}"));
        }
        let signed = Arc::new(SignedCheckpoint {
            checkpoint: cp,
            note,
        });
        match self.shared.latest.write() {
            Ok(mut g) => *g = signed.clone(),
            Err(p) => *p.into_inner() = signed.clone(),
        }
        answer(batch, outcomes, &signed);
    }

    fn check_extends(
        &self,
        last: &SignedCheckpoint,
        size: TreeSize,
        root: &crate::types::Digest,
    ) -> Result<(), String> {
        let old = last.size();
        if old.0 == 0 {
            return Ok(());
        }
        let proof = tree::consistency_proof(old, size, &StoreHashes(&*self.store))
            .map_err(|e| format!("consistency proof {old} -> {size}: {e}"))?;
        verify_consistency::<Sha256Log>(old, size, &last.checkpoint.root, root, &proof)
            .map_err(|e| format!("tree {size} does not extend signed checkpoint {old}: {e}"))
    }

    fn fail(&self, batch: Vec<Request>, why: String) {
        self.poison(why.clone());
        for r in batch {
            (r.reply)(Err(SubmitError::Fatal(why.clone())));
        }
    }
}

/// Answers every writer of a batch: its index and `checkpoint`, or why it was refused.
fn answer(
    batch: Vec<Request>,
    outcomes: Vec<Result<LeafIndex, Rejection>>,
    checkpoint: &Arc<SignedCheckpoint>,
) {
    for (r, o) in batch.into_iter().zip(outcomes) {
        let result = o
            .map(|index| Receipt {
                index,
                checkpoint: checkpoint.clone(),
            })
            .map_err(SubmitError::from);
        (r.reply)(result);
    }
}
