//! The sources rule (issue 13) against attacks, on a real RocksDB ledger: a `dataset_version`
//! with `sources` is accepted only if its manifest was stored with metadata and the source tree
//! the ledger derived from it has exactly the claimed root and size.
#![allow(clippy::unwrap_used)] // test helpers: a failure is the test's
#![cfg(feature = "rocksdb")]

use ledger::entry::{CorpusMode, DatasetVersion, Entry, EntryBody, SetRef};
use ledger::ledger::Ledger;
use ledger::range::{RangeLeaf, RangeTree};
use ledger::sequencer::SubmitError;
use ledger::set::{SetLeaf, SortedSet};
use ledger::source::{source_key, SourceKey};
use ledger::store::index::Rejection;
use ledger::types::{ContentId, Digest};

mod common;
use common::{key, name, now, publisher, LOG};

/// Items from two domains, each with metadata naming its source.
fn items() -> Vec<(SetLeaf, Vec<u8>, String)> {
    let mut v: Vec<(SetLeaf, Vec<u8>, String)> = (0..50u64)
        .map(|i| {
            let host = if i % 5 == 0 {
                "news.optedout.example"
            } else {
                "blog.fine.example"
            };
            let url = format!("https://{host}/p/{i}");
            let meta =
                format!(r#"{{"sources":[{{"path":"f{i}","source":"{url}"}}]}}"#).into_bytes();
            let leaf = SetLeaf {
                cid: ContentId::of(&i.to_be_bytes()),
                size: 100,
                meta: Digest(*blake3::hash(&meta).as_bytes()),
            };
            (leaf, meta, url)
        })
        .collect();
    v.sort_by_key(|(l, _, _)| l.cid);
    v
}

fn source_tree(items: &[(SetLeaf, Vec<u8>, String)], skip_host: Option<&str>) -> RangeTree {
    RangeTree::from_unsorted(
        items
            .iter()
            .filter(|(_, _, url)| skip_host.is_none_or(|h| !url.contains(h)))
            .map(|(l, _, url)| RangeLeaf::source(&source_key(url), &l.cid))
            .collect(),
    )
}

fn ledger() -> (Ledger, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::create(&dir.path().join("l"), LOG, Default::default()).unwrap();
    let k = key(1);
    l.submit(publisher("acme", &k, &k)).unwrap();
    (l, dir)
}

/// Stores the manifest with its metadata (`with_meta`) or as bare leaves.
fn store(l: &Ledger, items: &[(SetLeaf, Vec<u8>, String)], with_meta: bool) -> SortedSet {
    let set = SortedSet::new(items.iter().map(|(l, _, _)| *l).collect()).unwrap();
    let mut w = l.set_writer();
    for (leaf, meta, _) in items {
        if with_meta {
            w.push_with_meta(leaf, meta).unwrap();
        } else {
            w.push(leaf).unwrap();
        }
    }
    w.commit(&set.root()).unwrap();
    set
}

fn version(v: &str, set: &SortedSet, sources: Option<SetRef>) -> Vec<u8> {
    let body = EntryBody::DatasetVersion(DatasetVersion {
        publisher: name("acme"),
        dataset: name("web"),
        version: name(v),
        manifest_root: set.root(),
        item_count: set.size().0,
        total_bytes: 100 * set.size().0,
        corpus_mode: CorpusMode::Line,
        licence: "CC-BY-4.0".into(),
        previous: None,
        sources,
        passages: None,
    });
    Entry::sign(LOG, body, now(), None, &key(1))
        .unwrap()
        .as_bytes()
        .to_vec()
}

fn rejection(r: Result<ledger::sequencer::Receipt, SubmitError>) -> Rejection {
    match r {
        Err(SubmitError::Rejected(why)) => why,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn honest_sources_claim_is_accepted_and_a_version_without_one_still_is() {
    let (l, _dir) = ledger();
    let items = items();
    let set = store(&l, &items, true);
    let tree = source_tree(&items, None);
    let claim = SetRef {
        root: tree.root(),
        size: tree.size().0,
    };
    l.submit(version("1", &set, Some(claim))).unwrap();
    // Old clients: no `sources`, still accepted.
    l.submit(version("2", &set, None)).unwrap();
}

/// The attack: the publisher claims a source tree built without the items of the domain that
/// opted out, so that every range proof for that domain shows it absent. The ledger derived the
/// real tree from the stored metadata, and refuses the claim.
#[test]
fn sources_root_that_omits_a_domains_items_is_refused() {
    let (l, _dir) = ledger();
    let items = items();
    let set = store(&l, &items, true);
    let forged = source_tree(&items, Some("optedout.example"));
    let honest = source_tree(&items, None);
    assert!(forged.size() < honest.size());
    let claim = SetRef {
        root: forged.root(),
        size: forged.size().0,
    };
    let why = rejection(l.submit(version("1", &set, Some(claim))));
    assert!(
        matches!(why, Rejection::SourcesMismatch { derived, derived_size, .. }
            if derived == honest.root() && derived_size == honest.size().0),
        "{why:?}"
    );
}

/// The attack: the publisher uploads only the leaves (no metadata for anyone to check) and
/// claims whatever source tree it likes.
#[test]
fn sources_claim_for_a_leaves_only_upload_is_refused() {
    let (l, _dir) = ledger();
    let items = items();
    let set = store(&l, &items, false);
    let tree = source_tree(&items, Some("optedout.example"));
    let claim = SetRef {
        root: tree.root(),
        size: tree.size().0,
    };
    let why = rejection(l.submit(version("1", &set, Some(claim))));
    assert!(
        matches!(why, Rejection::SourcesNotStored { manifest } if manifest == set.root()),
        "{why:?}"
    );
}

/// The attack: the right root with a forged size (a verifier trusting the size would accept
/// proofs against another tree shape).
#[test]
fn sources_claim_with_a_forged_size_is_refused() {
    let (l, _dir) = ledger();
    let items = items();
    let set = store(&l, &items, true);
    let tree = source_tree(&items, None);
    let claim = SetRef {
        root: tree.root(),
        size: tree.size().0 - 10,
    };
    let why = rejection(l.submit(version("1", &set, Some(claim))));
    assert!(matches!(why, Rejection::SourcesMismatch { .. }), "{why:?}");
}

/// Items without a source sit under the no-source key: they are in the tree, first.
#[test]
fn items_without_a_source_are_in_the_source_tree_under_the_no_source_key() {
    let (l, _dir) = ledger();
    let meta = br#"{"sources":[{"path":"x"}]}"#.to_vec();
    let leaf = SetLeaf {
        cid: ContentId::of(b"x"),
        size: 1,
        meta: Digest(*blake3::hash(&meta).as_bytes()),
    };
    let set = store(&l, &[(leaf, meta, String::new())], true);
    let tree = RangeTree::from_unsorted(vec![RangeLeaf::source(&SourceKey::none(), &leaf.cid)]);
    assert_eq!(
        l.sets().sources(&set.root()).unwrap(),
        Some((tree.root(), 1))
    );
}
