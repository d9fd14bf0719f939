//! The set store: streaming ingest with its checks, proofs from stored sets, and crash cleanup.

use std::sync::Arc;

use ledger::ledger::Ledger;
use ledger::set::{self, Membership, SetLeaf, SetMembershipProof, SetSource, SortedSet};
use ledger::store::sets::{SetStore, SetStoreError};
use ledger::store::{Column, Durability, LogStore, MemoryStore, Record, StoreError, WriteBatch};
use ledger::types::{ContentId, Digest, LeafIndex, TreeSize};

mod common;

fn sorted_leaves(n: u64, salt: u64) -> Vec<SetLeaf> {
    let mut v: Vec<SetLeaf> = (0..n)
        .map(|i| SetLeaf {
            cid: ContentId::of(&(i * 2 + salt).to_be_bytes()),
            size: i,
            meta: Digest([i as u8; 32]),
        })
        .collect();
    v.sort_by_key(|l| l.cid);
    v
}

fn upload(store: &SetStore, leaves: &[SetLeaf], split: usize) -> Result<Digest, SetStoreError> {
    let root = SortedSet::new(leaves.to_vec()).map_or(Digest([0; 32]), |s| s.root());
    let mut w = store.writer();
    let bytes: Vec<u8> = leaves.iter().flat_map(|l| l.to_bytes()).collect();
    for chunk in bytes.chunks(split) {
        w.push_bytes(chunk)?;
    }
    w.commit(&root)?;
    Ok(root)
}

#[test]
fn stored_sets_prove_like_in_memory_sets_at_every_size() {
    let mem: Arc<dyn LogStore> = Arc::new(MemoryStore::new());
    let store = SetStore::open(mem).unwrap();
    for n in [0u64, 1, 2, 3, 255, 256, 257, 511, 1000, 65_536 + 300] {
        let leaves = sorted_leaves(n, 0);
        let set = SortedSet::new(leaves.clone()).unwrap();
        let root = upload(&store, &leaves, 1000).unwrap();
        let src = store.source(&root).unwrap();
        assert_eq!(src.size(), TreeSize(n));
        assert_eq!(src.root().unwrap(), set.root(), "n={n}");
        let probes: Vec<u64> = [0, 1, n / 2, n.saturating_sub(1), 255, 256, 300]
            .into_iter()
            .filter(|&i| i < n)
            .collect();
        for i in probes {
            let got = set::inclusion_proof_at(&src, LeafIndex(i)).unwrap();
            assert_eq!(
                got,
                set::inclusion_proof_at(&set, LeafIndex(i)).unwrap(),
                "n={n} i={i}"
            );
            set::verify_inclusion(&got, &leaves[i as usize].cid, &set.root(), set.size()).unwrap();
        }
        // Absent ids: before the first, between, after the last.
        for salt in [1u64, 3, 5, 7] {
            let x = ContentId::of(&salt.to_be_bytes());
            let p = set::membership_proof(&src, &x).unwrap();
            assert_eq!(p, set::membership_proof(&set, &x).unwrap(), "n={n}");
            assert!(matches!(p, SetMembershipProof::Excluded(_)));
            let verified = match &p {
                SetMembershipProof::Excluded(e) => {
                    set::verify_exclusion(e, &x, &set.root(), set.size())
                        .map(|()| Membership::Excluded)
                }
                SetMembershipProof::Included(_) => unreachable!(),
            };
            assert!(matches!(verified, Ok(Membership::Excluded)));
        }
    }
}

#[test]
fn ingest_refuses_unsorted_duplicate_partial_and_wrong_root() {
    let mem: Arc<dyn LogStore> = Arc::new(MemoryStore::new());
    let store = SetStore::open(mem).unwrap();
    let leaves = sorted_leaves(600, 0);
    let mut swapped = leaves.clone();
    swapped.swap(300, 301);
    assert!(matches!(
        upload(&store, &swapped, 72),
        Err(SetStoreError::Invalid(set::SetError::NotSorted {
            index: 301
        }))
    ));
    let mut dup = leaves.clone();
    dup[10] = dup[9];
    let mut w = store.writer();
    let r = dup.iter().try_for_each(|l| w.push(l));
    assert!(matches!(
        r,
        Err(SetStoreError::Invalid(set::SetError::Duplicate {
            index: 10
        }))
    ));
    let mut w = store.writer();
    w.push_bytes(&leaves[0].to_bytes()[..50]).unwrap();
    assert!(matches!(
        w.commit(&Digest([0; 32])),
        Err(SetStoreError::PartialLeaf(50))
    ));
    let mut w = store.writer();
    for l in &leaves {
        w.push(l).unwrap();
    }
    let wrong = Digest([1; 32]);
    assert!(matches!(
        w.commit(&wrong),
        Err(SetStoreError::RootMismatch { .. })
    ));
    assert_eq!(store.info(&wrong).unwrap(), None);
    // Uploading the same set twice returns the stored one.
    let a = upload(&store, &leaves, 4096).unwrap();
    let b = upload(&store, &leaves, 7).unwrap();
    assert_eq!(a, b);
}

#[test]
fn staged_records_of_an_unfinished_upload_are_deleted_at_open() {
    let mem = Arc::new(MemoryStore::new());
    let store = SetStore::open(mem.clone()).unwrap();
    let leaves = sorted_leaves(20_000, 0); // enough for the writer to stage records
    let kept = upload(&store, &sorted_leaves(300, 1), 100).unwrap();
    let mut w = store.writer();
    for l in &leaves {
        w.push(l).unwrap();
    }
    // A crash: the writer never commits and never runs its destructor.
    std::mem::forget(w);
    let count = |c| mem.range(c, &[], &[0xff; 18], usize::MAX).unwrap().len();
    let staged = count(ledger::store::Column::SetLeaves);
    assert!(staged > 3, "{staged}");
    let store = SetStore::open(mem.clone()).unwrap();
    assert_eq!(
        count(ledger::store::Column::SetLeaves),
        2,
        "only the committed set's records"
    );
    assert!(store
        .contains(&kept, &sorted_leaves(300, 1)[7].cid)
        .unwrap());
    // The next upload gets a fresh id and works.
    upload(&store, &leaves, 999).unwrap();
}

#[test]
fn dataset_versions_containing_a_cid_come_from_stored_manifests() {
    let l = Ledger::create_with_store(
        Arc::new(MemoryStore::new()),
        common::signer("example.org/log"),
        Default::default(),
    )
    .unwrap();
    let k = common::key(1);
    l.submit(common::publisher("acme", &k, &k)).unwrap();
    let a = sorted_leaves(1000, 0);
    let b = sorted_leaves(10, 0);
    let ra = upload(l.sets(), &a, 512).unwrap();
    let rb = upload(l.sets(), &b, 512).unwrap();
    let va = l
        .submit(common::dataset_version(
            "acme", "web", "v1", ra, 1000, &k, 0,
        ))
        .unwrap();
    let vb = l
        .submit(common::dataset_version("acme", "web", "v2", rb, 10, &k, 0))
        .unwrap();
    let x = b[3].cid; // in both
    assert_eq!(
        l.dataset_versions_containing(&x).unwrap(),
        vec![va.index, vb.index]
    );
    let only_a = a.iter().find(|leaf| !b.contains(leaf)).unwrap().cid;
    assert_eq!(
        l.dataset_versions_containing(&only_a).unwrap(),
        vec![va.index]
    );
    let nowhere = ContentId::of(b"nowhere");
    assert_eq!(l.dataset_versions_containing(&nowhere).unwrap(), vec![]);
    let p = l.set_proof(&ra, &only_a).unwrap();
    assert!(matches!(p, SetMembershipProof::Included(_)));
}

/// A real in-memory store whose root lookups are slow, as on a busy disk: it widens the window
/// between a commit's "is this root already stored?" and its write, so a race shows every time.
struct SlowRootLookups(MemoryStore);

impl LogStore for SlowRootLookups {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if col == Column::SetRoots {
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
        self.0.get(col, key)
    }
    fn range(
        &self,
        col: Column,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.0.range(col, start, end, limit)
    }
    fn last_in_range(
        &self,
        col: Column,
        start: &[u8],
        end: &[u8],
    ) -> Result<Option<Record>, StoreError> {
        self.0.last_in_range(col, start, end)
    }
    fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), StoreError> {
        self.0.write(batch, durability)
    }
    fn sync(&self) -> Result<(), StoreError> {
        self.0.sync()
    }
}

/// Regression: uploads of one set committed at the same moment all get the one stored set, and
/// the others' records are discarded rather than left orphaned (both used to pass the "already
/// stored?" check, and the second commit re-pointed the root at its own records).
#[test]
fn concurrent_commits_of_one_set_store_it_once() {
    let count =
        |mem: &Arc<dyn LogStore>, col| mem.range(col, &[], &[0xff; 32], usize::MAX).unwrap().len();
    let leaves = sorted_leaves(3000, 7);
    let root = SortedSet::new(leaves.clone()).unwrap().root();
    let bytes: Vec<u8> = leaves.iter().flat_map(|l| l.to_bytes()).collect();

    let one: Arc<dyn LogStore> = Arc::new(MemoryStore::new());
    upload(&SetStore::open(one.clone()).unwrap(), &leaves, 4096).unwrap();

    let mem: Arc<dyn LogStore> = Arc::new(SlowRootLookups(MemoryStore::new()));
    let store = SetStore::open(mem.clone()).unwrap();
    // Every writer is filled first, then all commit at once behind a barrier.
    let barrier = std::sync::Barrier::new(4);
    let infos: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let mut w = store.writer();
                w.push_bytes(&bytes).unwrap();
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    w.commit(&root).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(infos.iter().all(|i| *i == infos[0]), "{infos:?}");
    assert_eq!(store.info(&root).unwrap(), Some(infos[0]));
    for col in [
        Column::SetRoots,
        Column::SetLeaves,
        Column::SetHashes,
        Column::Meta,
    ] {
        assert_eq!(count(&mem, col), count(&one, col), "{col:?}");
    }
}

/// Issue 11: a stranger's upload that no entry ever names must not stay forever; a set that an
/// entry names must stay forever, however old.
#[test]
fn unnamed_sets_are_collected_and_named_ones_kept() {
    // No fixture sets: every set here is one this test decides about.
    let l = common::bare_memory_ledger();
    let k = common::key(1);
    l.submit(common::publisher("acme", &k, &k)).unwrap();
    let named = upload(l.sets(), &sorted_leaves(300, 0), 1000).unwrap();
    let unnamed = upload(l.sets(), &sorted_leaves(5, 1), 1000).unwrap();
    let entry = common::dataset_version("acme", "web", "1", named, 300, &k, 0);
    l.submit(entry).unwrap();
    // An opt-out set, named by an opt-out entry.
    let optout_set = upload(l.sets(), &sorted_leaves(70, 2), 1000).unwrap();
    let optout = ledger::entry::OptOut {
        ids: Some(ledger::entry::OptOutIds::Set {
            root: optout_set,
            size: 70,
        }),
        sites: vec![],
        scope: vec![ledger::entry::Scope::TrainAi],
        passages: None,
    };
    // Signed: an anonymous opt-out may not name a set.
    let optout = ledger::entry::Entry::sign(
        common::LOG,
        ledger::entry::EntryBody::OptOut(optout),
        common::now(),
        Some(1),
        &k,
    )
    .unwrap();
    l.submit(optout.as_bytes().to_vec()).unwrap();
    assert!(l.set_is_named(&named).unwrap());
    assert!(l.set_is_named(&optout_set).unwrap());
    assert!(!l.set_is_named(&unnamed).unwrap());

    // Not old enough yet: nothing goes.
    let c = l
        .collect_unnamed_sets(std::time::Duration::from_secs(3600))
        .unwrap();
    assert_eq!(c, Default::default());
    assert!(l.sets().info(&unnamed).unwrap().is_some());

    // A short collect_after: the unnamed set goes, every record of it; the named one stays.
    let c = l.collect_unnamed_sets(std::time::Duration::ZERO).unwrap();
    assert_eq!(c.removed, vec![unnamed]);
    assert_eq!(c.named, 2);
    assert!(l.sets().info(&optout_set).unwrap().is_some());
    assert_eq!(l.sets().info(&unnamed).unwrap(), None);
    assert!(matches!(
        l.sets().leaves(&unnamed, 0, 1),
        Err(SetStoreError::UnknownSet(_))
    ));
    let info = l.sets().info(&named).unwrap().unwrap();
    assert_eq!(info.size, TreeSize(300));
    assert_eq!(
        l.sets().source(&named).unwrap().root().unwrap(),
        named,
        "the named set reads back whole"
    );
    // Only the named sets' records are left.
    let optout_id = l.sets().info(&optout_set).unwrap().unwrap().id;
    let leaves = l
        .store()
        .range(Column::SetLeaves, &[], &[0xff; 17], usize::MAX)
        .unwrap();
    let ids = [info.id.to_be_bytes(), optout_id.to_be_bytes()];
    assert!(leaves
        .iter()
        .all(|(k, _)| ids.iter().any(|id| k[..8] == id[..])));
    assert_eq!(leaves.len(), 3, "300 leaves in records of 256, and 70");
    // Found named once, it is never looked at again; a later pass removes nothing.
    let c = l.collect_unnamed_sets(std::time::Duration::ZERO).unwrap();
    assert_eq!(c, Default::default());
    assert!(l.sets().info(&named).unwrap().is_some());
    // A collected set can be uploaded again.
    assert_eq!(upload(l.sets(), &sorted_leaves(5, 1), 7).unwrap(), unnamed);
    assert!(l.sets().info(&unnamed).unwrap().is_some());
}

/// Uploading an already stored set again restarts its collection clock: the uploader is about
/// to name it.
#[test]
fn uploading_a_stored_set_again_refreshes_its_stored_time() {
    let mem: Arc<dyn LogStore> = Arc::new(MemoryStore::new());
    let store = SetStore::open(mem).unwrap();
    let leaves = sorted_leaves(10, 3);
    let root = SortedSet::new(leaves.clone()).unwrap().root();
    let commit = |t: u64| {
        let mut w = store.writer();
        for l in &leaves {
            w.push(l).unwrap();
        }
        w.commit_at(&root, t).unwrap()
    };
    commit(1000);
    commit(5000);
    let never = |_: &Digest| Ok(false);
    assert_eq!(store.collect_unnamed(4999, never).unwrap().removed, vec![]);
    assert_eq!(
        store.collect_unnamed(5000, never).unwrap().removed,
        vec![root]
    );
}

/// Issue 11: sets that a version without stored-time records wrote (the v1 fixture) have no
/// record, and collection never deletes them, named or not.
#[cfg(feature = "rocksdb")]
#[test]
fn sets_stored_before_upgrade_are_never_collected() {
    fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let dest = to.join(p.file_name().unwrap());
            if p.is_dir() {
                copy_tree(&p, &dest);
            } else {
                std::fs::copy(&p, &dest).unwrap();
            }
        }
    }
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("testdata/ledger-dir-v1");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    copy_tree(&fixture, &dir);
    let l = Ledger::open(&dir, Default::default()).unwrap();
    let roots = |l: &Ledger| -> Vec<(Vec<u8>, Vec<u8>)> {
        l.store()
            .range(Column::SetRoots, &[], &[0xff; 33], usize::MAX)
            .unwrap()
    };
    let before = roots(&l);
    assert!(before.len() >= 2, "the fixture stores sets");
    let unnamed_old = before
        .iter()
        .map(|(k, _)| Digest::from_slice(k).unwrap())
        .filter(|r| !l.set_is_named(r).unwrap())
        .count();
    // A set stored now and named by nothing: collection does run.
    let fresh = upload(l.sets(), &sorted_leaves(3, 99), 1000).unwrap();
    let c = l.collect_unnamed_sets(std::time::Duration::ZERO).unwrap();
    assert_eq!(c.removed, vec![fresh]);
    assert_eq!(
        roots(&l),
        before,
        "{unnamed_old} unnamed old set(s) kept too"
    );
    for (k, _) in &before {
        let root = Digest::from_slice(k).unwrap();
        assert_eq!(l.sets().source(&root).unwrap().root().unwrap(), root);
    }
    drop(l);
    // And after reopening.
    let l = Ledger::open(&dir, Default::default()).unwrap();
    l.collect_unnamed_sets(std::time::Duration::ZERO).unwrap();
    assert_eq!(roots(&l), before);
}

/// One `StoredSet` kept open for many proofs (a monitor, an auditor, a batch of checks) holds a
/// bounded number of records, whatever the set's size: it used to keep every record it read.
#[test]
fn a_stored_set_kept_open_for_many_proofs_keeps_a_bounded_cache() {
    let mem: Arc<dyn LogStore> = Arc::new(MemoryStore::new());
    let store = SetStore::open(mem).unwrap();
    // 2,100 leaf records of 256: more than the bound (1,024 of each kind) twice over.
    let n = 2_100 * 256;
    let leaves = sorted_leaves(n, 0);
    let root = upload(&store, &leaves, 100_000).unwrap();
    let src = store.source(&root).unwrap();
    let mut most = 0;
    for chunk in 0..2_100u64 {
        let i = chunk * 256 + (chunk * 7) % 256;
        let got = set::inclusion_proof_at(&src, LeafIndex(i)).unwrap();
        set::verify_inclusion(&got, &leaves[i as usize].cid, &root, TreeSize(n)).unwrap();
        most = most.max(src.cached_records());
    }
    assert!(most > 1_000, "the cache is used ({most} records at most)");
    assert!(
        most <= 2 * 1024,
        "{most} records cached: the cache is not bounded"
    );
}
