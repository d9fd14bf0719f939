//! The write path's defences: a validation that panics fails exactly its own entry, and a disk
//! below the free-space floor refuses writes before anything is written or poisoned.
#![allow(clippy::unwrap_used)] // test helpers: a failure is a test failure

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use ledger::ledger::Ledger;
use ledger::sequencer::{SequencerConfig, SubmitError, ValidateHook};
use ledger::set::{SetLeaf, SortedSet};
use ledger::store::sets::SetStoreError;
use ledger::store::{log, LogStore, MemoryStore};
use ledger::types::{ContentId, LeafIndex, TreeSize};

mod common;
use common::{entry, signer};

/// 200 entries submitted at once land in one batch; the validation of one of them (the marker)
/// panics. Before: the panicking validation thread's whole chunk got ONE error and the
/// outcomes were zipped by position, so writers after the chunk got other writers' indexes.
#[test]
fn panicking_validation_fails_only_its_own_entry() {
    const N: u64 = 200;
    const MARKER: u64 = 137;
    let marker = entry(MARKER);
    let armed = Arc::new(AtomicBool::new(true));
    let hook = {
        let (marker, armed) = (marker.clone(), armed.clone());
        ValidateHook(Arc::new(move |bytes: &[u8]| {
            if armed.load(Ordering::SeqCst) && bytes == marker.as_slice() {
                panic!("injected: validation bug on the marker entry");
            }
        }))
    };
    let config = SequencerConfig {
        // Long enough for all 200 submissions to join the first batch.
        max_delay: Duration::from_millis(500),
        validate_hook: Some(hook),
        ..Default::default()
    };
    let l = Ledger::create_with_store(
        Arc::new(MemoryStore::new()),
        signer("example.org/log"),
        config,
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    for i in 0..N {
        let tx = tx.clone();
        l.submit_with(entry(i), move |r| tx.send((i, r)).unwrap());
    }
    let mut got: Vec<_> = (0..N).map(|_| rx.recv().unwrap()).collect();
    got.sort_by_key(|(i, _)| *i);
    let size = l.checkpoint().size();
    assert_eq!(
        size,
        TreeSize(N - 1),
        "every entry but the marker is logged"
    );
    let mut indexes = std::collections::HashSet::new();
    for (i, r) in got {
        if i == MARKER {
            let e = r.expect_err("the marker's validation panicked");
            assert!(matches!(e, SubmitError::ValidationPanicked), "{e:?}");
            assert!(e.is_retryable());
            continue;
        }
        let receipt = r.unwrap_or_else(|e| panic!("entry {i} failed with its neighbour: {e}"));
        assert!(
            indexes.insert(receipt.index),
            "index {} twice",
            receipt.index
        );
        // Each writer's index holds its own bytes.
        assert_eq!(
            l.entry(receipt.index).unwrap(),
            Some(entry(i)),
            "writer {i} was answered with another entry's index"
        );
        assert!(receipt.checkpoint.size().0 > receipt.index.0);
    }
    // Not poisoned: the fixed validation accepts the marker on retry.
    assert!(l.fatal().is_none());
    armed.store(false, Ordering::SeqCst);
    let r = l.submit(marker.clone()).unwrap();
    assert_eq!(r.index, LeafIndex(N - 1));
    assert_eq!(l.entry(r.index).unwrap(), Some(marker));
}

fn quick() -> SequencerConfig {
    SequencerConfig {
        max_delay: Duration::from_millis(1),
        min_free_bytes: 1 << 20,
        ..Default::default()
    }
}

/// Below the floor, submissions are refused with `NoSpace` and nothing is written; the
/// sequencer is not poisoned, and writing resumes by itself when space returns.
#[test]
fn a_disk_below_the_floor_refuses_writes_without_poisoning() {
    let mem = Arc::new(MemoryStore::new());
    let l = Ledger::create_with_store(mem.clone(), signer("example.org/log"), quick()).unwrap();
    l.submit(entry(1)).unwrap();
    let before = l.checkpoint();
    let size_before = log::durable_size(&*mem).unwrap();
    mem.set_available_bytes(Some(1000));
    for i in 2..5 {
        match l.submit(entry(i)) {
            Err(SubmitError::NoSpace { available, floor }) => {
                assert_eq!((available, floor), (1000, 1 << 20));
            }
            other => panic!("expected NoSpace, got {other:?}"),
        }
    }
    assert!(l.fatal().is_none(), "a refusal for space must not poison");
    assert_eq!(
        log::durable_size(&*mem).unwrap(),
        size_before,
        "nothing written"
    );
    assert_eq!(l.checkpoint().note, before.note, "nothing signed");
    mem.set_available_bytes(Some(10 << 20));
    let r = l.submit(entry(2)).unwrap();
    assert_eq!(r.index, LeafIndex(1));
    assert_eq!(l.entry(r.index).unwrap(), Some(entry(2)));
}

fn sorted_set(n: u64) -> SortedSet {
    let mut v: Vec<_> = (0..n)
        .map(|i| SetLeaf::id_only(ContentId::of(&i.to_be_bytes())))
        .collect();
    v.sort_by_key(|l| l.cid);
    SortedSet::new(v).unwrap()
}

/// A set upload below the floor is refused with `NoSpace`, leaves nothing staged or
/// committed, and the same upload succeeds once space returns.
#[test]
fn a_set_upload_below_the_floor_is_refused_and_leaves_nothing() {
    let mem = Arc::new(MemoryStore::new());
    let l = Ledger::create_with_store(mem.clone(), signer("example.org/log"), quick()).unwrap();
    let set = sorted_set(5000);
    mem.set_available_bytes(Some(1000));
    let mut w = l.set_writer();
    let mut refused = None;
    for leaf in set.leaves() {
        if let Err(e) = w.push(leaf) {
            refused = Some(e);
            break;
        }
    }
    let refused = match refused {
        Some(e) => e,
        None => w.commit(&set.root()).unwrap_err(),
    };
    assert!(
        matches!(
            refused,
            SetStoreError::NoSpace {
                available: 1000,
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(l.sets().info(&set.root()).unwrap(), None);
    for col in [
        ledger::store::Column::SetLeaves,
        ledger::store::Column::SetHashes,
        ledger::store::Column::SetRoots,
    ] {
        assert!(
            mem.range(col, &[], &[0xff; 32], 1).unwrap().is_empty(),
            "{col:?} holds records of a refused upload"
        );
    }
    mem.set_available_bytes(None);
    let mut w = l.set_writer();
    for leaf in set.leaves() {
        w.push(leaf).unwrap();
    }
    assert_eq!(w.commit(&set.root()).unwrap().size, TreeSize(5000));
}

/// Entries submitted already decoded (`submit_entry_with`, what the service does) and as bytes
/// share one batch: each writer gets its own outcome, a panicking validation of a decoded entry
/// fails it alone, and a decoded entry still meets the cross-entry rules (a replay is refused).
/// Guards the merge of the two kinds of submission in the sequencer's preparation step.
#[test]
fn decoded_and_byte_submissions_in_one_batch_keep_their_own_outcomes() {
    const N: u64 = 120;
    const MARKER: u64 = 61;
    let marker = entry(MARKER);
    let hook = {
        let marker = marker.clone();
        ValidateHook(Arc::new(move |bytes: &[u8]| {
            if bytes == marker.as_slice() {
                panic!("injected: validation bug on the marker entry");
            }
        }))
    };
    let config = SequencerConfig {
        max_delay: Duration::from_millis(500),
        validate_hook: Some(hook),
        ..Default::default()
    };
    let l = Ledger::create_with_store(
        Arc::new(MemoryStore::new()),
        signer("example.org/log"),
        config,
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    for i in 0..N {
        let tx = tx.clone();
        let reply = move |r| tx.send((i, r)).unwrap();
        if i % 2 == 1 {
            let decoded = ledger::entry::Entry::from_bytes(&entry(i)).unwrap();
            l.submit_entry_with(decoded, reply);
        } else {
            l.submit_with(entry(i), reply);
        }
    }
    let mut got: Vec<_> = (0..N).map(|_| rx.recv().unwrap()).collect();
    got.sort_by_key(|(i, _)| *i);
    assert_eq!(l.checkpoint().size(), TreeSize(N - 1));
    for (i, r) in got {
        if i == MARKER {
            let e = r.expect_err("the marker's validation panicked");
            assert!(matches!(e, SubmitError::ValidationPanicked), "{e:?}");
            continue;
        }
        let receipt = r.unwrap_or_else(|e| panic!("entry {i} failed with its neighbour: {e}"));
        assert_eq!(
            l.entry(receipt.index).unwrap(),
            Some(entry(i)),
            "writer {i} was answered with another entry's index"
        );
    }
    let again = ledger::entry::Entry::from_bytes(&entry(1)).unwrap();
    let e = l.submit_entry(again).expect_err("a replay");
    assert!(
        matches!(
            e,
            SubmitError::Rejected(ledger::store::index::Rejection::Replay(_))
        ),
        "{e:?}"
    );
}
