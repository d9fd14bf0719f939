//! A ledger directory on RocksDB: create vs open, refusals, and reopening.
#![cfg(feature = "rocksdb")]

use ledger::checkpoint::Checkpoint;
use ledger::ledger::{Ledger, LedgerError};
use ledger::types::{LeafIndex, TreeSize};

mod common;

#[test]
fn create_then_open_continues_the_same_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let l = Ledger::create(&dir, "example.org/log", Default::default()).unwrap();
    assert_eq!(l.checkpoint().size(), TreeSize(0));
    for i in 0..300 {
        l.submit(common::entry(i)).unwrap();
    }
    let before = l.checkpoint();
    let vkey = l.verifier_key().to_string();
    l.close();
    drop(l);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("ledger.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let l = Ledger::open(&dir, Default::default()).unwrap();
    assert_eq!(l.verifier_key().to_string(), vkey);
    assert_eq!(l.checkpoint().note, before.note);
    let r = l.submit(common::entry(1000)).unwrap();
    assert_eq!(r.index, LeafIndex(300));
    Checkpoint::verify(&r.checkpoint.note, l.verifier_key()).unwrap();
    assert_eq!(l.tile("tile/0/001.p/45").unwrap().len(), 45 * 32);
}

#[test]
fn create_refuses_a_non_empty_directory_and_open_refuses_a_non_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "hello").unwrap();
    let r = Ledger::create(tmp.path(), "example.org/log", Default::default());
    assert!(matches!(r, Err(LedgerError::NotEmpty(_))));
    let r = Ledger::open(tmp.path(), Default::default());
    assert!(matches!(r, Err(LedgerError::NotALedger { .. })));
    // Nothing was created by either.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    let r = Ledger::open(&tmp.path().join("missing"), Default::default());
    assert!(matches!(r, Err(LedgerError::NotALedger { .. })));
    assert!(!tmp.path().join("missing").exists());
}

#[test]
fn open_refuses_a_key_that_does_not_match() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let la = Ledger::create(&a, "example.org/log", Default::default()).unwrap();
    la.submit(common::entry(1)).unwrap();
    drop(la);
    drop(Ledger::create(&b, "example.org/log", Default::default()).unwrap());
    std::fs::copy(b.join("ledger.key"), a.join("ledger.key")).unwrap();
    let r = Ledger::open(&a, Default::default());
    assert!(matches!(r, Err(LedgerError::KeyMismatch(_))), "{r:?}");
}
