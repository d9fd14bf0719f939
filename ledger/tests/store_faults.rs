//! The failure table of the write path: every durable step of an append fails "before
//! persisting" (nothing written) and "after persisting" (written, but the caller is told it
//! failed), plus a full disk. In every row: the writers of the failed batch are not acknowledged,
//! the sequencer refuses every later entry and signs nothing more until reopened, nothing
//! acknowledged is lost, and the reopened ledger covers whatever did persist and continues.

use std::sync::{Arc, Mutex};

use ledger::checkpoint::Checkpoint;
use ledger::ledger::Ledger;
use ledger::sequencer::{SequencerConfig, SubmitError};
use ledger::store::log;
use ledger::store::{Column, Durability, LogStore, MemoryStore, Record, StoreError, WriteBatch};
use ledger::types::{LeafIndex, TreeSize};

mod common;
use common::{entry, signer};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// The write returns an I/O error and nothing is applied.
    Before,
    /// The write is applied, then an I/O error is returned (e.g. fsync reported failure).
    After,
    /// The disk is full: nothing is applied.
    Full,
}

/// A store that fails its `n`-th synced write from now.
struct FaultyStore {
    inner: Arc<MemoryStore>,
    plan: Mutex<Option<(usize, Fault)>>,
}

impl FaultyStore {
    fn arm(&self, nth: usize, fault: Fault) {
        *self.plan.lock().expect("plan lock") = Some((nth, fault));
    }
}

impl LogStore for FaultyStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(col, key)
    }
    fn range(
        &self,
        col: Column,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.inner.range(col, start, end, limit)
    }
    fn last_in_range(
        &self,
        col: Column,
        start: &[u8],
        end: &[u8],
    ) -> Result<Option<Record>, StoreError> {
        self.inner.last_in_range(col, start, end)
    }
    fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), StoreError> {
        let Ok(mut plan) = self.plan.lock() else {
            return Err(StoreError::Poisoned);
        };
        let fire = match plan.as_mut() {
            Some((n, f)) if durability == Durability::Synced => {
                if *n == 0 {
                    let f = *f;
                    *plan = None;
                    Some(f)
                } else {
                    *n -= 1;
                    None
                }
            }
            _ => None,
        };
        drop(plan);
        match fire {
            None => self.inner.write(batch, durability),
            Some(Fault::Before) => Err(StoreError::Io(std::io::Error::other(
                "injected: before persisting",
            ))),
            Some(Fault::Full) => Err(std::io::Error::from(std::io::ErrorKind::StorageFull).into()),
            Some(Fault::After) => {
                self.inner.write(batch, durability)?;
                Err(StoreError::Io(std::io::Error::other(
                    "injected: after persisting",
                )))
            }
        }
    }
    fn sync(&self) -> Result<(), StoreError> {
        self.inner.sync()
    }
}

fn config() -> SequencerConfig {
    SequencerConfig {
        max_delay: std::time::Duration::from_millis(1),
        ..Default::default()
    }
}

/// The durable steps of one append, in order: 0 = the batch (entries, hashes, indexes, size),
/// 1 = the checkpoint.
const STEPS: [&str; 2] = ["batch", "checkpoint"];

#[test]
fn failure_table_for_every_durable_step_of_an_append() {
    for (step, step_name) in STEPS.iter().enumerate() {
        for fault in [Fault::Before, Fault::After, Fault::Full] {
            let row = format!("step {step_name}, fault {fault:?}");
            let mem = Arc::new(MemoryStore::new());
            let faulty = Arc::new(FaultyStore {
                inner: mem.clone(),
                plan: Mutex::new(None),
            });
            let l = Ledger::create_with_store(faulty.clone(), signer("example.org/log"), config())
                .unwrap();
            let mut acked = Vec::new();
            for i in 0..5 {
                let e = entry(i);
                acked.push((l.submit(e.clone()).unwrap().index, e));
            }
            let before = l.checkpoint();
            faulty.arm(step, fault);
            let failed = l.submit(entry(100));
            assert!(
                matches!(failed, Err(SubmitError::Fatal(_))),
                "{row}: {failed:?}"
            );
            // Stopped: nothing more is accepted or signed until reopened.
            let later = l.submit(entry(101));
            assert!(
                matches!(later, Err(SubmitError::Fatal(_))),
                "{row}: {later:?}"
            );
            assert!(l.fatal().is_some(), "{row}");
            assert_eq!(
                l.checkpoint().note,
                before.note,
                "{row}: signed after a failure"
            );
            l.close();
            drop(l);

            // Reopen on what persisted.
            let l = Ledger::open_with_store(mem.clone(), signer("example.org/log"), config())
                .unwrap_or_else(|e| panic!("{row}: reopen: {e}"));
            for (i, e) in &acked {
                assert_eq!(l.entry(*i).unwrap().as_ref(), Some(e), "{row}: lost {i}");
            }
            let persisted = fault == Fault::After || step > 0;
            let want = if persisted { 6 } else { 5 };
            assert_eq!(l.checkpoint().size(), TreeSize(want), "{row}");
            if persisted {
                assert_eq!(l.entry(LeafIndex(5)).unwrap(), Some(entry(100)), "{row}");
            }
            let cp = Checkpoint::verify(&l.checkpoint().note, l.verifier_key()).unwrap();
            assert_eq!(log::tree_hash(&*mem, cp.size).unwrap(), cp.root, "{row}");
            // The checkpoint handed out before the failure is consistent with the new tree.
            assert_eq!(
                log::tree_hash(&*mem, before.size()).unwrap(),
                before.checkpoint.root,
                "{row}"
            );
            let r = l.submit(entry(102)).unwrap();
            assert_eq!(r.index, LeafIndex(want), "{row}");
        }
    }
}

#[test]
fn a_failed_checkpoint_write_at_open_refuses_to_start_and_a_retry_recovers() {
    let mem = Arc::new(MemoryStore::new());
    let faulty = Arc::new(FaultyStore {
        inner: mem.clone(),
        plan: Mutex::new(None),
    });
    let l = Ledger::create_with_store(faulty.clone(), signer("example.org/log"), config()).unwrap();
    l.submit(entry(1)).unwrap();
    faulty.arm(1, Fault::Before); // the batch persists, its checkpoint does not
    assert!(matches!(l.submit(entry(2)), Err(SubmitError::Fatal(_))));
    l.close();
    drop(l);
    // Opening must sign a checkpoint for entry 2; that write fails too.
    faulty.arm(0, Fault::Full);
    let r = Ledger::open_with_store(faulty.clone(), signer("example.org/log"), config());
    assert!(r.is_err());
    let l = Ledger::open_with_store(faulty, signer("example.org/log"), config()).unwrap();
    assert_eq!(l.checkpoint().size(), TreeSize(2));
    assert_eq!(l.entry(LeafIndex(1)).unwrap(), Some(entry(2)));
}

#[test]
fn a_failed_set_commit_leaves_no_set() {
    let mem = Arc::new(MemoryStore::new());
    let faulty = Arc::new(FaultyStore {
        inner: mem.clone(),
        plan: Mutex::new(None),
    });
    let l = Ledger::create_with_store(faulty.clone(), signer("example.org/log"), config()).unwrap();
    let leaves: Vec<_> = (0..1000u64)
        .map(|i| ledger::set::SetLeaf::id_only(ledger::types::ContentId::of(&i.to_be_bytes())))
        .collect();
    let set = ledger::set::SortedSet::new({
        let mut v = leaves.clone();
        v.sort_by_key(|l| l.cid);
        v
    })
    .unwrap();
    let mut w = l.set_writer();
    for leaf in set.leaves() {
        w.push(leaf).unwrap();
    }
    faulty.arm(0, Fault::Before);
    assert!(w.commit(&set.root()).is_err());
    assert_eq!(l.sets().info(&set.root()).unwrap(), None);
    // The ledger's log is unaffected: set uploads are not the sequencer's writes.
    l.submit(entry(1)).unwrap();
    let mut w = l.set_writer();
    for leaf in set.leaves() {
        w.push(leaf).unwrap();
    }
    let info = w.commit(&set.root()).unwrap();
    assert_eq!(info.size, TreeSize(1000));
}

/// The failure table of a manifest upload with metadata (issue 13): its one durable step, the
/// commit batch (root, marker, statistics, source tree record, scratch deletion), fails before
/// and after persisting. Before: nothing is visible, and reopening deletes every staged record
/// (leaves, hashes, metadata, source tree, scratch). After: the set is whole, with its metadata
/// and source tree, and no scratch is left.
#[test]
fn failure_table_of_a_commit_with_metadata() {
    use ledger::store::sets::SetStore;
    let count = |mem: &MemoryStore, col: Column| {
        mem.range(col, &[], &[0xff; 64], usize::MAX)
            .map(|r| r.len())
            .unwrap_or(usize::MAX)
    };
    let mut items: Vec<(ledger::set::SetLeaf, Vec<u8>)> = (0..700u64)
        .map(|i| {
            let meta = format!(
                r#"{{"sources":[{{"path":"p","source":"https://h{}.example/{i}"}}]}}"#,
                i % 3
            )
            .into_bytes();
            let leaf = ledger::set::SetLeaf {
                cid: ledger::types::ContentId::of(&i.to_be_bytes()),
                size: 1,
                meta: ledger::Digest(*blake3::hash(&meta).as_bytes()),
            };
            (leaf, meta)
        })
        .collect();
    items.sort_by_key(|(l, _)| l.cid);
    let root = ledger::set::SortedSet::new(items.iter().map(|(l, _)| *l).collect())
        .unwrap()
        .root();
    for fault in [Fault::Before, Fault::After, Fault::Full] {
        let mem = Arc::new(MemoryStore::new());
        let faulty = Arc::new(FaultyStore {
            inner: mem.clone(),
            plan: Mutex::new(None),
        });
        let store = SetStore::open(faulty.clone()).unwrap();
        let mut w = store.writer();
        for (leaf, meta) in &items {
            w.push_with_meta(leaf, meta).unwrap();
        }
        faulty.arm(0, fault);
        assert!(w.commit(&root).is_err(), "{fault:?}");
        let reopened = SetStore::open(mem.clone()).unwrap();
        match fault {
            Fault::Before | Fault::Full => {
                assert_eq!(reopened.info(&root).unwrap(), None, "{fault:?}");
                for col in [
                    Column::SetLeaves,
                    Column::SetHashes,
                    Column::SetMeta,
                    Column::SourceScratch,
                    Column::RangeLeaves,
                    Column::RangeHashes,
                    Column::RangeRoots,
                ] {
                    assert_eq!(count(&mem, col), 0, "{fault:?} {col:?}");
                }
            }
            Fault::After => {
                assert!(reopened.has_meta(&root).unwrap());
                let (tree, sroot, _) = reopened.source_tree(&root).unwrap().unwrap();
                assert_eq!(tree.root().unwrap(), sroot);
                assert_eq!(count(&mem, Column::SourceScratch), 0);
                assert_eq!(count(&mem, Column::SetMeta), 700);
            }
        }
    }
}

/// The failure table of a passage-tree upload (issue 14): its one durable step, the commit batch
/// (marker, root record, stored time), fails before and after persisting, and on a full disk.
/// Before (or full): nothing is visible, and reopening the set store deletes every staged
/// record. After: the tree is whole and proves like the in-memory tree.
#[test]
fn failure_table_of_a_passage_tree_commit() {
    use ledger::range::{RangeLeaf, RangeTree};
    use ledger::store::sets::SetStore;
    use ledger::types::ContentId;
    let count = |mem: &MemoryStore, col: Column| {
        mem.range(col, &[], &[0xff; 64], usize::MAX)
            .expect("range")
            .len()
    };
    let tree = RangeTree::from_unsorted(
        (0..3000u64)
            .map(|i| {
                RangeLeaf::passage(
                    &ContentId::of(&i.to_be_bytes()),
                    &ContentId::of(&(i / 7).to_be_bytes()),
                )
            })
            .collect(),
    );
    for fault in [Fault::Before, Fault::After, Fault::Full] {
        let mem = Arc::new(MemoryStore::new());
        let faulty = Arc::new(FaultyStore {
            inner: mem.clone(),
            plan: Mutex::new(None),
        });
        let sets = SetStore::open(faulty.clone()).expect("open");
        let mut w = sets.passage_writer();
        for leaf in tree.leaves() {
            w.push(leaf).expect("push");
        }
        faulty.arm(0, fault);
        assert!(w.commit(&tree.root()).is_err(), "{fault:?}");
        let reopened = SetStore::open(mem.clone()).expect("reopen");
        match fault {
            Fault::Before | Fault::Full => {
                assert_eq!(reopened.passage_info(&tree.root()).expect("info"), None);
                assert_eq!(count(&mem, Column::RangeLeaves), 0, "{fault:?}");
                assert_eq!(count(&mem, Column::RangeHashes), 0, "{fault:?}");
            }
            Fault::After => {
                let (stored, info) = reopened
                    .passage_tree(&tree.root())
                    .expect("tree")
                    .expect("committed");
                assert_eq!(info.size, TreeSize(3000));
                assert_eq!(stored.root().expect("root"), tree.root());
                assert_eq!(count(&mem, Column::RangeLeaves), 12);
            }
        }
    }
}
