//! Leaf metadata stored with a manifest (issue 13): checked against each leaf's digest, staged
//! with the leaves, visible at the commit, collected with the set; and the statistics derived
//! from it.
#![allow(clippy::unwrap_used)] // test helpers: a failure is the test's

mod common;

use std::sync::Arc;

use ledger::range::{range_proof, verify_range, Range, RangeLeaf, RangeSource, RangeTree};
use ledger::set::{SetLeaf, SortedSet};
use ledger::source::{source_key, Site, SourceKey};
use ledger::store::sets::{SetStore, SetStoreError, MAX_META_LEN};
use ledger::store::stats::{Counts, Tally, NONE};
use ledger::store::{Column, LogStore, MemoryStore};
use ledger::types::{ContentId, Digest};
use ledger::types::{LeafIndex, TreeSize};

/// Canonical metadata (keys sorted, no spaces) of item `i`: a licence, a consent signal on the
/// even ones, a source on a few hosts.
fn meta_of(i: u64) -> Vec<u8> {
    let consent = if i.is_multiple_of(2) {
        r#""consent":"aipref:train-ai=n","#
    } else {
        ""
    };
    // Every seventh item has no source; every fifth was also found at a second URL.
    let source = match i % 7 {
        6 => String::new(),
        _ => format!(r#","source":"https://h{}.example.com/{i}""#, i % 4),
    };
    let licence = if i.is_multiple_of(3) {
        "MIT"
    } else {
        "CC-BY-4.0"
    };
    let second = if i.is_multiple_of(5) {
        format!(r#",{{"path":"d/{i}.txt","source":"http://www.other.org/x/{i}"}}"#)
    } else {
        String::new()
    };
    format!(
        r#"{{"sources":[{{{consent}"license":"{licence}","path":"c/{i}.txt"{source}}}{second}]}}"#
    )
    .into_bytes()
}

/// `n` leaves with metadata, sorted by content id.
fn leaves_with_meta(n: u64) -> Vec<(SetLeaf, Vec<u8>)> {
    common::leaves_with(n, meta_of)
}

fn root_of(items: &[(SetLeaf, Vec<u8>)]) -> Digest {
    SortedSet::new(items.iter().map(|(l, _)| *l).collect())
        .unwrap()
        .root()
}

fn count(store: &dyn LogStore, col: Column) -> usize {
    store
        .range(col, &[], &[0xff; 64], usize::MAX)
        .unwrap()
        .len()
}

fn memory() -> (Arc<MemoryStore>, SetStore) {
    let mem = Arc::new(MemoryStore::new());
    let store = SetStore::open(mem.clone()).unwrap();
    (mem, store)
}

#[test]
fn metadata_is_stored_with_the_set_and_visible_only_at_commit() {
    let (mem, store) = memory();
    let items = leaves_with_meta(600);
    let root = root_of(&items);
    let mut w = store.writer();
    for (leaf, meta) in &items {
        w.push_with_meta(leaf, meta).unwrap();
    }
    // Staged, not visible: no set, no metadata, no statistics.
    assert!(store.info(&root).unwrap().is_none());
    assert!(!store.has_meta(&root).unwrap());
    assert!(matches!(
        store.leaves_with_meta(&root, 0, 10),
        Err(SetStoreError::UnknownSet(_))
    ));
    w.commit(&root).unwrap();
    assert!(store.has_meta(&root).unwrap());
    let got = store.leaves_with_meta(&root, 250, 20).unwrap();
    assert_eq!(got.len(), 20);
    for (i, (leaf, meta)) in got.iter().enumerate() {
        assert_eq!(*leaf, items[250 + i].0);
        assert_eq!(meta.as_deref(), Some(&items[250 + i].1[..]));
    }
    assert_eq!(
        store.leaf_meta(&root, 599).unwrap().as_deref(),
        Some(&items[599].1[..])
    );
    assert_eq!(count(&*mem, Column::SetMeta), 600);
}

#[test]
fn a_leaves_upload_stores_no_metadata() {
    let (mem, store) = memory();
    let items = leaves_with_meta(5);
    let root = root_of(&items);
    let mut w = store.writer();
    for (leaf, _) in &items {
        w.push(leaf).unwrap();
    }
    w.commit(&root).unwrap();
    assert!(!store.has_meta(&root).unwrap());
    assert!(store.stats(&root).unwrap().is_none());
    let got = store.leaves_with_meta(&root, 0, 10).unwrap();
    assert!(got.iter().all(|(_, m)| m.is_none()));
    assert_eq!(count(&*mem, Column::SetMeta), 0);
}

/// The attack: a publisher uploads metadata other than what its leaves commit to (say, a
/// permissive licence or another source), so that the service's statistics and source tree
/// would describe content the manifest root does not. Refused: nothing is stored.
#[test]
fn metadata_that_does_not_hash_to_the_leaf_digest_is_refused() {
    let (mem, store) = memory();
    let items = leaves_with_meta(3);
    let mut w = store.writer();
    w.push_with_meta(&items[0].0, &items[0].1).unwrap();
    let forged = br#"{"sources":[{"license":"CC0-1.0","path":"x"}]}"#;
    let e = w.push_with_meta(&items[1].0, forged).unwrap_err();
    assert!(
        matches!(e, SetStoreError::MetaMismatch { index: 1 }),
        "{e:?}"
    );
    drop(w);
    assert_eq!(count(&*mem, Column::SetMeta), 0);
    assert_eq!(count(&*mem, Column::SetLeaves), 0);
}

#[test]
fn oversized_metadata_is_refused() {
    let (_mem, store) = memory();
    let big = format!(
        r#"{{"sources":[{{"path":"{}"}}]}}"#,
        "a".repeat(MAX_META_LEN)
    );
    let leaf = SetLeaf {
        cid: ContentId::of(b"x"),
        size: 1,
        meta: Digest(*blake3::hash(big.as_bytes()).as_bytes()),
    };
    let e = store
        .writer()
        .push_with_meta(&leaf, big.as_bytes())
        .unwrap_err();
    assert!(
        matches!(e, SetStoreError::MetaTooLarge { index: 0, len } if len == big.len()),
        "{e:?}"
    );
}

#[test]
fn metadata_is_all_or_none_and_shaped_like_a_manifest() {
    let (_mem, store) = memory();
    let items = leaves_with_meta(2);
    let mut w = store.writer();
    w.push(&items[0].0).unwrap();
    let e = w.push_with_meta(&items[1].0, &items[1].1).unwrap_err();
    assert!(matches!(e, SetStoreError::MetaMixed { index: 1 }), "{e:?}");

    let mut w = store.writer();
    w.push_with_meta(&items[0].0, &items[0].1).unwrap();
    let e = w.push(&items[1].0).unwrap_err();
    assert!(matches!(e, SetStoreError::MetaMixed { index: 1 }), "{e:?}");

    let odd = br#"{"license":"MIT"}"#;
    let leaf = SetLeaf {
        meta: Digest(*blake3::hash(odd).as_bytes()),
        ..items[0].0
    };
    let e = store.writer().push_with_meta(&leaf, odd).unwrap_err();
    assert!(
        matches!(e, SetStoreError::MetaInvalid { index: 0, .. }),
        "{e:?}"
    );
}

#[test]
fn statistics_are_derived_at_commit() {
    let (_mem, store) = memory();
    let items = leaves_with_meta(12);
    let root = root_of(&items);
    let mut w = store.writer();
    for (leaf, meta) in &items {
        w.push_with_meta(leaf, meta).unwrap();
    }
    w.commit(&root).unwrap();
    let s = store.stats(&root).unwrap().unwrap();
    let bytes = |f: &dyn Fn(u64) -> bool| -> (u64, u64) {
        let hits: Vec<u64> = (0..12).filter(|&i| f(i)).collect();
        (hits.len() as u64, hits.iter().map(|i| 10 + i).sum())
    };
    let (mit_items, mit_bytes) = bytes(&|i| i % 3 == 0);
    let (cc_items, cc_bytes) = bytes(&|i| i % 3 != 0);
    assert_eq!(
        s.licences,
        vec![
            Tally {
                value: "CC-BY-4.0".into(),
                items: cc_items,
                bytes: cc_bytes
            },
            Tally {
                value: "MIT".into(),
                items: mit_items,
                bytes: mit_bytes
            },
            // The second sources (items 0, 5, 10) name no licence.
            Tally {
                value: NONE.into(),
                items: 3,
                bytes: 10 + 15 + 20
            },
        ]
    );
    let (n_items, n_bytes) = bytes(&|i| i % 2 == 0);
    // Odd items have no consent, nor have the second sources (items 0, 5, 10).
    let (o_items, o_bytes) = bytes(&|i| i % 2 != 0 || i % 5 == 0);
    let mut consent = vec![
        Tally {
            value: "aipref:train-ai=n".into(),
            items: n_items,
            bytes: n_bytes,
        },
        Tally {
            value: NONE.into(),
            items: o_items,
            bytes: o_bytes,
        },
    ];
    consent.sort_by_key(|t| std::cmp::Reverse(t.bytes));
    assert_eq!(s.consent, consent);
    // Item 6 has no source (item 5 has two, but a source each).
    assert_eq!(
        s.no_source,
        Counts {
            items: 1,
            bytes: 16
        }
    );
    let host = |h: &str| s.hosts.iter().find(|t| t.value == h).cloned();
    // www.other.org: items 0, 5, 10 (second source).
    assert_eq!(
        host("www.other.org"),
        Some(Tally {
            value: "www.other.org".into(),
            items: 3,
            bytes: 10 + 15 + 20
        })
    );
    // h2.example.com: items 2, 10 (6 has no source).
    assert_eq!(
        host("h2.example.com"),
        Some(Tally {
            value: "h2.example.com".into(),
            items: 2,
            bytes: 12 + 20
        })
    );
}

#[test]
fn collection_deletes_metadata_and_statistics_with_the_set() {
    let (mem, store) = memory();
    let items = leaves_with_meta(300);
    let root = root_of(&items);
    let mut w = store.writer();
    for (leaf, meta) in &items {
        w.push_with_meta(leaf, meta).unwrap();
    }
    w.commit_at(&root, 100).unwrap();
    assert!(store.has_meta(&root).unwrap());
    let c = store.collect_unnamed(200, |_| Ok(false)).unwrap();
    assert_eq!(c.removed, vec![root]);
    assert!(store.info(&root).unwrap().is_none());
    for col in [Column::SetMeta, Column::SetLeaves, Column::SetHashes] {
        assert_eq!(count(&*mem, col), 0, "{col:?}");
    }
    let meta_rows = mem
        .range(Column::Meta, &[], &[0xff; 64], usize::MAX)
        .unwrap();
    assert!(
        meta_rows.iter().all(|(k, _)| !k.starts_with(b"set_stats/")),
        "statistics record left behind"
    );
}

/// A crash mid-upload (the writer never commits nor cleans up) leaves staged metadata that no
/// root names: the next open deletes it.
#[test]
fn staged_metadata_of_an_upload_that_never_committed_is_deleted_at_open() {
    let (mem, store) = memory();
    // Enough metadata that some of it is written (deferred) before the commit would be.
    let items = leaves_with_meta(70_000);
    let mut w = store.writer();
    for (leaf, meta) in &items {
        w.push_with_meta(leaf, meta).unwrap();
    }
    std::mem::forget(w); // a crash: no commit, no Drop
    assert!(count(&*mem, Column::SetMeta) > 0, "nothing was staged");
    let _reopened = SetStore::open(mem.clone()).unwrap();
    assert_eq!(count(&*mem, Column::SetMeta), 0);
    assert_eq!(count(&*mem, Column::SetLeaves), 0);
}

#[cfg(feature = "rocksdb")]
#[test]
fn metadata_survives_a_reopen_of_a_real_rocksdb() {
    use ledger::store::RocksStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let items = leaves_with_meta(400);
    let root = root_of(&items);
    {
        let db: Arc<dyn LogStore> = Arc::new(RocksStore::create(&path).unwrap());
        let store = SetStore::open(db).unwrap();
        let mut w = store.writer();
        for (leaf, meta) in &items {
            w.push_with_meta(leaf, meta).unwrap();
        }
        w.commit(&root).unwrap();
    }
    let db: Arc<dyn LogStore> = Arc::new(RocksStore::open(&path).unwrap());
    let store = SetStore::open(db).unwrap();
    let got = store.leaves_with_meta(&root, 390, 100).unwrap();
    assert_eq!(got.len(), 10);
    assert_eq!(got[9].1.as_deref(), Some(&items[399].1[..]));
    assert!(store.stats(&root).unwrap().is_some());
}

/// The source tree as anyone computes it from the metadata: one leaf per distinct (source key,
/// content id), an entry without a source under the no-source key.
fn expected_tree(items: &[(SetLeaf, Vec<u8>)]) -> RangeTree {
    let mut leaves = Vec::new();
    for (leaf, meta) in items {
        let v: serde_json::Value = serde_json::from_slice(meta).unwrap();
        for e in v["sources"].as_array().unwrap() {
            let key = e["source"]
                .as_str()
                .map_or_else(SourceKey::none, source_key);
            leaves.push(RangeLeaf::source(&key, &leaf.cid));
        }
    }
    RangeTree::from_unsorted(leaves)
}

fn store_all(store: &SetStore, items: &[(SetLeaf, Vec<u8>)]) -> Digest {
    let root = root_of(items);
    let mut w = store.writer();
    for (leaf, meta) in items {
        w.push_with_meta(leaf, meta).unwrap();
    }
    w.commit(&root).unwrap();
    root
}

#[test]
fn the_source_tree_is_derived_at_commit_and_proves_like_the_in_memory_tree() {
    let (mem, store) = memory();
    // More than 65,536 source leaves: leaf records and level-8 and level-16 hash records.
    let items = leaves_with_meta(60_000);
    let root = store_all(&store, &items);
    let want = expected_tree(&items);
    assert!(want.size().0 > 65_536, "{}", want.size().0);
    let (tree, sroot, size) = store.source_tree(&root).unwrap().unwrap();
    assert_eq!((sroot, size), (want.root(), want.size().0));
    assert_eq!(
        store.sources(&root).unwrap(),
        Some((want.root(), want.size().0))
    );
    assert_eq!(tree.root().unwrap(), want.root());
    assert_eq!(
        count(&*mem, Column::SourceScratch),
        0,
        "scratch left behind"
    );
    for i in [0u64, 1, 255, 256, 70_000, size - 1] {
        assert_eq!(
            tree.leaf(LeafIndex(i)).unwrap(),
            want.leaf(LeafIndex(i)).unwrap()
        );
    }
    for site in [
        "h1.example.com",
        "other.org",
        "absent.example",
        "example.com",
    ] {
        let site = Site::parse(site).unwrap();
        let range = Range::site(&site);
        let got = range_proof(&tree, &range, 10).unwrap();
        assert_eq!(got, range_proof(&want, &range, 10).unwrap(), "{site}");
        let m = verify_range(&sroot, TreeSize(size), &range, &got).unwrap();
        let n = want
            .leaves()
            .iter()
            .filter(|l| range.contains(l.as_bytes()))
            .count() as u64;
        assert_eq!(m.count, n, "{site}");
    }
    // The no-source items come first.
    let none = Range::exact_key(&SourceKey::none());
    let m = verify_range(
        &sroot,
        TreeSize(size),
        &none,
        &range_proof(&tree, &none, 5).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (m.start, m.count),
        (0, (0..60_000u64).filter(|i| i % 7 == 6).count() as u64)
    );
}

#[test]
fn collection_deletes_the_source_tree_and_open_deletes_scratch() {
    let (mem, store) = memory();
    let items = leaves_with_meta(700);
    let root = root_of(&items);
    let mut w = store.writer();
    for (leaf, meta) in &items {
        w.push_with_meta(leaf, meta).unwrap();
    }
    w.commit_at(&root, 100).unwrap();
    assert!(count(&*mem, Column::RangeLeaves) > 0);
    assert_eq!(count(&*mem, Column::RangeRoots), 1);
    store.collect_unnamed(200, |_| Ok(false)).unwrap();
    for col in [
        Column::RangeLeaves,
        Column::RangeHashes,
        Column::RangeRoots,
        Column::SetMeta,
    ] {
        assert_eq!(count(&*mem, col), 0, "{col:?}");
    }
    // A crash mid-upload leaves scratch records; the next open deletes them.
    let mut w = store.writer();
    for (leaf, meta) in leaves_with_meta(40_000).iter() {
        w.push_with_meta(leaf, meta).unwrap();
    }
    std::mem::forget(w);
    assert!(count(&*mem, Column::SourceScratch) > 0);
    SetStore::open(mem.clone()).unwrap();
    assert_eq!(count(&*mem, Column::SourceScratch), 0);
}

/// The attack: someone stores a manifest's bare leaves (public once the manifest is published)
/// before the publisher uploads it with metadata, so that the metadata, the source tree and so
/// every `sources` claim would be refused. The upload with metadata replaces the bare set.
#[test]
fn a_leaves_only_upload_of_a_root_cannot_keep_its_metadata_out() {
    let (mem, store) = memory();
    let items = leaves_with_meta(600);
    let root = root_of(&items);
    let mut w = store.writer();
    for (leaf, _) in &items {
        w.push(leaf).unwrap();
    }
    let bare = w.commit_at(&root, 100).unwrap();
    assert!(!store.has_meta(&root).unwrap());
    let stored = store_all(&store, &items);
    assert_eq!(stored, root);
    let now = store.info(&root).unwrap().unwrap();
    assert_ne!(now.id, bare.id);
    assert_eq!(now.size, bare.size);
    assert!(store.has_meta(&root).unwrap());
    assert!(store.sources(&root).unwrap().is_some());
    // An upload without metadata does not replace it back.
    let mut w = store.writer();
    for (leaf, _) in &items {
        w.push(leaf).unwrap();
    }
    assert_eq!(w.commit(&root).unwrap().id, now.id);
    // The bare set's records are unreachable; the next open deletes them.
    let reopened = SetStore::open(mem.clone()).unwrap();
    assert_eq!(
        count(&*mem, Column::SetLeaves),
        600usize.div_ceil(256),
        "old records left"
    );
    let got = reopened.leaves_with_meta(&root, 599, 1).unwrap();
    assert_eq!(got[0].1.as_deref(), Some(&items[599].1[..]));
    // Still collectable (the bare set was), on the new clock.
    assert!(reopened
        .collect_unnamed(100, |_| Ok(false))
        .unwrap()
        .removed
        .is_empty());
}

/// Below the free-space floor an upload with metadata is refused before its commit writes
/// anything more, and leaves nothing behind (metadata, scratch, source tree included).
#[test]
fn an_upload_with_metadata_below_the_floor_leaves_nothing() {
    let mem = Arc::new(MemoryStore::new());
    let store = SetStore::open(mem.clone())
        .unwrap()
        .with_min_free_bytes(1 << 20);
    let items = leaves_with_meta(500);
    let root = root_of(&items);
    let mut w = store.writer();
    for (leaf, meta) in &items {
        w.push_with_meta(leaf, meta).unwrap();
    }
    mem.set_available_bytes(Some(1000));
    let e = w.commit(&root).unwrap_err();
    assert!(matches!(e, SetStoreError::NoSpace { .. }), "{e:?}");
    for col in [
        Column::SetLeaves,
        Column::SetHashes,
        Column::SetMeta,
        Column::SourceScratch,
        Column::RangeLeaves,
        Column::RangeHashes,
        Column::RangeRoots,
    ] {
        assert_eq!(count(&*mem, col), 0, "{col:?}");
    }
    mem.set_available_bytes(None);
    assert_eq!(store_all(&store, &items), root);
    assert!(store.sources(&root).unwrap().is_some());
}
