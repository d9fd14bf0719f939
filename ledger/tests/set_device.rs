//! Set ingest with its full records hashed by a [`RecordRoots`] (a device, in the service), many
//! records a call (`ledger::store::setdevice`): the stored records and the root are byte for byte
//! the plain writer's; an answer that lies or has the wrong length is caught (by the spot check,
//! or at commit by the claimed-root check) and never stored as if right; a failing device only
//! sends its batch to the CPU.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too, as tests may

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ledger::set::{self, SetLeaf, SortedSet};
use ledger::store::setdevice::{
    random_record, record_root, DeviceEvent, RecordRoots, RecordRootsError, RECORD_BYTES,
};
use ledger::store::sets::{SetStore, SetStoreError};
use ledger::store::{Column, LogStore, MemoryStore};
use ledger::types::{ContentId, Digest, LeafIndex};

const BATCH: usize = 1024;

/// How a test device answers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// The right roots (the CPU's own computation).
    Honest,
    /// Every root wrong.
    LiesOnAll,
    /// Right on record 0 of each batch, wrong on every other (the tests that use it have the
    /// spot check look at record 0: a device that knew which record is checked).
    LiesPastTheSpotCheck,
    /// One root too few.
    Short,
    /// An error.
    Fails,
    /// `Ok(None)`: not worth it.
    Declines,
}

struct TestDevice {
    mode: Mutex<Mode>,
    batch: usize,
    calls: AtomicUsize,
    /// The records of every call (to check they are whole and in order).
    records: AtomicUsize,
    events: Mutex<Vec<String>>,
}

impl TestDevice {
    fn new(mode: Mode, batch: usize) -> Arc<Self> {
        Arc::new(TestDevice {
            mode: Mutex::new(mode),
            batch,
            calls: AtomicUsize::new(0),
            records: AtomicUsize::new(0),
            events: Mutex::new(Vec::new()),
        })
    }
}

impl RecordRoots for TestDevice {
    fn batch_records(&self) -> usize {
        self.batch
    }

    fn record_roots(&self, records: &[u8]) -> Result<Option<Vec<Digest>>, RecordRootsError> {
        assert_eq!(records.len() % RECORD_BYTES, 0, "not whole records");
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.records
            .fetch_add(records.len() / RECORD_BYTES, Ordering::Relaxed);
        let mut roots: Vec<Digest> = records
            .chunks_exact(RECORD_BYTES)
            .map(record_root)
            .collect();
        let spot = 0;
        let mode = *self.mode.lock().unwrap();
        match mode {
            Mode::Honest => {}
            Mode::LiesOnAll => roots.iter_mut().for_each(|r| r.0[0] ^= 1),
            Mode::LiesPastTheSpotCheck => roots
                .iter_mut()
                .enumerate()
                .filter(|(i, _)| *i != spot)
                .for_each(|(_, r)| r.0[31] ^= 0x80),
            Mode::Short => {
                roots.pop();
            }
            Mode::Fails => return Err("device lost".into()),
            Mode::Declines => return Ok(None),
        }
        Ok(Some(roots))
    }

    fn describe(&self) -> String {
        format!("test device ({:?})", *self.mode.lock().unwrap())
    }

    fn report(&self, event: &DeviceEvent<'_>) {
        self.events.lock().unwrap().push(format!("{event:?}"));
    }
}

fn sorted_leaves(n: u64) -> Vec<SetLeaf> {
    let mut v: Vec<SetLeaf> = (0..n)
        .map(|i| SetLeaf {
            cid: ContentId::of(&i.to_be_bytes()),
            size: i,
            meta: Digest([(i % 251) as u8; 32]),
        })
        .collect();
    v.sort_by_key(|l| l.cid);
    v
}

/// Canonical metadata of item `i` (a licence and a source on a few hosts).
fn meta_of(i: u64) -> Vec<u8> {
    format!(
        r#"{{"sources":[{{"license":"MIT","path":"c/{i}.txt","source":"https://h{}.example.com/{i}"}}]}}"#,
        i % 3
    )
    .into_bytes()
}

fn leaves_with_meta(n: u64) -> Vec<(SetLeaf, Vec<u8>)> {
    common::leaves_with(n, meta_of)
}

fn store_with(device: Option<Arc<TestDevice>>) -> (Arc<MemoryStore>, SetStore) {
    let mem = Arc::new(MemoryStore::new());
    let store = SetStore::open(mem.clone() as Arc<dyn LogStore>).unwrap();
    if let Some(d) = device {
        assert!(store.set_record_roots(d));
    }
    (mem, store)
}

/// A store whose spot check always looks at record 0 of a batch: what a device that could
/// predict the check would face.
fn store_checking_record_0(device: Arc<TestDevice>) -> (Arc<MemoryStore>, SetStore) {
    let mem = Arc::new(MemoryStore::new());
    let store = SetStore::open(mem.clone() as Arc<dyn LogStore>).unwrap();
    assert!(store.set_record_roots_with_picker(device, Arc::new(|_| 0)));
    (mem, store)
}

/// Every record of every column, in key order.
fn dump(store: &MemoryStore) -> Vec<(Column, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for col in Column::ALL {
        for (k, v) in store.range(col, &[], &[0xff; 64], usize::MAX).unwrap() {
            out.push((col, k, v));
        }
    }
    out
}

/// Uploads `leaves` (with their metadata, if any) in pieces of `split` bytes, commits with the
/// claimed root at a fixed time.
fn upload(
    store: &SetStore,
    leaves: &[SetLeaf],
    metas: Option<&[Vec<u8>]>,
    claimed: &Digest,
) -> Result<ledger::store::sets::SetInfo, SetStoreError> {
    let mut w = store.writer();
    match metas {
        Some(metas) => {
            for (l, m) in leaves.iter().zip(metas) {
                w.push_with_meta(l, m)?;
            }
        }
        None => {
            let bytes: Vec<u8> = leaves.iter().flat_map(|l| l.to_bytes()).collect();
            for piece in bytes.chunks(100_003) {
                w.push_bytes(piece)?;
            }
        }
    }
    w.commit_at(claimed, 1_700_000_000)
}

fn root(leaves: &[SetLeaf]) -> Digest {
    SortedSet::new(leaves.to_vec()).unwrap().root()
}

/// The deferred path stores exactly what the plain writer stores (records, hashes, metadata,
/// source tree, statistics, root), for sizes around a record and around batches of 1,024
/// records.
#[test]
fn deferred_ingest_stores_what_the_plain_writer_stores() {
    let r = 256 * BATCH as u64;
    for n in [0u64, 1, 255, 256, 257, r - 1, r, r + 1, 3 * r + 5] {
        let leaves = sorted_leaves(n);
        let want = root(&leaves);
        let (plain_mem, plain) = store_with(None);
        let device = TestDevice::new(Mode::Honest, BATCH);
        let (dev_mem, dev) = store_with(Some(device.clone()));
        let a = upload(&plain, &leaves, None, &want).unwrap();
        let b = upload(&dev, &leaves, None, &want).unwrap();
        assert_eq!(a, b, "n={n}");
        assert_eq!(dump(&plain_mem), dump(&dev_mem), "n={n}");
        let full = n / 256;
        let stats = dev.ingest_stats();
        assert_eq!(stats.device_leaves, full * 256, "n={n}");
        assert_eq!(stats.cpu_leaves, 0, "n={n}");
        assert_eq!(plain.ingest_stats().cpu_leaves, full * 256, "n={n}");
        assert_eq!(plain.ingest_stats().device_leaves, 0);
        assert_eq!(device.records.load(Ordering::Relaxed) as u64, full);
        assert_eq!(
            device.calls.load(Ordering::Relaxed) as u64,
            full.div_ceil(BATCH as u64),
            "n={n}: one call per batch, the last one at commit"
        );
        if n > 0 {
            let src = dev.source(&want).unwrap();
            let i = n / 2;
            let p = set::inclusion_proof_at(&src, LeafIndex(i)).unwrap();
            set::verify_inclusion(&p, &leaves[i as usize].cid, &want, src.info().size).unwrap();
        }
    }
}

/// The same with metadata (its source tree and statistics built at commit), with batches of 4
/// records so that the boundaries come at small sizes.
#[test]
fn deferred_ingest_with_metadata_stores_what_the_plain_writer_stores() {
    let batch = 4usize;
    let r = 256 * batch as u64;
    for n in [0u64, 1, 255, 256, 257, r - 1, r, r + 1, 3 * r + 5] {
        let items = leaves_with_meta(n);
        let leaves: Vec<SetLeaf> = items.iter().map(|(l, _)| *l).collect();
        let metas: Vec<Vec<u8>> = items.iter().map(|(_, m)| m.clone()).collect();
        let want = root(&leaves);
        let (plain_mem, plain) = store_with(None);
        let (dev_mem, dev) = store_with(Some(TestDevice::new(Mode::Honest, batch)));
        upload(&plain, &leaves, Some(&metas), &want).unwrap();
        upload(&dev, &leaves, Some(&metas), &want).unwrap();
        assert_eq!(dump(&plain_mem), dump(&dev_mem), "n={n}");
        assert_eq!(dev.ingest_stats().device_leaves, n / 256 * 256);
        if n > 0 {
            assert!(dev.has_meta(&want).unwrap());
        }
    }
}

/// An upload dropped half way (records already staged, a batch still gathered for the device)
/// leaves nothing behind; so does one whose claimed root is wrong.
#[test]
fn deferred_ingest_aborted_mid_way_leaves_nothing() {
    let (mem, store) = store_with(Some(TestDevice::new(Mode::Honest, 8)));
    let before = dump(&mem);
    let leaves = sorted_leaves(256 * 8 * 3 + 256 * 5 + 7);
    let mut w = store.writer();
    for l in &leaves {
        w.push(l).unwrap();
    }
    drop(w);
    assert_eq!(dump(&mem), before);
    let e = upload(&store, &leaves, None, &Digest([9; 32])).unwrap_err();
    assert!(matches!(e, SetStoreError::RootMismatch { .. }), "{e}");
    assert_eq!(dump(&mem), before);
}

/// The attack: a device (or a broken driver) returns wrong roots for every record. The spot
/// check catches it: the batch is hashed again on the CPU, the device is disabled for this
/// upload and every later one, and the set is stored right.
#[test]
fn a_device_that_lies_on_every_record_is_caught_by_the_spot_check() {
    let device = TestDevice::new(Mode::LiesOnAll, 4);
    let (mem, store) = store_with(Some(device.clone()));
    let leaves = sorted_leaves(256 * 4 * 3 + 100);
    let want = root(&leaves);
    upload(&store, &leaves, None, &want).unwrap();
    assert_eq!(
        device.calls.load(Ordering::Relaxed),
        1,
        "disabled after one"
    );
    let stats = store.ingest_stats();
    assert!(stats.device_disabled);
    assert_eq!(stats.device_refused, 1);
    assert_eq!(stats.device_leaves, 0);
    assert_eq!(stats.cpu_leaves, 12 * 256);
    let events = device.events.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert!(events[0].starts_with("Mismatch"), "{events:?}");
    // Stored exactly as the plain writer stores it.
    let (plain_mem, plain) = store_with(None);
    upload(&plain, &leaves, None, &want).unwrap();
    assert_eq!(dump(&plain_mem), dump(&mem));
    // A later upload does not call the device at all.
    let other = sorted_leaves(256 * 9);
    upload(&store, &other, None, &root(&other)).unwrap();
    assert_eq!(device.calls.load(Ordering::Relaxed), 1);
}

/// The attack: a device that is right on the record the spot check looks at and wrong on the
/// others. The spot check cannot see it; the commit's claimed-root check, which recomputes the
/// root from the stored records (the level-8 hashes the lie went into), refuses the upload and
/// nothing of it is kept: a wrong root is never stored as if right.
#[test]
fn a_device_that_lies_past_the_spot_check_cannot_commit_a_wrong_root() {
    let device = TestDevice::new(Mode::LiesPastTheSpotCheck, 4);
    let (mem, store) = store_checking_record_0(device.clone());
    let before = dump(&mem);
    let leaves = sorted_leaves(256 * 4 * 2 + 3);
    let want = root(&leaves);
    let e = upload(&store, &leaves, None, &want).unwrap_err();
    assert!(
        matches!(e, SetStoreError::RootMismatch { claimed, .. } if claimed == want),
        "{e}"
    );
    assert!(store.info(&want).unwrap().is_none());
    assert_eq!(dump(&mem), before);
    assert!(device.calls.load(Ordering::Relaxed) >= 1);
    assert!(!store.ingest_stats().device_disabled);
    // Once the device is right again, the same upload goes through.
    *device.mode.lock().unwrap() = Mode::Honest;
    upload(&store, &leaves, None, &want).unwrap();
    assert_eq!(
        store.info(&want).unwrap().unwrap().size.0,
        leaves.len() as u64
    );
}

/// The attack: an answer with one root too few (a short tree if it were taken). It is refused,
/// the batch is hashed on the CPU and the device disabled.
#[test]
fn a_device_that_returns_too_few_roots_never_makes_a_short_tree() {
    let device = TestDevice::new(Mode::Short, 4);
    let (mem, store) = store_with(Some(device.clone()));
    let leaves = sorted_leaves(256 * 4 + 256 * 2);
    let want = root(&leaves);
    upload(&store, &leaves, None, &want).unwrap();
    let stats = store.ingest_stats();
    assert!(stats.device_disabled);
    assert_eq!(stats.device_refused, 1);
    assert_eq!(stats.cpu_leaves, 6 * 256);
    let events = device.events.lock().unwrap().clone();
    assert!(events[0].starts_with("WrongCount"), "{events:?}");
    let (plain_mem, plain) = store_with(None);
    upload(&plain, &leaves, None, &want).unwrap();
    assert_eq!(dump(&plain_mem), dump(&mem));
}

/// A device error sends that batch to the CPU; the device stays enabled and gets the next one.
#[test]
fn a_device_error_falls_back_to_the_cpu_for_that_batch() {
    let device = TestDevice::new(Mode::Fails, 4);
    let (mem, store) = store_with(Some(device.clone()));
    let leaves = sorted_leaves(256 * 4 * 2 + 10);
    let want = root(&leaves);
    upload(&store, &leaves, None, &want).unwrap();
    let stats = store.ingest_stats();
    assert!(!stats.device_disabled);
    assert_eq!(stats.device_errors, 2);
    assert_eq!(stats.cpu_leaves, 8 * 256);
    assert_eq!(device.calls.load(Ordering::Relaxed), 2);
    assert!(device.events.lock().unwrap()[0].starts_with("Failed"));
    let (plain_mem, plain) = store_with(None);
    upload(&plain, &leaves, None, &want).unwrap();
    assert_eq!(dump(&plain_mem), dump(&mem));
    *device.mode.lock().unwrap() = Mode::Honest;
    let other = sorted_leaves(256 * 4);
    upload(&store, &other, None, &root(&other)).unwrap();
    assert_eq!(store.ingest_stats().device_leaves, 4 * 256);
}

/// A device that declines a batch (not worth it) is asked no more during that upload.
#[test]
fn a_declined_batch_is_hashed_on_the_cpu_and_the_upload_stops_asking() {
    let device = TestDevice::new(Mode::Declines, 2);
    let (_, store) = store_with(Some(device.clone()));
    let leaves = sorted_leaves(256 * 7);
    upload(&store, &leaves, None, &root(&leaves)).unwrap();
    assert_eq!(device.calls.load(Ordering::Relaxed), 1);
    assert_eq!(store.ingest_stats().cpu_leaves, 7 * 256);
    assert!(!store.ingest_stats().device_disabled);
}

/// The spot check's record is drawn, not computed from the batch (a device can compute anything
/// the batch's bytes determine, and lie everywhere else): the same batch's draws differ.
#[test]
fn the_spot_checked_record_cannot_be_predicted_from_the_batch() {
    // The same batch, checked 64 times: the record drawn moves (all 64 alike: 16^-63).
    let picks: std::collections::BTreeSet<usize> = (0..64).map(|_| random_record(16)).collect();
    assert!(picks.len() > 1, "{picks:?}");
    assert!(picks.iter().all(|&p| p < 16));
    assert_eq!(random_record(1), 0);
}

/// The attack the check's randomness answers: a device that lies on every record but one of each
/// batch, the one it guesses is checked. Against the random draw it is caught on the first
/// batch whose draw misses its guess (a batch of 16: 15 in 16). Batches before that one, whose
/// draws happened to land on the guess, were taken with their lies: then the commit's recomputed
/// root refuses the upload and nothing is kept (the first batch's draw hits 1 time in 16, so both
/// endings occur; either way no wrong root is stored and the device ends disabled).
#[test]
fn a_device_that_guesses_the_checked_record_is_caught_by_the_random_draw() {
    let device = TestDevice::new(Mode::LiesPastTheSpotCheck, 16);
    let (mem, store) = store_with(Some(device.clone()));
    let before = dump(&mem);
    // Eight batches of 16 records: all eight draws land on record 0 with probability 16^-8.
    let leaves = sorted_leaves(256 * 16 * 8);
    let want = root(&leaves);
    match upload(&store, &leaves, None, &want) {
        Ok(_) => {
            // Caught on the first batch: every record went through the CPU.
            let (plain_mem, plain) = store_with(None);
            upload(&plain, &leaves, None, &want).unwrap();
            assert_eq!(dump(&plain_mem), dump(&mem));
        }
        // Caught on a later batch: the lies already taken are refused at commit.
        Err(SetStoreError::RootMismatch { claimed, .. }) => {
            assert_eq!(claimed, want);
            assert!(store.info(&want).unwrap().is_none());
            assert_eq!(dump(&mem), before);
        }
        Err(e) => panic!("{e}"),
    }
    let stats = store.ingest_stats();
    assert!(stats.device_disabled, "{stats:?}");
    assert_eq!(stats.device_refused, 1);
}
