//! Stored passage trees (issue 14) on a real RocksDB ledger: round trip, proofs equal to the
//! in-memory tree's, crash cleanup, refusals, and collection of unnamed trees.
#![allow(clippy::unwrap_used)] // test helpers: a failure is the test's
#![cfg(feature = "rocksdb")]

use std::sync::Arc;

use ledger::ledger::Ledger;
use ledger::range::{
    range_multi_proof, range_proof, verify_range, verify_ranges, Range, RangeLeaf, RangeSource,
    RangeTree,
};
use ledger::set::SetError;
use ledger::store::sets::SetStoreError;
use ledger::store::{Column, LogStore};
use ledger::types::{ContentId, Digest, TreeSize};

mod common;

/// `n` sorted passage leaves `pid || cid`: each passage in two items.
fn passage_leaves(n: u64, salt: u64) -> Vec<RangeLeaf> {
    let mut v: Vec<RangeLeaf> = (0..n)
        .map(|i| {
            let pid = ContentId::of(&[(i / 2).to_be_bytes(), salt.to_be_bytes()].concat());
            let cid = ContentId::of(&i.to_be_bytes());
            RangeLeaf::passage(&pid, &cid)
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

fn upload(l: &Ledger, leaves: &[RangeLeaf], split: usize) -> Result<Digest, SetStoreError> {
    let root = RangeTree::new(leaves.to_vec()).unwrap().root();
    let bytes: Vec<u8> = leaves.iter().flat_map(|l| l.as_bytes().to_vec()).collect();
    let mut w = l.passage_writer();
    for chunk in bytes.chunks(split.max(1)) {
        w.push_bytes(chunk)?;
    }
    w.commit(&root)?;
    Ok(root)
}

fn rocks_ledger(dir: &std::path::Path) -> Ledger {
    Ledger::create(dir, common::LOG, Default::default()).unwrap()
}

fn count(store: &Arc<dyn LogStore>, col: Column) -> usize {
    store
        .range(col, &[], &[0xff; 18], usize::MAX)
        .unwrap()
        .len()
}

#[test]
fn stored_passage_trees_prove_like_in_memory_trees() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let l = rocks_ledger(&dir);
    let mut roots = Vec::new();
    for n in [0u64, 1, 2, 255, 256, 257, 1000, 65_536 + 300] {
        let leaves = passage_leaves(n, n);
        let tree = RangeTree::new(leaves.clone()).unwrap();
        // Split the body at an odd size, so leaves straddle chunks.
        let root = upload(&l, &leaves, 1000 + 7).unwrap();
        assert_eq!(root, tree.root());
        roots.push((root, leaves));
    }
    // Reopened: everything reads back from RocksDB.
    l.close();
    drop(l);
    let l = Ledger::open(&dir, Default::default()).unwrap();
    for (root, leaves) in &roots {
        let n = leaves.len() as u64;
        let tree = RangeTree::new(leaves.clone()).unwrap();
        let (stored, info) = l.sets().passage_tree(root).unwrap().unwrap();
        assert_eq!(info.size, TreeSize(n));
        assert_eq!(stored.root().unwrap(), *root, "n={n}");
        let page = l.sets().passage_leaves(root, 0, 300).unwrap().unwrap();
        assert_eq!(page.as_slice(), &leaves[..leaves.len().min(300)]);
        // Present passages, an absent one, and the first / last: the same proof bytes.
        let mut pids: Vec<ContentId> = [0, n / 2, n.saturating_sub(1)]
            .into_iter()
            .filter(|&i| i < n)
            .map(|i| leaves[i as usize].split_passage().unwrap().0)
            .collect();
        pids.push(ContentId::of(b"absent passage"));
        for pid in pids {
            let range = Range::passage(&pid);
            let from_store = range_proof(&stored, &range, 16).unwrap();
            let in_memory = range_proof(&tree, &range, 16).unwrap();
            assert_eq!(from_store, in_memory, "n={n}");
            let members = verify_range(root, TreeSize(n), &range, &from_store).unwrap();
            let expected = leaves
                .iter()
                .filter(|l| l.split_passage().unwrap().0 == pid)
                .count() as u64;
            assert_eq!(members.count, expected);
        }
    }
}

/// A work's 4,096 passages against a tree of 300,000 leaves (1,172 leaf records, more than a
/// stored tree keeps cached): one multi-range proof from the stored tree, byte for byte the
/// in-memory tree's, verifying with every count right.
#[test]
fn a_multi_range_proof_from_a_large_stored_tree_equals_the_in_memory_one() {
    let tmp = tempfile::tempdir().unwrap();
    let l = rocks_ledger(&tmp.path().join("l"));
    let leaves = passage_leaves(300_000, 12);
    let tree = RangeTree::new(leaves.clone()).unwrap();
    let root = upload(&l, &leaves, 1 << 20).unwrap();
    let (stored, _) = l.sets().passage_tree(&root).unwrap().unwrap();
    // Half present (every 73rd leaf's passage), half absent.
    let mut pids: Vec<ContentId> = (0..2048u64)
        .map(|i| leaves[(i * 73) as usize].split_passage().unwrap().0)
        .chain(
            (0..2048u64).map(|i| ContentId::of(&[b"absent".as_slice(), &i.to_be_bytes()].concat())),
        )
        .collect();
    pids.sort();
    pids.dedup();
    let ranges: Vec<Range> = pids.iter().map(Range::passage).collect();
    let from_store = range_multi_proof(&stored, &ranges, 16).unwrap();
    assert_eq!(from_store, range_multi_proof(&tree, &ranges, 16).unwrap());
    let members = verify_ranges(&root, tree.size(), &ranges, &from_store).unwrap();
    let found = members.iter().filter(|m| m.count > 0).count();
    assert_eq!(found, 2048);
    assert!(members.iter().all(|m| m.count <= 2));
}

#[test]
fn passage_ingest_refuses_unsorted_duplicate_partial_and_wrong_root() {
    let tmp = tempfile::tempdir().unwrap();
    let l = rocks_ledger(&tmp.path().join("l"));
    let leaves = passage_leaves(600, 1);
    let store = l.store().clone();
    let before = count(&store, Column::RangeLeaves);

    let mut swapped = leaves.clone();
    swapped.swap(300, 301);
    let bytes: Vec<u8> = swapped.iter().flat_map(|l| l.as_bytes().to_vec()).collect();
    let mut w = l.passage_writer();
    let r = w.push_bytes(&bytes);
    assert!(matches!(
        r,
        Err(SetStoreError::Invalid(SetError::NotSorted { index: 301 }))
    ));
    drop(w);

    let mut dup = leaves.clone();
    dup.insert(10, leaves[9].clone());
    let mut w = l.passage_writer();
    let r = dup.iter().try_for_each(|leaf| w.push(leaf));
    assert!(matches!(
        r,
        Err(SetStoreError::Invalid(SetError::Duplicate { index: 10 }))
    ));
    drop(w);

    let bytes: Vec<u8> = leaves.iter().flat_map(|l| l.as_bytes().to_vec()).collect();
    let root = RangeTree::new(leaves.clone()).unwrap().root();
    let mut w = l.passage_writer();
    w.push_bytes(&bytes[..bytes.len() - 5]).unwrap();
    assert!(matches!(
        w.commit(&root),
        Err(SetStoreError::PartialPassageLeaf(59))
    ));

    let mut w = l.passage_writer();
    w.push_bytes(&bytes).unwrap();
    assert!(matches!(
        w.commit(&Digest([7; 32])),
        Err(SetStoreError::RootMismatch { .. })
    ));
    let mut w = l.passage_writer();
    assert!(matches!(
        w.push(&RangeLeaf::new(vec![1; 65]).unwrap()),
        Err(SetStoreError::PassageLeafLength(65))
    ));
    drop(w);
    // Nothing of the refused uploads is left, and no tree is visible.
    assert_eq!(count(&store, Column::RangeLeaves), before);
    assert_eq!(l.sets().passage_info(&root).unwrap(), None);
    assert_eq!(l.sets().passage_info(&Digest([7; 32])).unwrap(), None);
}

#[test]
fn a_crash_before_the_passage_marker_leaves_nothing_visible() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let l = rocks_ledger(&dir);
    let kept_leaves = passage_leaves(300, 2);
    let kept = upload(&l, &kept_leaves, 4096).unwrap();
    // Enough leaves for the writer to stage records (it writes every 8 MiB).
    let leaves = passage_leaves(140_000, 3);
    let root = RangeTree::new(leaves.clone()).unwrap().root();
    let mut w = l.passage_writer();
    for leaf in &leaves {
        w.push(leaf).unwrap();
    }
    let staged = count(l.store(), Column::RangeLeaves);
    assert!(staged > 100, "{staged} records staged");
    // A crash before the commit: what is on disk now, the staged records made durable, is the
    // image the next start opens (the writer never commits and never runs its destructor).
    l.store().sync().unwrap();
    let crashed = tmp.path().join("crashed");
    copy_tree(&dir, &crashed);
    std::mem::forget(w);
    drop(l);

    let l = Ledger::open(&crashed, Default::default()).unwrap();
    assert_eq!(
        count(l.store(), Column::RangeLeaves),
        2,
        "only the committed tree's two records"
    );
    assert_eq!(l.sets().passage_info(&root).unwrap(), None);
    let (tree, _) = l.sets().passage_tree(&kept).unwrap().unwrap();
    assert_eq!(tree.root().unwrap(), kept);
    assert_eq!(
        tree.leaf(ledger::types::LeafIndex(299)).unwrap(),
        kept_leaves[299]
    );
    // The next upload gets a fresh id and works, and does not disturb the kept tree.
    assert_eq!(upload(&l, &leaves, 64 * 1000).unwrap(), root);
    let (tree, _) = l.sets().passage_tree(&kept).unwrap().unwrap();
    assert_eq!(tree.root().unwrap(), kept);
}

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

#[test]
fn unnamed_passage_trees_are_collected() {
    let tmp = tempfile::tempdir().unwrap();
    let l = rocks_ledger(&tmp.path().join("l"));
    let leaves = passage_leaves(1000, 4);
    let root = upload(&l, &leaves, 640).unwrap();
    // Uploading it again returns the stored tree.
    assert_eq!(upload(&l, &leaves, 64).unwrap(), root);
    assert_eq!(count(l.store(), Column::RangeLeaves), 4);
    assert!(!l.passages_is_named(&root).unwrap());

    // Not old enough yet: nothing goes.
    let c = l
        .collect_unnamed_passages(std::time::Duration::from_secs(3600))
        .unwrap();
    assert_eq!(c, Default::default());
    assert!(l.sets().passage_info(&root).unwrap().is_some());

    let c = l
        .collect_unnamed_passages(std::time::Duration::ZERO)
        .unwrap();
    assert_eq!(c.removed, vec![root]);
    assert_eq!(l.sets().passage_info(&root).unwrap(), None);
    assert_eq!(count(l.store(), Column::RangeLeaves), 0);
    assert_eq!(count(l.store(), Column::RangeHashes), 0);
    // Collected, it can be uploaded again.
    assert_eq!(upload(&l, &leaves, 6400).unwrap(), root);
    assert!(l.sets().passage_info(&root).unwrap().is_some());
}

fn dir_bytes(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                dir_bytes(&e.path())
            } else {
                m.len()
            }
        })
        .sum()
}

/// The stored size of a passage tree per leaf (docs/performance.md, "Passage trees"): the
/// records' key and value bytes, and the growth of the database directory once RocksDB has
/// flushed them (a reopen replays the write-ahead log into SST files and drops it). Run with
/// `PASSAGE_LEAVES=1000000 cargo test -p ledger --features rocksdb --test store_passages --
/// --ignored --nocapture stored_size_of_a_passage_tree_per_leaf`.
#[test]
#[ignore = "a measurement; prints the stored size per leaf"]
fn stored_size_of_a_passage_tree_per_leaf() {
    let n: u64 = std::env::var("PASSAGE_LEAVES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let l = rocks_ledger(&dir);
    l.close();
    drop(l);
    // The empty ledger, settled the same way.
    let l = Ledger::open(&dir, Default::default()).unwrap();
    l.close();
    drop(l);
    let empty = dir_bytes(&dir);

    let l = Ledger::open(&dir, Default::default()).unwrap();
    let leaves = passage_leaves(n, 11);
    let n = leaves.len() as u64;
    upload(&l, &leaves, 1 << 20).unwrap();
    let logical: u64 = [Column::RangeLeaves, Column::RangeHashes]
        .into_iter()
        .flat_map(|c| l.store().range(c, &[], &[0xff; 18], usize::MAX).unwrap())
        .map(|(k, v)| (k.len() + v.len()) as u64)
        .sum();
    l.close();
    drop(l);
    let l = Ledger::open(&dir, Default::default()).unwrap();
    l.close();
    drop(l);
    let on_disk = dir_bytes(&dir) - empty;
    println!(
        "{n} leaves: records {logical} bytes ({:.2} a leaf), database growth {on_disk} bytes ({:.2} a leaf)",
        logical as f64 / n as f64,
        on_disk as f64 / n as f64
    );
    assert!(logical >= n * 66);
}
