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
//! Two refusals come *before* anything is written, so they never poison: a store whose free
//! space is below [`SequencerConfig::min_free_bytes`] refuses the whole batch with
//! [`SubmitError::NoSpace`] (and the next batch, once space is back, is written as usual), and
//! an entry whose validation panics fails alone with [`SubmitError::ValidationPanicked`]: every
//! entry is validated under its own `catch_unwind`, so outcomes always line up one-to-one with
//! the batch.
//!
//! No async runtime: std threads and channels. Callers in an async service use
//! [`Sequencer::submit_with`] with a oneshot channel, or `spawn_blocking` around
//! [`Sequencer::submit`]. A caller that decoded the entry already (the service does, to decide
//! its admission: `store/admission.rs`) submits the typed entry with
//! [`Sequencer::submit_entry_with`], and the sequencer does not parse or verify it again.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::entry::Entry;
use crate::hash::Sha256Log;
use crate::merkle::{verify_consistency, ProofError};
use crate::note::{NoteError, NoteSigner};
use crate::store::index::{self, BatchIndex, Rejection};
use crate::store::keys;
use crate::store::log::{self, SignedCheckpoint, StoreHashes};
use crate::store::sets::SetStore;
use crate::store::{Column, Durability, LogStore, Record, StoreError, WriteBatch};
use crate::tree::{self, RightEdge, TreeError};
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
    /// The most leaves a signed opt-out's passage tree may have (issue 14).
    pub max_optout_passages: u64,
    /// The free-space floor: while the store reports fewer free bytes than this
    /// ([`LogStore::available_bytes`]), batches (and set uploads) are refused with
    /// [`SubmitError::NoSpace`] before anything is written. 0 (the library's default) disables
    /// the check; the service sets [`DEFAULT_MIN_FREE_BYTES`] unless configured otherwise.
    pub min_free_bytes: u64,
    /// Tests only: called with each entry's bytes inside its validation (a test makes it panic
    /// for one marker entry to play a validation bug).
    #[doc(hidden)]
    pub validate_hook: Option<ValidateHook>,
}

/// The service's default free-space floor (`limits.min_free_bytes`): 256 MiB, room for a few
/// full memtables and the compaction they trigger, so that the floor is reached well before
/// RocksDB itself runs out.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 256 << 20;

impl Default for SequencerConfig {
    fn default() -> Self {
        SequencerConfig {
            max_batch: 4096,
            max_delay: Duration::from_millis(5),
            queue: 65536,
            max_skew: Duration::from_secs(600),
            max_optout_set: 10_000,
            max_optout_passages: crate::entry::MAX_OPTOUT_PASSAGES,
            min_free_bytes: 0,
            validate_hook: None,
        }
    }
}

/// See [`SequencerConfig::validate_hook`].
#[doc(hidden)]
#[derive(Clone)]
pub struct ValidateHook(pub Arc<HookFn>);

/// The function inside a [`ValidateHook`].
#[doc(hidden)]
pub type HookFn = dyn Fn(&[u8]) + Send + Sync;

impl std::fmt::Debug for ValidateHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ValidateHook")
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
    /// Reading the store failed before anything was written; retry later.
    #[error("storage read failed, nothing was written")]
    Retry(#[source] Arc<StoreError>),
    /// The store's free space is below the floor ([`SequencerConfig::min_free_bytes`]); nothing
    /// was written and the sequencer is not stopped: retry once space is freed.
    #[error(
        "free space ({available} bytes) is below the floor ({floor} bytes); nothing was written"
    )]
    NoSpace { available: u64, floor: u64 },
    /// Validating this entry panicked (a bug in the ledger, not a fault of the entry). Nothing
    /// of it was written; the other entries of its batch are unaffected. Retry later.
    #[error("validating the entry failed inside the ledger; nothing was written")]
    ValidationPanicked,
    /// A durable write failed earlier; the ledger must be reopened. The entry may or may not
    /// be in the log (it was not acknowledged).
    #[error("sequencer stopped after a storage failure; reopen the ledger")]
    Fatal(#[source] Arc<WriteFailure>),
    /// The sequencer was shut down.
    #[error("sequencer is closed")]
    Closed,
}

impl SubmitError {
    /// Whether the same entry may be accepted if submitted again later (the refusal was the
    /// ledger's condition, not the entry's fault).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, SubmitError::Rejected(_))
    }
}

/// Why the sequencer stopped: the durable step that failed, with its cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteFailure {
    #[error("writing the batch at tree size {at}")]
    Batch {
        at: TreeSize,
        #[source]
        source: StoreError,
    },
    #[error("writing the checkpoint of tree size {size}")]
    Checkpoint {
        size: TreeSize,
        #[source]
        source: StoreError,
    },
    #[error("reading the consistency proof {old} -> {new}")]
    Proof {
        old: TreeSize,
        new: TreeSize,
        #[source]
        source: TreeError,
    },
    #[error("the tree of size {new} does not extend the signed checkpoint of size {old}")]
    NotExtending {
        old: TreeSize,
        new: TreeSize,
        #[source]
        source: ProofError,
    },
    #[error("signing the checkpoint of tree size {size}")]
    Sign {
        size: TreeSize,
        #[source]
        source: CheckpointError,
    },
    /// Integrating a batch panicked after validation (a bug); what it wrote is unknown.
    #[error("the sequencer panicked while integrating a batch")]
    Panicked,
}

impl WriteFailure {
    /// Whether the failed write found the disk full.
    pub fn is_full(&self) -> bool {
        match self {
            WriteFailure::Batch { source, .. } | WriteFailure::Checkpoint { source, .. } => {
                source.is_full()
            }
            _ => false,
        }
    }
}

/// Why the sequencer could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The stored checkpoint is not signed by this key (another key, or another log's name).
    #[error("stored checkpoint does not verify with the ledger's key")]
    KeyMismatch(#[source] CheckpointError),
    #[error("stored checkpoint of size {checkpoint} is beyond the stored tree size {stored}")]
    CheckpointBeyondTree {
        checkpoint: TreeSize,
        stored: TreeSize,
    },
    #[error("root of the stored tree at size {0} differs from the stored checkpoint's")]
    RootMismatch(TreeSize),
    #[error("stored checkpoint is damaged")]
    Damaged(#[source] CheckpointError),
    #[error("signing a checkpoint")]
    Sign(#[source] CheckpointError),
    #[error("starting the sequencer thread")]
    Spawn(#[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reading the tree")]
    Tree(#[from] TreeError),
}

type Reply = Box<dyn FnOnce(Result<Receipt, SubmitError>) + Send>;

struct Request {
    entry: Submission,
    reply: Reply,
}

/// What a writer submitted: bytes that the sequencer decodes and checks, or an entry the caller
/// already decoded and checked ([`crate::entry::Entry`] is only ever built signature-checked).
enum Submission {
    Bytes(Vec<u8>),
    Decoded(Box<Entry>),
}

impl Submission {
    /// The entry's bytes, as they are stored.
    fn bytes(&self) -> &[u8] {
        match self {
            Submission::Bytes(b) => b,
            Submission::Decoded(e) => e.as_bytes(),
        }
    }
}

/// State shared between the sequencer thread and readers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) latest: RwLock<Arc<SignedCheckpoint>>,
    pub(crate) fatal: RwLock<Option<Arc<WriteFailure>>>,
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
            .map_err(StartError::Spawn)?;
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

    /// [`Sequencer::submit`] for an already decoded entry (see [`Sequencer::submit_entry_with`]).
    pub fn submit_entry(&self, entry: Entry) -> Result<Receipt, SubmitError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit_entry_with(entry, move |r| {
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
        self.enqueue(Submission::Bytes(entry), reply)
    }

    /// [`Sequencer::submit_with`] for an entry the caller already decoded (and so checked: size,
    /// fields, canonical form, signature): the sequencer does not decode or verify it again, and
    /// applies only the cross-entry rules.
    pub fn submit_entry_with(
        &self,
        entry: Entry,
        reply: impl FnOnce(Result<Receipt, SubmitError>) + Send + 'static,
    ) {
        self.enqueue(Submission::Decoded(Box::new(entry)), reply)
    }

    fn enqueue(
        &self,
        entry: Submission,
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
    pub fn fatal(&self) -> Option<Arc<WriteFailure>> {
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
        | CheckpointError::Note(NoteError::NotSigned { .. }) => StartError::KeyMismatch(e),
        e => StartError::Damaged(e),
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
                return Err(StartError::CheckpointBeyondTree {
                    checkpoint: cp.size,
                    stored: size,
                });
            }
            let root = tree::tree_hash(cp.size, &StoreHashes(store))?;
            if root != cp.root {
                return Err(StartError::RootMismatch(cp.size));
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
            let note = cp.sign(signer).map_err(StartError::Sign)?;
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
            // A panic outside the per-entry validation guard (the cross-entry rules, the
            // writes) leaves the batch's state unknown: stop like a failed write (writers still
            // waiting get `Closed` from their dropped replies; later ones `Fatal`), rather than
            // letting the thread die and every later writer wait on a queue nobody reads.
            let run = std::panic::AssertUnwindSafe(|| self.integrate(batch));
            if std::panic::catch_unwind(run).is_err() {
                self.poison(WriteFailure::Panicked);
            }
        }
    }

    fn fatal(&self) -> Option<Arc<WriteFailure>> {
        self.shared.fatal.read().ok().and_then(|g| g.clone())
    }

    /// Stops the sequencer for good (until reopened) and returns the reason it keeps.
    fn poison(&self, why: WriteFailure) -> Arc<WriteFailure> {
        let why = Arc::new(why);
        match self.shared.fatal.write() {
            Ok(mut g) => g.get_or_insert(why).clone(),
            Err(_) => why,
        }
    }

    /// The free-space floor, checked before a batch does any work: `Err` refuses the whole
    /// batch, nothing written, nothing poisoned.
    fn check_space(&self) -> Result<(), SpaceRefusal> {
        let floor = self.config.min_free_bytes;
        if floor == 0 {
            return Ok(());
        }
        match self.store.available_bytes() {
            Ok(Some(available)) if available < floor => Err(SpaceRefusal::Low { available, floor }),
            Ok(_) => Ok(()),
            Err(e) => Err(SpaceRefusal::Unknown(Arc::new(e))),
        }
    }

    /// Integrates one batch, in named steps: [`Self::admit`] (poisoned? enough space?),
    /// [`Self::prepare`] (each entry's own rules), [`Self::check_batch`] (the cross-entry
    /// rules), [`Self::stage_batch`] and [`Self::write_batch`] (durable step 1),
    /// [`Self::sign_and_store_checkpoint`] (durable step 2), then [`answer`].
    fn integrate(&mut self, batch: Vec<Request>) {
        if let Err(refusal) = self.admit() {
            return refuse_all(batch, || refusal.to_submit_error());
        }
        let Some(prepared) = self.prepare(&batch) else {
            return refuse_all(batch, || SubmitError::ValidationPanicked);
        };
        let start = self.edge.size();

        // The naming lock is held from the cross-entry rules until the batch is durable, so
        // that no set an accepted entry names is collected in between.
        let sets = self.sets.clone();
        let naming = sets.naming_lock();
        let checked = match self.check_batch(prepared, start, &sets) {
            Ok(checked) => checked,
            // A read failed: nothing was written, so nothing is lost; refuse the batch.
            Err(e) => return refuse_all(batch, || SubmitError::Retry(e.clone())),
        };
        let Checked {
            outcomes,
            accepted,
            index_ops,
        } = checked;
        if accepted.is_empty() {
            let latest = latest_of(&self.shared);
            return answer(batch, outcomes, &latest);
        }
        let staged = self.stage_batch(&batch, &accepted, index_ops, start);
        let written = self.write_batch(staged);
        drop(naming);
        if let Err(why) = written {
            return self.fail(batch, why);
        }

        match self.sign_and_store_checkpoint() {
            Ok(signed) => answer(batch, outcomes, &signed),
            Err(why) => self.fail(batch, why),
        }
    }

    /// Step 0: a poisoned sequencer or a store below the free-space floor refuses the whole
    /// batch before any work.
    fn admit(&self) -> Result<(), Refusal> {
        if let Some(why) = self.fatal() {
            return Err(Refusal::Fatal(why));
        }
        self.check_space().map_err(Refusal::Space)
    }

    /// Step 1: each entry's own rules (parsing, signature, shape), in parallel, each under its
    /// own `catch_unwind`. `None` when the outcomes do not line up one-to-one with the batch:
    /// never answer by position with outcomes that do not.
    /// Entries submitted decoded are not decoded again ([`index::prepare_decoded`]).
    fn prepare(&self, batch: &[Request]) -> Option<Vec<Result<index::Prepared, SubmitError>>> {
        let hook = self.config.validate_hook.as_ref();
        let raw: Vec<&[u8]> = batch
            .iter()
            .filter_map(|r| match &r.entry {
                Submission::Bytes(b) => Some(b.as_slice()),
                Submission::Decoded(_) => None,
            })
            .collect();
        let decoded = index::prepare_batch(&raw, hook);
        if decoded.len() != raw.len() {
            debug_assert_eq!(decoded.len(), raw.len(), "one outcome per entry");
            return None;
        }
        let mut decoded = decoded.into_iter();
        let prepared: Vec<_> = batch
            .iter()
            .filter_map(|r| match &r.entry {
                Submission::Bytes(_) => decoded.next(),
                Submission::Decoded(e) => Some(index::prepare_decoded(e, hook)),
            })
            .collect();
        if prepared.len() != batch.len() {
            debug_assert_eq!(prepared.len(), batch.len(), "one outcome per entry");
            return None;
        }
        Some(prepared)
    }

    /// Step 2: the cross-entry rules, in submission order, against the log and the batch so
    /// far (`store/rules.rs`). Called with the naming lock held. `Err` when a read failed.
    fn check_batch(
        &self,
        prepared: Vec<Result<index::Prepared, SubmitError>>,
        start: TreeSize,
        sets: &SetStore,
    ) -> Result<Checked, Arc<StoreError>> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let ctx = index::RuleContext {
            origin: self.signer.name(),
            now: Some(now),
            max_skew_secs: self.config.max_skew.as_secs(),
            max_optout_set: self.config.max_optout_set,
            max_optout_passages: self.config.max_optout_passages,
        };
        let mut view = BatchIndex::new(&*self.store);
        let mut outcomes: Vec<Result<LeafIndex, SubmitError>> = Vec::with_capacity(prepared.len());
        let mut accepted: Vec<usize> = Vec::new();
        for (i, p) in prepared.into_iter().enumerate() {
            let index = LeafIndex(start.0 + accepted.len() as u64);
            let outcome = p.and_then(|p| {
                index::apply(&mut view, sets, &ctx, &p, index)
                    .map(|()| index)
                    .map_err(SubmitError::from)
            });
            if outcome.is_ok() {
                accepted.push(i);
            }
            outcomes.push(outcome);
        }
        let index_ops = view.into_ops().map_err(Arc::new)?;
        Ok(Checked {
            outcomes,
            accepted,
            index_ops,
        })
    }

    /// Step 3: one write batch with the accepted entries, the new tree hashes, the index
    /// records and the new tree size, and the right edge after it ([`stage_append`]). Nothing is
    /// written yet.
    fn stage_batch(
        &self,
        batch: &[Request],
        accepted: &[usize],
        index_ops: Vec<Record>,
        start: TreeSize,
    ) -> Staged {
        debug_assert_eq!(start, self.edge.size());
        stage_append(
            &self.edge,
            accepted.iter().map(|&i| batch[i].entry.bytes()),
            index_ops,
        )
    }

    /// Step 4: the batch's one synced write; on success the durable tree's right edge moves.
    fn write_batch(&mut self, staged: Staged) -> Result<(), WriteFailure> {
        // Durable step 1. Crash before: the batch is gone, no writer was answered. Crash after:
        // the entries are in the log but no checkpoint covers them yet and no writer was
        // answered; the next open signs a checkpoint for them (`reconcile`).
        self.store
            .write(staged.wb, Durability::Synced)
            .map_err(|source| WriteFailure::Batch {
                at: staged.start,
                source,
            })?;
        self.edge = staged.edge;
        Ok(())
    }

    /// Step 5: check that the durable tree extends the last signed checkpoint, sign a
    /// checkpoint for it, store that with a synced write ([`sign_checkpoint`]), and only then
    /// serve it.
    fn sign_and_store_checkpoint(&self) -> Result<Arc<SignedCheckpoint>, WriteFailure> {
        let last = latest_of(&self.shared);
        let (checkpoint, note, cb) =
            sign_checkpoint(&*self.store, &self.signer, &last.checkpoint, &self.edge)?;
        let size = checkpoint.size;
        // Durable step 2. Crash before: as after step 1. Crash after: the checkpoint is stored
        // but not yet served or sent; the next open serves it.
        self.store
            .write(cb, Durability::Synced)
            .map_err(|source| WriteFailure::Checkpoint { size, source })?;
        let signed = Arc::new(SignedCheckpoint { checkpoint, note });
        match self.shared.latest.write() {
            Ok(mut g) => *g = signed.clone(),
            Err(p) => *p.into_inner() = signed.clone(),
        }
        Ok(signed)
    }

    fn fail(&self, batch: Vec<Request>, why: WriteFailure) {
        let why = self.poison(why);
        for r in batch {
            (r.reply)(Err(SubmitError::Fatal(why.clone())));
        }
    }
}

/// What the cross-entry rules decided for a batch.
struct Checked {
    /// One outcome per request, in order.
    outcomes: Vec<Result<LeafIndex, SubmitError>>,
    /// The positions of the accepted requests, in order: their entries get consecutive indexes.
    accepted: Vec<usize>,
    /// The index records the accepted entries add.
    index_ops: Vec<Record>,
}

/// A batch's records ready for its durable write.
/// One batch of appended entries, staged: the one write that makes it durable, and the right
/// edge of the tree once it is.
pub struct Staged {
    pub wb: WriteBatch,
    /// The right edge once the write is durable.
    pub edge: RightEdge,
    /// The tree size before the batch.
    pub start: TreeSize,
}

/// The write that appends `entries` (already accepted: validated, and checked by the
/// cross-entry rules, whose index records are `index_ops`) to the tree whose durable right edge
/// is `edge`: each entry under its index, the tree hashes the appends complete, the index
/// records, and the new tree size, in one batch (docs/storage.md). The layout of an append has
/// this one owner: the sequencer's step 3 and the store benches (`benches/store.rs`,
/// `benches/scale.rs`) both call it, so the benches measure the write the service makes.
pub fn stage_append<'a>(
    edge: &RightEdge,
    entries: impl IntoIterator<Item = &'a [u8]>,
    index_ops: impl IntoIterator<Item = Record>,
) -> Staged {
    let start = edge.size();
    let entries = entries.into_iter();
    let mut wb = WriteBatch::new();
    let mut edge = edge.clone();
    let mut hashes = Vec::with_capacity(2 * entries.size_hint().0 + 64);
    let first_hash = tree::stored_hash_count(start);
    for (k, bytes) in entries.enumerate() {
        wb.put(
            Column::Entries,
            keys::entry_key(start.0 + k as u64).to_vec(),
            bytes.to_vec(),
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
    wb.put(
        Column::Meta,
        keys::META_TREE_SIZE.to_vec(),
        edge.size().0.to_be_bytes().to_vec(),
    );
    Staged { wb, edge, start }
}

/// The checkpoint for the durable tree `edge`, signed only after checking, with a consistency
/// proof read from `store`, that the tree extends `last` (the last signed checkpoint; size 0:
/// none yet): the checkpoint, its signed note, and the write that stores it. The log never
/// signs two inconsistent checkpoints; this check is where that is kept (the sequencer's step 5,
/// and the store benches, call it).
pub fn sign_checkpoint(
    store: &dyn LogStore,
    signer: &NoteSigner,
    last: &Checkpoint,
    edge: &RightEdge,
) -> Result<(Checkpoint, String, WriteBatch), WriteFailure> {
    let size = edge.size();
    let root = edge.root();
    check_extends(store, last, size, &root)?;
    let cp = Checkpoint {
        origin: signer.name().to_string(),
        size,
        root,
    };
    let note = cp
        .sign(signer)
        .map_err(|source| WriteFailure::Sign { size, source })?;
    let mut cb = WriteBatch::new();
    cb.put(
        Column::Checkpoints,
        keys::checkpoint_key(size.0).to_vec(),
        note.clone(),
    );
    Ok((cp, note, cb))
}

fn check_extends(
    store: &dyn LogStore,
    last: &Checkpoint,
    size: TreeSize,
    root: &crate::types::Digest,
) -> Result<(), WriteFailure> {
    let old = last.size;
    if old.0 == 0 {
        return Ok(());
    }
    let new = size;
    let proof = tree::consistency_proof(old, size, &StoreHashes(store))
        .map_err(|source| WriteFailure::Proof { old, new, source })?;
    verify_consistency::<Sha256Log>(old, size, &last.root, root, &proof)
        .map_err(|source| WriteFailure::NotExtending { old, new, source })
}

/// Why a whole batch was refused before any work.
enum Refusal {
    /// The sequencer is poisoned.
    Fatal(Arc<WriteFailure>),
    Space(SpaceRefusal),
}

impl Refusal {
    fn to_submit_error(&self) -> SubmitError {
        match self {
            Refusal::Fatal(why) => SubmitError::Fatal(why.clone()),
            Refusal::Space(s) => s.to_submit_error(),
        }
    }
}

/// Answers every writer of a batch with the same refusal; nothing of the batch was written.
fn refuse_all(batch: Vec<Request>, why: impl Fn() -> SubmitError) {
    for r in batch {
        (r.reply)(Err(why()));
    }
}

/// Why a batch was refused for space before any work.
enum SpaceRefusal {
    Low {
        available: u64,
        floor: u64,
    },
    /// The free space could not be read.
    Unknown(Arc<StoreError>),
}

impl SpaceRefusal {
    fn to_submit_error(&self) -> SubmitError {
        match self {
            SpaceRefusal::Low { available, floor } => SubmitError::NoSpace {
                available: *available,
                floor: *floor,
            },
            SpaceRefusal::Unknown(e) => SubmitError::Retry(e.clone()),
        }
    }
}

/// Answers every writer of a batch: its index and `checkpoint`, or why it was refused.
/// `outcomes` has exactly one outcome per request, in order.
fn answer(
    batch: Vec<Request>,
    outcomes: Vec<Result<LeafIndex, SubmitError>>,
    checkpoint: &Arc<SignedCheckpoint>,
) {
    debug_assert_eq!(batch.len(), outcomes.len(), "one outcome per entry");
    let mut outcomes = outcomes.into_iter();
    for r in batch {
        let result = outcomes
            .next()
            .unwrap_or(Err(SubmitError::ValidationPanicked))
            .map(|index| Receipt {
                index,
                checkpoint: checkpoint.clone(),
            });
        (r.reply)(result);
    }
}
