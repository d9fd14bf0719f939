//! Stored trees into the bucket with bounded memory (docs/publishing.md, "Large objects"): a
//! tree object is read from the store in chunks ([`trees::produce`], on a blocking thread) and
//! uploaded as it is read. An object smaller than one part keeps the single conditional put of
//! [`put_immutable`]; a larger one is a multipart upload (`object_store`'s [`WriteMultipart`]).
//!
//! The rules of immutable objects hold for both: read before create, and never overwrite an
//! object that is there. A multipart upload has no conditional create (S3's `If-None-Match` on
//! `CompleteMultipartUpload` is not honoured everywhere, and `object_store` 0.12 does not send
//! it), so the publisher asks for the object's head first and again just before completing:
//!
//! - absent: the parts are uploaded as the store is read; an object that appeared meanwhile (the
//!   second head) aborts the upload, and the next round compares;
//! - present: its bytes are compared with the store's as both stream in, chunk by chunk; equal
//!   bytes are a replay (a crash after the upload completed), other bytes are
//!   [`PublishError::Conflict`] and the object is left as it is.
//!
//! A crash mid-upload leaves an incomplete multipart upload, which is no object: readers never
//! see it, the next round uploads afresh, and a bucket lifecycle rule
//! (`AbortIncompleteMultipartUpload`) reclaims the parts; the publisher aborts the uploads it
//! gives up on itself.
//!
//! Memory per object: [`CHANNEL_CHUNKS`] chunks of [`trees::CHUNK_BYTES`] between the reader
//! and the uploader, plus the part being filled and [`PARTS_IN_FLIGHT`] parts being sent: about
//! 4 MiB + 5 × the part size (30 MiB with 5 MiB parts), for a tree of any size.

use bytes::Bytes;
use futures_util::StreamExt as _;
use ledger::ledger::Ledger;
use object_store::WriteMultipart;
use tokio::sync::mpsc;

use super::objects::{put_immutable, Written};
use super::target::Target;
use super::trees::{self, Tree, TreeObject};
use super::PublishError;

/// The smallest part S3 accepts (all but the last): objects below it take the single put.
pub const MIN_PART_SIZE: usize = 5 << 20;
/// The most parts S3 takes in one upload; parts grow so that an object's estimate fits in
/// [`PARTS_BUDGET`] of them, leaving room for an estimate that was low.
pub const MAX_PARTS: u64 = 10_000;
const PARTS_BUDGET: u64 = MAX_PARTS / 2;
/// Chunks queued between the store reader and the uploader.
pub const CHANNEL_CHUNKS: usize = 4;
/// Parts uploaded at once.
pub const PARTS_IN_FLIGHT: usize = 4;

/// The part size for an object of about `estimate` bytes: [`MIN_PART_SIZE`], or larger (whole
/// MiB) when the estimate would need more than [`PARTS_BUDGET`] parts. A 72 GB set (10^9
/// leaves) gets 14 MiB parts.
pub fn part_size(estimate: u64) -> usize {
    const MIB: u64 = 1 << 20;
    let want = estimate.div_ceil(PARTS_BUDGET).div_ceil(MIB) * MIB;
    usize::try_from(want)
        .unwrap_or(usize::MAX)
        .max(MIN_PART_SIZE)
}

/// Writes the objects of stored tree `tree` (leaves first), each streamed from the store:
/// `(name, what the bucket had)` for each. Nothing when the tree is not stored.
pub async fn publish_tree(
    ledger: &Ledger,
    target: &Target,
    tree: Tree,
) -> Result<Vec<(String, Written)>, PublishError> {
    let objects = {
        let l = ledger.clone();
        tokio::task::spawn_blocking(move || trees::tree_objects(&l, tree))
            .await
            .map_err(PublishError::local)??
    };
    let mut out = Vec::with_capacity(objects.len());
    for obj in objects {
        let written = put_tree_object(ledger, target, &obj).await?;
        out.push((obj.name, written));
    }
    Ok(out)
}

/// One tree object: read on a blocking thread, uploaded as read.
async fn put_tree_object(
    ledger: &Ledger,
    target: &Target,
    obj: &TreeObject,
) -> Result<Written, PublishError> {
    let (tx, rx) = mpsc::channel::<Result<Bytes, PublishError>>(CHANNEL_CHUNKS);
    let producer = {
        let (l, o) = (ledger.clone(), obj.clone());
        tokio::task::spawn_blocking(move || {
            let r = trees::produce(&l, &o, &mut |chunk| {
                tx.blocking_send(Ok(Bytes::from(chunk))).is_ok()
            });
            if let Err(e) = r {
                let _ = tx.blocking_send(Err(e));
            }
        })
    };
    let result = upload(target, &obj.name, part_size(obj.estimate), rx).await;
    // The receiver is dropped: the reader stops at its next chunk, if it had not finished.
    producer.await.map_err(PublishError::local)?;
    result
}

/// Uploads the stream `rx` as object `name`, after the rules of the module documentation.
async fn upload(
    target: &Target,
    name: &str,
    part: usize,
    mut rx: mpsc::Receiver<Result<Bytes, PublishError>>,
) -> Result<Written, PublishError> {
    // The first part's worth: an object that ends within it takes the single put.
    let mut first = Vec::new();
    let mut ended = false;
    while first.len() < part {
        match rx.recv().await {
            Some(Ok(c)) => first.extend_from_slice(&c),
            Some(Err(e)) => return Err(e),
            None => {
                ended = true;
                break;
            }
        }
    }
    if ended {
        return put_immutable(target, name, Bytes::from(first)).await;
    }
    let path = target.path(name);
    let store_err = |source| PublishError::Store {
        object: name.to_string(),
        source,
    };
    match target.store.head(&path).await {
        Ok(meta) => return compare(target, name, meta.size, first, rx).await,
        Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => return Err(store_err(e)),
    }
    let upload = target.store.put_multipart(&path).await.map_err(store_err)?;
    let mut w = WriteMultipart::new_with_chunk_size(upload, part);
    w.write(&first);
    drop(first);
    loop {
        let next = rx.recv().await;
        let chunk = match next {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                abort(w, name).await;
                return Err(e);
            }
            None => break,
        };
        if let Err(e) = w.wait_for_capacity(PARTS_IN_FLIGHT).await {
            abort(w, name).await;
            return Err(store_err(e));
        }
        w.write(&chunk);
    }
    // Read before create, once more: a store without a conditional complete would let this
    // upload replace an object that appeared while it ran.
    match target.store.head(&path).await {
        Err(object_store::Error::NotFound { .. }) => {}
        Ok(_) => {
            abort(w, name).await;
            return Err(store_err(object_store::Error::Generic {
                store: "publish",
                source: "the object appeared during its multipart upload; compared next round"
                    .into(),
            }));
        }
        Err(e) => {
            abort(w, name).await;
            return Err(store_err(e));
        }
    }
    w.finish().await.map_err(store_err)?;
    Ok(Written::Created)
}

async fn abort(w: WriteMultipart, name: &str) {
    if let Err(e) = w.abort().await {
        tracing::warn!(object = name, error = %e, "publish: aborting a multipart upload failed; the bucket's lifecycle rule reclaims it");
    }
}

/// Compares object `name` (`theirs` bytes long) with ours (`first`, then `rx`), both streamed:
/// equal is [`Written::AlreadyThere`], anything else [`PublishError::Conflict`].
async fn compare(
    target: &Target,
    name: &str,
    theirs: u64,
    first: Vec<u8>,
    mut rx: mpsc::Receiver<Result<Bytes, PublishError>>,
) -> Result<Written, PublishError> {
    let store_err = |source| PublishError::Store {
        object: name.to_string(),
        source,
    };
    let mut stream = target
        .store
        .get(&target.path(name))
        .await
        .map_err(store_err)?
        .into_stream();
    // Their bytes fetched but not yet compared.
    let mut pending = Bytes::new();
    let mut their_end = false;
    let mut equal = true;
    let mut ours = 0u64;
    let mut next: Option<Bytes> = Some(Bytes::from(first));
    while let Some(chunk) = next.take() {
        ours += chunk.len() as u64;
        let mut o: &[u8] = &chunk;
        while equal && !o.is_empty() {
            if pending.is_empty() {
                match stream.next().await {
                    Some(Ok(b)) => pending = b,
                    Some(Err(e)) => return Err(store_err(e)),
                    None => {
                        their_end = true;
                        equal = false;
                    }
                }
                continue;
            }
            let n = o.len().min(pending.len());
            if o[..n] != pending[..n] {
                equal = false;
                break;
            }
            o = &o[n..];
            pending = pending.slice(n..);
        }
        // After a difference ours is still read to the end, only to count it.
        next = match rx.recv().await {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => return Err(e),
            None => None,
        };
    }
    if equal && pending.is_empty() && !their_end {
        // Ours ended: theirs must end too.
        while let Some(b) = stream.next().await {
            if !b.map_err(store_err)?.is_empty() {
                equal = false;
                break;
            }
        }
    } else if !pending.is_empty() {
        equal = false;
    }
    if equal {
        Ok(Written::AlreadyThere)
    } else {
        Err(PublishError::Conflict {
            object: name.to_string(),
            ours: usize::try_from(ours).unwrap_or(usize::MAX),
            theirs: usize::try_from(theirs).unwrap_or(usize::MAX),
        })
    }
}
