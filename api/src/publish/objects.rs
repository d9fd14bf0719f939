//! Writing one object of the mirror: immutable objects are created once and never overwritten
//! ([`put_immutable`]); the checkpoint moves only forward ([`bucket_checkpoint`]).

use bytes::Bytes;
use object_store::{PutMode, PutOptions, PutPayload};

use super::target::Target;
use super::PublishError;

/// What writing an immutable object found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// It was not there; now it is.
    Created,
    /// It was there with the same bytes (a replay after a crash or a restart).
    AlreadyThere,
}

/// Writes immutable object `name` with `bytes`: read first, and when absent create it with a
/// conditional create (`If-None-Match: *` on S3; a create-only open on `file://`). An object
/// already there with the same bytes is fine; with different bytes it is
/// [`PublishError::Conflict`] and is left as it is.
///
/// Why read first when the create is conditional: not every S3-compatible store honours the
/// condition (Garage 2.5 ignores `If-None-Match` on PUT and overwrites), so the read is what
/// keeps a foreign or damaged object from being overwritten there. Between the read and the
/// create another writer could slip in on such a store; the mirror has one writer, its log's
/// `prov serve`, and stores that honour the condition close even that window.
pub async fn put_immutable(
    target: &Target,
    name: &str,
    bytes: Bytes,
) -> Result<Written, PublishError> {
    let path = target.path(name);
    if compare_existing(target, name, &bytes).await? {
        return Ok(Written::AlreadyThere);
    }
    let opts = PutOptions::from(PutMode::Create);
    match target
        .store
        .put_opts(&path, PutPayload::from(bytes.clone()), opts)
        .await
    {
        Ok(_) => Ok(Written::Created),
        Err(object_store::Error::AlreadyExists { .. }) => {
            // Someone (an earlier run of ours that crashed after its create) got there first.
            if compare_existing(target, name, &bytes).await? {
                Ok(Written::AlreadyThere)
            } else {
                Err(PublishError::Store {
                    object: name.to_string(),
                    source: object_store::Error::Generic {
                        store: "publish",
                        source: "object vanished after an already-exists answer".into(),
                    },
                })
            }
        }
        Err(source) => Err(PublishError::Store {
            object: name.to_string(),
            source,
        }),
    }
}

/// `true` when `name` exists with exactly `bytes`; `false` when it does not exist;
/// [`PublishError::Conflict`] when it exists with other bytes.
/// An object there with another length is a conflict without its body being read: a huge
/// foreign object never lands in memory.
async fn compare_existing(target: &Target, name: &str, bytes: &[u8]) -> Result<bool, PublishError> {
    let store_err = |source| PublishError::Store {
        object: name.to_string(),
        source,
    };
    let there = match target.store.get(&target.path(name)).await {
        Ok(r) => r,
        Err(object_store::Error::NotFound { .. }) => return Ok(false),
        Err(e) => return Err(store_err(e)),
    };
    let conflict = |theirs: u64| PublishError::Conflict {
        object: name.to_string(),
        ours: bytes.len(),
        theirs: usize::try_from(theirs).unwrap_or(usize::MAX),
    };
    if there.meta.size != bytes.len() as u64 {
        return Err(conflict(there.meta.size));
    }
    let body = there.bytes().await.map_err(store_err)?;
    if body.as_ref() == bytes {
        Ok(true)
    } else {
        Err(conflict(body.len() as u64))
    }
}

/// The bytes of object `name`, `None` when it does not exist.
pub async fn read(target: &Target, name: &str) -> Result<Option<Bytes>, PublishError> {
    let path = target.path(name);
    let store_err = |source| PublishError::Store {
        object: name.to_string(),
        source,
    };
    match target.store.get(&path).await {
        Ok(r) => Ok(Some(r.bytes().await.map_err(store_err)?)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(store_err(e)),
    }
}

/// Overwrites mutable object `name` (`checkpoint`, `checkpoint.cosigned`).
pub async fn put_mutable(target: &Target, name: &str, bytes: Bytes) -> Result<(), PublishError> {
    target
        .store
        .put(&target.path(name), PutPayload::from(bytes))
        .await
        .map(|_| ())
        .map_err(|source| PublishError::Store {
            object: name.to_string(),
            source,
        })
}

/// The checkpoint in the bucket, verified with the log's key: its size, `None` when the bucket
/// has none. A checkpoint that does not verify (another log's, or damaged) is
/// [`PublishError::ForeignCheckpoint`]: the publisher stops rather than overwrite it.
pub async fn bucket_checkpoint(
    target: &Target,
    key: &ledger::VerifierKey,
) -> Result<Option<ledger::Checkpoint>, PublishError> {
    let Some(bytes) = read(target, super::CHECKPOINT).await? else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| PublishError::ForeignCheckpoint {
        reason: super::ForeignCheckpoint::NotUtf8(e),
    })?;
    ledger::Checkpoint::verify(text, key)
        .map(Some)
        .map_err(|e| PublishError::ForeignCheckpoint {
            reason: super::ForeignCheckpoint::Verify(e),
        })
}
