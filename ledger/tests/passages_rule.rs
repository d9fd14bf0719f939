//! The passage rules (issue 14) against attacks, on a real RocksDB ledger: a `dataset_version`
//! or `optout` naming `passages` is accepted only if a passage tree is stored with exactly that
//! root and size; only a signed opt-out may name passages, and at most `max_optout_passages`;
//! a tree named by a logged entry is never collected.
#![allow(clippy::unwrap_used)] // test helpers: a failure is the test's
#![cfg(feature = "rocksdb")]

use ed25519_dalek::SigningKey;
use ledger::entry::{
    CorpusMode, DatasetVersion, Entry, EntryBody, OptOut, OptOutIds, Scope, SetRef,
};
use ledger::ledger::Ledger;
use ledger::range::{RangeLeaf, RangeTree};
use ledger::sequencer::{SequencerConfig, SubmitError};
use ledger::store::index::Rejection;
use ledger::types::ContentId;

mod common;
use common::{key, name, now, publisher, stored_set, LOG};

/// A passage tree of `n` leaves (`pid || cid`, `cid` the work's).
fn tree(n: u64, salt: u64) -> RangeTree {
    let work = ContentId::of(&salt.to_be_bytes());
    RangeTree::from_unsorted(
        (0..n)
            .map(|i| {
                let pid = ContentId::of(&[i.to_be_bytes(), salt.to_be_bytes()].concat());
                RangeLeaf::passage(&pid, &work)
            })
            .collect(),
    )
}

fn store_tree(l: &Ledger, t: &RangeTree) -> SetRef {
    let mut w = l.passage_writer();
    for leaf in t.leaves() {
        w.push(leaf).unwrap();
    }
    let info = w.commit(&t.root()).unwrap();
    SetRef {
        root: info.root,
        size: info.size.0,
    }
}

fn ledger_with(config: SequencerConfig) -> (Ledger, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::create(&dir.path().join("l"), LOG, config).unwrap();
    let k = key(1);
    l.submit(publisher("acme", &k, &k)).unwrap();
    (l, dir)
}

fn version(l: &Ledger, v: &str, passages: Option<SetRef>) -> Vec<u8> {
    let (root, count) = stored_set(l, 20, v.len() as u64);
    let body = EntryBody::DatasetVersion(DatasetVersion {
        publisher: name("acme"),
        dataset: name("web"),
        version: name(v),
        manifest_root: root,
        item_count: count,
        total_bytes: count * 1000,
        corpus_mode: CorpusMode::JsonLines {
            field: "text".into(),
        },
        licence: "CC-BY-4.0".into(),
        previous: None,
        sources: None,
        passages,
    });
    Entry::sign(LOG, body, now(), None, &key(1))
        .unwrap()
        .as_bytes()
        .to_vec()
}

fn optout(passages: SetRef, by: Option<&SigningKey>) -> Vec<u8> {
    let o = OptOut {
        ids: Some(OptOutIds::Inline(vec![ContentId::of(b"the work")])),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: Some(passages),
    };
    let e = match by {
        Some(k) => Entry::sign(LOG, EntryBody::OptOut(o), now(), Some(1), k),
        None => Entry::anonymous(LOG, o, now(), Some(1)),
    };
    e.unwrap().as_bytes().to_vec()
}

fn rejection(r: Result<ledger::sequencer::Receipt, SubmitError>) -> Rejection {
    match r {
        Err(SubmitError::Rejected(why)) => why,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn dataset_version_naming_unstored_passage_tree_is_refused() {
    let (l, _dir) = ledger_with(Default::default());
    // A tree nobody uploaded: its proofs could not be served, and nothing checked it sorted.
    let never_stored = tree(100, 1);
    let claim = SetRef {
        root: never_stored.root(),
        size: 100,
    };
    let r = rejection(l.submit(version(&l, "1", Some(claim))));
    assert!(
        matches!(r, Rejection::PassagesNotStored { stored: None, .. }),
        "{r:?}"
    );
    // Once stored, the same claim is accepted and indexed as naming the tree.
    let stored = store_tree(&l, &never_stored);
    assert_eq!(stored, claim);
    l.submit(version(&l, "1", Some(claim))).unwrap();
    assert!(l.passages_is_named(&claim.root).unwrap());
}

#[test]
fn passage_tree_stored_with_another_size_is_refused() {
    let (l, _dir) = ledger_with(Default::default());
    let t = tree(300, 2);
    let stored = store_tree(&l, &t);
    for size in [299, 301, 3000] {
        let claim = SetRef {
            root: stored.root,
            size,
        };
        let r = rejection(l.submit(version(&l, "1", Some(claim))));
        assert!(
            matches!(r, Rejection::PassagesNotStored { stored: Some(300), claimed, .. } if claimed == size),
            "{r:?}"
        );
        let r = rejection(l.submit(optout(claim, Some(&key(1)))));
        assert!(matches!(r, Rejection::PassagesNotStored { .. }), "{r:?}");
    }
    // A set (not a passage tree) with that root does not count either.
    let (set_root, set_size) = stored_set(&l, 5, 77);
    let claim = SetRef {
        root: set_root,
        size: set_size,
    };
    let r = rejection(l.submit(version(&l, "2", Some(claim))));
    assert!(matches!(r, Rejection::PassagesNotStored { .. }), "{r:?}");
    l.submit(version(&l, "3", Some(stored))).unwrap();
}

#[test]
fn optout_naming_unstored_passage_tree_is_refused() {
    let (l, _dir) = ledger_with(Default::default());
    let t = tree(10, 3);
    let claim = SetRef {
        root: t.root(),
        size: 10,
    };
    let r = rejection(l.submit(optout(claim, Some(&key(2)))));
    assert!(matches!(r, Rejection::PassagesNotStored { .. }), "{r:?}");
    store_tree(&l, &t);
    l.submit(optout(claim, Some(&key(2)))).unwrap();
    assert!(l.passages_is_named(&claim.root).unwrap());
}

#[test]
fn anonymous_optout_with_passages_is_refused() {
    let (l, _dir) = ledger_with(Default::default());
    let t = tree(10, 4);
    let stored = store_tree(&l, &t);
    // Anyone could otherwise make every compliance bundle carry trees of their choosing.
    let r = rejection(l.submit(optout(stored, None)));
    assert_eq!(r, Rejection::AnonymousPassages);
    assert!(!l.passages_is_named(&stored.root).unwrap());
    // Signed, it is accepted.
    l.submit(optout(stored, Some(&key(3)))).unwrap();
}

#[test]
fn optout_passage_tree_over_limit_is_refused() {
    assert_eq!(
        SequencerConfig::default().max_optout_passages,
        ledger::entry::MAX_OPTOUT_PASSAGES
    );
    let (l, _dir) = ledger_with(SequencerConfig {
        max_optout_passages: 10,
        ..SequencerConfig::default()
    });
    let big = store_tree(&l, &tree(11, 5));
    let r = rejection(l.submit(optout(big, Some(&key(2)))));
    assert_eq!(r, Rejection::OptOutPassagesTooLarge { size: 11, max: 10 });
    let fits = store_tree(&l, &tree(10, 6));
    l.submit(optout(fits, Some(&key(2)))).unwrap();
    // A dataset version's tree has no such limit.
    l.submit(version(&l, "1", Some(big))).unwrap();
}

#[test]
fn passage_trees_named_by_entries_are_never_collected() {
    let (l, _dir) = ledger_with(Default::default());
    let by_version = store_tree(&l, &tree(300, 7));
    let by_optout = store_tree(&l, &tree(20, 8));
    let unnamed = store_tree(&l, &tree(5, 9));
    l.submit(version(&l, "1", Some(by_version))).unwrap();
    l.submit(optout(by_optout, Some(&key(4)))).unwrap();
    let c = l
        .collect_unnamed_passages(std::time::Duration::ZERO)
        .unwrap();
    assert_eq!(c.removed, vec![unnamed.root]);
    assert_eq!(c.named, 2);
    for kept in [by_version, by_optout] {
        let (t, info) = l.sets().passage_tree(&kept.root).unwrap().unwrap();
        assert_eq!(info.size.0, kept.size);
        assert_eq!(t.root().unwrap(), kept.root);
    }
    assert_eq!(l.sets().passage_info(&unnamed.root).unwrap(), None);
    // Found named once, they are never looked at again.
    let c = l
        .collect_unnamed_passages(std::time::Duration::ZERO)
        .unwrap();
    assert_eq!(c, Default::default());
}
