//! Large tree objects of the mirror streamed from the store by multipart upload
//! (api/src/publish/stream.rs, docs/publishing.md "Large objects"): a set larger than several
//! parts published to a real Garage (tests/src/garage.rs) and to a `file://` directory with the
//! store's bytes; an object already there with other bytes refused and kept; a replay after a
//! completed upload accepted. Garage tests skip without the garage binary and fail under `CI`
//! without it.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use api::publish::{self, PublishError, Target, Tree, Written, MIN_PART_SIZE};
use bytes::Bytes;
use ledger::ledger::Ledger;
use ledger::sequencer::SequencerConfig;
use ledger::set::{SetLeaf, SetRootBuilder};
use ledger::{ContentId, Digest};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use tests::garage::Garage;

/// Leaves in the test set: 300,000 × 72 bytes = 21.6 MB, over four 5 MiB parts.
const LEAVES: u64 = 300_000;

fn leaf(i: u64) -> SetLeaf {
    let mut cid = [0u8; 32];
    cid[..8].copy_from_slice(&i.to_be_bytes());
    cid[8..16].copy_from_slice(&(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes());
    SetLeaf {
        cid: ContentId(cid),
        size: i,
        meta: Digest::default(),
    }
}

/// A ledger holding one set of `n` leaves: the ledger, its directory, the set's root and the
/// set's leaves object as the store has it.
fn ledger_with_set(n: u64) -> (Ledger, tempfile::TempDir, Digest, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::create(
        &dir.path().join("ledger"),
        "multipart.example/log",
        SequencerConfig::default(),
    )
    .unwrap();
    let mut b = SetRootBuilder::new();
    let mut bytes = Vec::with_capacity(n as usize * SetLeaf::LEN);
    for i in 0..n {
        b.push(&leaf(i)).unwrap();
        bytes.extend_from_slice(&leaf(i).to_bytes());
    }
    let root = b.root();
    let mut w = l.set_writer();
    for chunk in bytes.chunks(65_536 * SetLeaf::LEN) {
        w.push_bytes(chunk).unwrap();
    }
    w.commit(&root).unwrap();
    (l, dir, root, bytes)
}

fn garage_target(g: &Garage, prefix: &str) -> Target {
    let opts: Vec<(String, String)> = g
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    publish::open(&g.s3_url(prefix), &opts).unwrap()
}

async fn object(t: &Target, name: &str) -> Option<Bytes> {
    match t.store.get(&t.path(name)).await {
        Ok(r) => Some(r.bytes().await.unwrap()),
        Err(object_store::Error::NotFound { .. }) => None,
        Err(e) => panic!("{e}"),
    }
}

async fn put(t: &Target, name: &str, bytes: Vec<u8>) {
    let p: ObjectPath = t.path(name);
    t.store.put(&p, PutPayload::from(bytes)).await.unwrap();
}

/// Publishes the set, checks the object is the store's bytes, then publishes it again (the
/// replay after a crash that followed the upload) and finds it equal.
async fn publishes_equal_bytes(t: &Target) {
    let (l, _dir, root, bytes) = ledger_with_set(LEAVES);
    assert!(
        bytes.len() > 4 * MIN_PART_SIZE,
        "the object spans several parts"
    );
    let name = format!("sets/{}.leaves", root.to_hex());
    let written = publish::publish_tree(&l, t, Tree::Set(root)).await.unwrap();
    assert_eq!(written, vec![(name.clone(), Written::Created)]);
    let there = object(t, &name).await.expect("published");
    assert_eq!(there.len(), bytes.len());
    assert!(
        there.as_ref() == bytes.as_slice(),
        "the bucket has the store's bytes"
    );
    let again = publish::publish_tree(&l, t, Tree::Set(root)).await.unwrap();
    assert_eq!(again, vec![(name, Written::AlreadyThere)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_larger_than_several_parts_is_streamed_to_garage_with_the_stores_bytes() {
    let Some(g) = Garage::start_or_skip("a_set_larger_than_several_parts_is_streamed_to_garage")
    else {
        return;
    };
    let t = garage_target(&g, "multipart");
    publishes_equal_bytes(&t).await;
    // It went up in parts: an S3 multipart object's e-tag ends in "-<parts>" (21.6 MB in 5 MiB
    // parts: 5). The old single put gave a plain MD5 e-tag.
    let (_, _, root, bytes) = ledger_with_set(LEAVES);
    let head = t
        .store
        .head(&t.path(&format!("sets/{}.leaves", root.to_hex())))
        .await
        .unwrap();
    let parts = bytes.len().div_ceil(MIN_PART_SIZE);
    let etag = head.e_tag.unwrap_or_default();
    assert!(
        etag.trim_matches('"').ends_with(&format!("-{parts}")),
        "a multipart e-tag of {parts} parts, got {etag}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_larger_than_several_parts_is_streamed_to_a_file_url_with_the_stores_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("mirror").display());
    publishes_equal_bytes(&publish::open(&url, &[]).unwrap()).await;
}

/// A large object already in the bucket with other bytes: refused as a conflict (the alarm that
/// stops the publisher), and left exactly as it was.
async fn other_bytes_are_refused_and_kept(t: &Target) {
    let (l, _dir, root, bytes) = ledger_with_set(LEAVES);
    let name = format!("sets/{}.leaves", root.to_hex());
    // Same length, one byte changed past the first parts: only a compare of the whole stream
    // finds it. Then a truncated object (as a foreign, partial copy would be), then a longer one.
    let mut changed = bytes.clone();
    let at = changed.len() - 1000;
    changed[at] ^= 1;
    let truncated = bytes[..bytes.len() - SetLeaf::LEN].to_vec();
    let mut longer = bytes.clone();
    longer.extend_from_slice(&leaf(LEAVES).to_bytes());
    for theirs in [changed, truncated, longer] {
        put(t, &name, theirs.clone()).await;
        let err = publish::publish_tree(&l, t, Tree::Set(root))
            .await
            .unwrap_err();
        match &err {
            PublishError::Conflict {
                object,
                ours,
                theirs: n,
            } => {
                assert_eq!(object, &name);
                assert_eq!(*ours, bytes.len());
                assert_eq!(*n, theirs.len());
            }
            other => panic!("expected a conflict, got {other}"),
        }
        assert!(err.is_fatal(), "a conflict stops the publisher");
        let there = object(t, &name).await.unwrap();
        assert!(there.as_ref() == theirs.as_slice(), "never overwritten");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_large_object_in_garage_is_refused_by_the_multipart_path_and_kept() {
    let Some(g) = Garage::start_or_skip("a_different_large_object_in_garage_is_refused") else {
        return;
    };
    other_bytes_are_refused_and_kept(&garage_target(&g, "conflict")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_large_object_in_a_file_url_is_refused_by_the_multipart_path_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("mirror").display());
    other_bytes_are_refused_and_kept(&publish::open(&url, &[]).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_replay_finds_the_completed_large_object_equal_and_accepts_it() {
    let Some(g) = Garage::start_or_skip("a_crash_replay_finds_the_completed_large_object") else {
        return;
    };
    let t = garage_target(&g, "replay");
    let (l, _dir, root, bytes) = ledger_with_set(LEAVES);
    let name = format!("sets/{}.leaves", root.to_hex());
    // The upload of a run that crashed after completing it, before its checkpoint.
    put(&t, &name, bytes.clone()).await;
    let written = publish::publish_tree(&l, &t, Tree::Set(root))
        .await
        .unwrap();
    assert_eq!(written, vec![(name.clone(), Written::AlreadyThere)]);
    let there = object(&t, &name).await.unwrap();
    assert!(there.as_ref() == bytes.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_set_keeps_the_single_conditional_put() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("mirror").display());
    let t = publish::open(&url, &[]).unwrap();
    let (l, _d, root, bytes) = ledger_with_set(1000);
    let name = format!("sets/{}.leaves", root.to_hex());
    let written = publish::publish_tree(&l, &t, Tree::Set(root))
        .await
        .unwrap();
    assert_eq!(written, vec![(name.clone(), Written::Created)]);
    assert!(object(&t, &name).await.unwrap().as_ref() == bytes.as_slice());
    // A different small object: refused as before.
    put(&t, &name, vec![0u8; 72]).await;
    let err = publish::publish_tree(&l, &t, Tree::Set(root))
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::Conflict { .. }), "{err}");
    // A foreign object far larger than ours: a conflict found from its length alone.
    put(&t, &name, vec![7u8; 3 * MIN_PART_SIZE]).await;
    let err = publish::publish_tree(&l, &t, Tree::Set(root))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PublishError::Conflict { ours: 72_000, theirs, .. } if theirs == 3 * MIN_PART_SIZE),
        "{err}"
    );
    assert_eq!(object(&t, &name).await.unwrap().len(), 3 * MIN_PART_SIZE);
}

#[test]
fn parts_grow_so_that_a_huge_set_fits_in_the_part_limit() {
    assert_eq!(publish::part_size(0), MIN_PART_SIZE);
    assert_eq!(publish::part_size(21_600_000), MIN_PART_SIZE);
    // 10^9 leaves: 72 GB in at most 10,000 parts of at least 5 MiB.
    let p = publish::part_size(72_000_000_000) as u64;
    assert!(p >= MIN_PART_SIZE as u64);
    assert!(72_000_000_000u64.div_ceil(p) <= 10_000, "{p}");
}
