//! The publisher task: follows the log's checkpoint and mirrors each new size into the bucket.
//!
//! The durable steps of one round, from the bucket's size `P` to the log's size `S`, and what a
//! crash (of `prov serve`, or of the store mid-round) at each leaves behind (Sunlight style):
//!
//! 0. The log's checkpoint of `S` is durable locally before it is served or published: the
//!    sequencer signs it only after its batch is durable (ledger), so nothing unpublished can be
//!    lost from the ledger while the bucket shows it.
//! 1. Every stored tree named by an entry in `[P, S)` is written (immutable, created once).
//!    Crash here: some trees are in the bucket, the checkpoint still says `P`; readers see
//!    nothing new. The next round (after a restart: from the bucket's checkpoint, `P` again)
//!    writes the same trees again; each is found with equal bytes and skipped.
//! 2. The entry bundles and hash tiles that the tree of `S` adds over `P` (full tiles completed,
//!    partial tiles of `S`; a partial tile is its own object and stays). Crash here: as in 1;
//!    readers of the checkpoint of `P` need none of these objects, and the replay finds them equal.
//! 3. `checkpoint`, overwritten with the note of `S`, after checking that the bucket's is still
//!    `P` or smaller (only forward). Crash before: as in 2. Crash after: the round is done; a
//!    restart reads `S` back from the bucket (verified with the log's key) and resumes there.
//! 4. `checkpoint.cosigned`, when witnesses are configured and the cosigned checkpoint moved
//!    (never above `S`). Crash before: the cosigned object lags; the next round writes it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use ledger::ledger::Ledger;
use ledger::store::log::SignedCheckpoint;
use ledger::tile::{tiles_added, EntryBundleId, TileId};
use ledger::TreeSize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::objects::{bucket_checkpoint, put_immutable, put_mutable};
use super::target::Target;
use super::trees::{self, Tree};
use super::{PublishError, Publishing, CHECKPOINT, CHECKPOINT_COSIGNED};
use crate::state::AppState;

/// How often the task looks for a new checkpoint.
const POLL: Duration = Duration::from_millis(200);
/// The first wait after a failure; doubled for each further one, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Objects written at once.
const CONCURRENCY: usize = 16;
/// Tiles read from the ledger per blocking call.
const TILE_BATCH: usize = 64;

/// Starts the publisher when the configuration names a target; it stops when `stopped` turns
/// true (or at once if it has stopped on a conflict).
pub fn spawn(state: AppState, stopped: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    let (target, publishing) = state.publisher()?;
    Some(tokio::spawn(run(state, target, publishing, stopped)))
}

/// What the task remembers between rounds.
struct Mirror {
    /// The size of the checkpoint in the bucket (`None` until read at start).
    published: Option<u64>,
    /// Trees written (or found) in the bucket by this process: not read again.
    trees: BTreeSet<Tree>,
    /// The cosigned note last written.
    cosigned: Option<Arc<String>>,
    /// Whether the bucket has a checkpoint (an empty log's size-0 one is written too, so that a
    /// reader of a new mirror finds one).
    has_checkpoint: bool,
}

async fn run(
    state: AppState,
    target: Target,
    publishing: Arc<Publishing>,
    mut stopped: watch::Receiver<bool>,
) {
    let ledger = state.ledger().clone();
    let mut mirror = Mirror {
        published: None,
        trees: BTreeSet::new(),
        cosigned: None,
        has_checkpoint: false,
    };
    let mut backoff = FIRST_BACKOFF;
    tracing::info!(url = %target.url, "publishing the log");
    loop {
        if *stopped.borrow() {
            return;
        }
        let log = ledger.checkpoint();
        let log_size = log.size().0;
        // Shutdown does not wait for a round against a store that is down: every step of a
        // round is safe to abandon and replay.
        let result = tokio::select! {
            r = round(&state, &target, &mut mirror, &log) => r,
            _ = stopped.wait_for(|s| *s) => return,
        };
        let wait = match result {
            Ok(moved) => {
                let size = mirror.published.unwrap_or(0);
                if moved {
                    tracing::debug!(size, "published");
                    publishing.published(size, ledger.checkpoint().size().0);
                } else if publishing.lock().state != super::PublishState::Ok {
                    publishing.published(size, ledger.checkpoint().size().0);
                } else {
                    publishing.lagging(ledger.checkpoint().size().0);
                }
                backoff = FIRST_BACKOFF;
                POLL
            }
            Err(e) if e.is_fatal() => {
                tracing::error!(error = %super::error_chain(&e), "publishing stopped: an operator must look at the bucket");
                publishing.failed(&e, log_size);
                let _ = stopped.wait_for(|s| *s).await;
                return;
            }
            Err(e) => {
                tracing::warn!(error = %super::error_chain(&e), retry_in = ?backoff, "publishing failed; retrying");
                publishing.failed(&e, log_size);
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                wait
            }
        };
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// One round: learn the bucket's size if not known, then publish `log` if it is larger (or if
/// the bucket has no checkpoint yet). `Ok(true)` when the bucket moved (or its size was learnt).
async fn round(
    state: &AppState,
    target: &Target,
    mirror: &mut Mirror,
    log: &SignedCheckpoint,
) -> Result<bool, PublishError> {
    let ledger = state.ledger();
    let mut moved = false;
    let from = match mirror.published {
        Some(from) => from,
        None => {
            let size = resume(ledger, target).await?;
            mirror.has_checkpoint = size.is_some();
            mirror.published = Some(size.unwrap_or(0));
            moved = true;
            size.unwrap_or(0)
        }
    };
    let to = log.size().0;
    if to > from || !mirror.has_checkpoint {
        publish(ledger, target, mirror, from, log).await?;
        mirror.published = Some(to);
        mirror.has_checkpoint = true;
        moved = true;
    }
    publish_cosigned(state, target, mirror).await?;
    Ok(moved)
}

/// The bucket's size at start: its checkpoint verified with the log's key and checked against
/// the log (same root at that size); `None` for a bucket without a checkpoint.
async fn resume(ledger: &Ledger, target: &Target) -> Result<Option<u64>, PublishError> {
    let Some(cp) = bucket_checkpoint(target, ledger.verifier_key()).await? else {
        return Ok(None);
    };
    check_ours(ledger, &cp)?;
    tracing::info!(size = cp.size.0, url = %target.url, "resuming from the bucket's checkpoint");
    Ok(Some(cp.size.0))
}

/// The bucket's checkpoint is one this log signed: not larger, and the same root at its size.
fn check_ours(ledger: &Ledger, cp: &ledger::Checkpoint) -> Result<(), PublishError> {
    let local = ledger.checkpoint().size().0;
    let diverged = |reason| PublishError::Diverged {
        bucket: cp.size.0,
        local,
        reason,
    };
    if cp.size.0 > local {
        return Err(diverged("the bucket is ahead of the log"));
    }
    let note = ledger
        .checkpoint_at(cp.size)
        .map_err(PublishError::local)?
        .ok_or(diverged("the log signed no checkpoint of that size"))?;
    let ours =
        ledger::Checkpoint::verify(&note, ledger.verifier_key()).map_err(PublishError::local)?;
    if ours.root != cp.root {
        return Err(diverged("another root at that size"));
    }
    Ok(())
}

/// Steps 1 to 3 of the module documentation, from `from` to `log`.
async fn publish(
    ledger: &Ledger,
    target: &Target,
    mirror: &mut Mirror,
    from: u64,
    log: &SignedCheckpoint,
) -> Result<(), PublishError> {
    let to = log.size().0;

    // Step 1: the trees named by the new entries. Crash: nothing visible; replayed equal.
    let named = {
        let l = ledger.clone();
        blocking(move || trees::named(&l, from, to)).await?
    };
    for tree in named {
        if mirror.trees.contains(&tree) {
            continue;
        }
        // Streamed from the store, in parts when large: bounded memory for any tree.
        super::stream::publish_tree(ledger, target, tree).await?;
        mirror.trees.insert(tree);
    }

    // Step 2: bundles and tiles of `to` over `from`. Crash: nothing visible; replayed equal.
    let tiles = tiles_added(TreeSize(from), TreeSize(to));
    for batch in tiles.chunks(TILE_BATCH) {
        let batch = batch.to_vec();
        let l = ledger.clone();
        let objects = blocking(move || tile_objects(&l, &batch)).await?;
        stream::iter(objects)
            .map(|(name, bytes)| async move { put_immutable(target, &name, bytes).await })
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await?;
    }

    // Step 3: the checkpoint, only forward. Crash before: as step 2; after: done.
    if let Some(there) = bucket_checkpoint(target, ledger.verifier_key()).await? {
        if there.size.0 > from {
            // Another writer moved the bucket since we read it: not ours to overwrite.
            check_ours(ledger, &there)?;
            if there.size.0 > to {
                return Err(PublishError::Diverged {
                    bucket: there.size.0,
                    local: to,
                    reason: "the bucket moved past this round",
                });
            }
        }
    }
    put_mutable(
        target,
        CHECKPOINT,
        Bytes::from(log.note.clone().into_bytes()),
    )
    .await
}

/// Step 4: `checkpoint.cosigned` when witnessing published a new one at or below the bucket's
/// size.
async fn publish_cosigned(
    state: &AppState,
    target: &Target,
    mirror: &mut Mirror,
) -> Result<(), PublishError> {
    let Some(note) = state.witnessing().published() else {
        return Ok(());
    };
    if mirror.cosigned.as_ref() == Some(&note) {
        return Ok(());
    }
    let size = note
        .lines()
        .nth(1)
        .and_then(|l| l.parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    if size > mirror.published.unwrap_or(0) {
        return Ok(());
    }
    put_mutable(
        target,
        CHECKPOINT_COSIGNED,
        Bytes::from(note.as_bytes().to_vec()),
    )
    .await?;
    mirror.cosigned = Some(note);
    Ok(())
}

/// The objects of `tiles`: each hash tile, and for level 0 the entry bundle of the same index
/// and width (bundle first: a reader that finds a level-0 tile finds its entries).
fn tile_objects(ledger: &Ledger, tiles: &[TileId]) -> Result<Vec<(String, Bytes)>, PublishError> {
    let mut out = Vec::with_capacity(tiles.len() * 2);
    for &id in tiles {
        if id.level == 0 {
            let bundle = EntryBundleId::new(id.n, id.width).map_err(PublishError::local)?;
            let bytes = ledger.entry_bundle(bundle).map_err(PublishError::local)?;
            out.push((bundle.path(), Bytes::from(bytes)));
        }
        let bytes = ledger.hash_tile(id).map_err(PublishError::local)?;
        out.push((id.path(), Bytes::from(bytes)));
    }
    Ok(out)
}

async fn blocking<T, F>(f: F) -> Result<T, PublishError>
where
    F: FnOnce() -> Result<T, PublishError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(PublishError::local)?
}
