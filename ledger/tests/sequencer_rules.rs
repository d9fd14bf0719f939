//! The cross-entry rules the sequencer enforces, and the indexes they leave behind.

use ledger::entry::EntryError;
use ledger::ledger::{Cursor, DatasetScope, DatasetVersionRow, Ledger, Page, QueryError};
use ledger::sequencer::SubmitError;
use ledger::store::index::Rejection;
use ledger::types::{Digest, LeafIndex};

mod common;
use common::*;

fn ledger() -> Ledger {
    memory_ledger()
}

fn rejected(r: Result<ledger::sequencer::Receipt, SubmitError>) -> Rejection {
    match r {
        Err(SubmitError::Rejected(why)) => why,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn publisher_names_are_first_come_and_change_only_with_the_old_key() {
    let l = ledger();
    let (a, b, c) = (key(1), key(2), key(3));
    let first = l.submit(publisher("acme", &a, &a)).unwrap();
    // Someone else cannot take the name, even signing with the key they bind.
    let r = rejected(l.submit(publisher("acme", &b, &b)));
    assert!(matches!(r, Rejection::NameTaken(ref n) if n == "acme"));
    // The owner moves it to b, signing with a.
    let moved = l.submit(publisher("acme", &b, &a)).unwrap();
    assert_eq!(
        l.publisher("acme").unwrap(),
        Some((b.verifying_key().to_bytes(), moved.index))
    );
    assert!(first.index < moved.index);
    // a no longer owns it.
    assert!(matches!(
        rejected(l.submit(publisher("acme", &c, &a))),
        Rejection::NameTaken(_)
    ));
    // A bad signature is the entry's own rule.
    let mut bytes = publisher("other", &c, &c);
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    assert!(matches!(rejected(l.submit(bytes)), Rejection::Entry(_)));
}

#[test]
fn dataset_versions_need_the_publishers_key_and_are_unique() {
    let l = ledger();
    let (a, b) = (key(1), key(2));
    let (root, _) = stored_set(&l, 1, 5);
    let r = rejected(l.submit(dataset_version("acme", "web", "v1", root, 1, &a, 0)));
    assert!(matches!(r, Rejection::UnknownPublisher(_)));
    l.submit(publisher("acme", &a, &a)).unwrap();
    let r = rejected(l.submit(dataset_version("acme", "web", "v1", root, 1, &b, 0)));
    assert!(matches!(r, Rejection::NotPublisherKey(_)));
    let v1 = l
        .submit(dataset_version("acme", "web", "v1", root, 1, &a, 0))
        .unwrap();
    // Same key, different bytes (another root): still a duplicate version.
    let r = rejected(l.submit(dataset_version(
        "acme",
        "web",
        "v1",
        Digest([6; 32]),
        1,
        &a,
        0,
    )));
    assert!(matches!(r, Rejection::DuplicateVersion(ref k) if k == "acme/web@v1"));
    // Identical bytes: a replay.
    let r = rejected(l.submit(dataset_version("acme", "web", "v1", root, 1, &a, 0)));
    assert!(matches!(r, Rejection::Replay(i) if i == v1.index.0));
    let v2 = l
        .submit(dataset_version("acme", "web", "v2", root, 1, &a, 0))
        .unwrap();
    assert_eq!(
        l.dataset_version("acme", "web", "v1").unwrap(),
        Some(v1.index)
    );
    let all = l.dataset_versions("acme").unwrap();
    assert_eq!(
        all,
        vec![
            ("web".to_string(), "v1".to_string(), v1.index),
            ("web".to_string(), "v2".to_string(), v2.index)
        ]
    );
}

#[test]
fn model_checkpoints_name_only_logged_dataset_versions_and_respect_the_horizon() {
    let l = ledger();
    let a = key(1);
    l.submit(publisher("acme", &a, &a)).unwrap();
    let (root, _) = stored_set(&l, 1, 5);
    let v1 = l
        .submit(dataset_version("acme", "web", "v1", root, 1, &a, 0))
        .unwrap()
        .index;
    let o1 = l.submit(entry(1)).unwrap().index;
    let good = [("acme", "web", "v1", v1, root)];
    let c1 = l
        .submit(model_checkpoint("acme", "m", "c1", &good, 3, &a))
        .unwrap()
        .index;
    // A version that is not logged, or logged at another index or with another root.
    let missing = [("acme", "web", "v9", v1, root)];
    let r = rejected(l.submit(model_checkpoint("acme", "m", "c2", &missing, 3, &a)));
    assert!(matches!(r, Rejection::UnknownDatasetVersion(_)));
    let wrong_root = [("acme", "web", "v1", v1, Digest([9; 32]))];
    let r = rejected(l.submit(model_checkpoint("acme", "m", "c2", &wrong_root, 3, &a)));
    assert!(matches!(r, Rejection::UnknownDatasetVersion(_)));
    // Horizon beyond the entry's own index (the next index is 4).
    let r = rejected(l.submit(model_checkpoint("acme", "m", "c3", &good, 99, &a)));
    assert!(matches!(
        r,
        Rejection::Entry(EntryError::HorizonBeyondIndex { horizon: 99, .. })
    ));
    let c4 = l
        .submit(model_checkpoint("acme", "m", "c4", &good, 4, &a))
        .unwrap()
        .index;
    assert_eq!(l.model_checkpoints("acme", "m").unwrap(), vec![c1, c4]);
    assert_eq!(l.model_checkpoints("acme", "other").unwrap(), vec![]);
    let o2 = l.submit(entry(2)).unwrap().index;
    assert_eq!(l.optouts(None, 10).unwrap(), vec![o1, o2]);
    assert_eq!(l.optouts(Some(o1), 10).unwrap(), vec![o2]);
    assert_eq!(l.optouts(None, 1).unwrap(), vec![o1]);
    assert_eq!(o1, LeafIndex(2));
}

#[test]
fn rules_see_earlier_entries_of_the_same_batch() {
    let l = ledger();
    let a = key(1);
    let (root, _) = stored_set(&l, 1, 5);
    // Submit a publisher and its dataset version together: they may land in one batch.
    let (tx, rx) = std::sync::mpsc::channel();
    let entries = [
        publisher("acme", &a, &a),
        dataset_version("acme", "web", "v1", root, 1, &a, 0),
        dataset_version("acme", "web", "v1", root, 1, &a, 0),
    ];
    for (i, e) in entries.into_iter().enumerate() {
        let tx = tx.clone();
        l.submit_with(e, move |r| tx.send((i, r)).unwrap());
    }
    let mut got: Vec<_> = (0..3).map(|_| rx.recv().unwrap()).collect();
    got.sort_by_key(|(i, _)| *i);
    assert!(got[0].1.is_ok());
    assert!(got[1].1.is_ok());
    assert!(matches!(
        got[2].1,
        Err(SubmitError::Rejected(Rejection::Replay(1)))
    ));
}

#[test]
fn a_corrupt_index_value_fails_the_batch_instead_of_guessing() {
    use ledger::store::index::{publisher_key, replay_key};
    use ledger::store::{Column, Durability, WriteBatch};
    let l = ledger();
    let a = key(1);
    let first = publisher("acme", &a, &a);
    l.submit(first.clone()).unwrap();
    let mut b = WriteBatch::new();
    b.put(Column::Index, publisher_key("acme"), vec![1, 2, 3]);
    b.put(
        Column::Index,
        replay_key(&ledger::leaf_hash(&first)),
        vec![9],
    );
    l.store().write(b, Durability::Synced).unwrap();
    // A key change reads the (now malformed) owner record; a replay reads the replay record.
    for bytes in [publisher("acme", &key(2), &a), first] {
        match l.submit(bytes) {
            Err(SubmitError::Retry(why)) => assert!(
                matches!(
                    *why,
                    ledger::store::StoreError::Corrupt {
                        column: "index",
                        ..
                    }
                ),
                "{why:?}"
            ),
            other => panic!("expected a retry, got {other:?}"),
        }
    }
}

#[test]
fn a_corrupt_dataset_version_value_is_an_error() {
    use ledger::store::index::dataset_version_key;
    use ledger::store::{Column, Durability, WriteBatch};
    let l = ledger();
    let mut b = WriteBatch::new();
    b.put(
        Column::Index,
        dataset_version_key("acme", "web", "v1"),
        vec![1],
    );
    l.store().write(b, Durability::Synced).unwrap();
    assert!(l.dataset_version("acme", "web", "v1").is_err());
}

/// Every page of `list`, following `next` (through its printed form, as a client does).
#[allow(clippy::unwrap_used)] // a test helper: a failed unwrap is a failed test
fn all_pages<T>(
    mut list: impl FnMut(Option<&Cursor>) -> Result<Page<T>, QueryError>,
) -> Vec<Vec<T>> {
    let mut pages = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = list(after.as_ref()).unwrap();
        pages.push(page.items);
        match page.next {
            Some(c) => after = Some(c.to_string().parse().unwrap()),
            None => return pages,
        }
    }
}

/// The typed, paged queries the service lists with: publishers, dataset versions (all, a
/// publisher's, a dataset's), models, checkpoint entries, in index order (length-prefixed names:
/// by length, then bytewise), paged by an opaque cursor.
#[test]
fn paged_queries_list_the_indexes_in_key_order() {
    let l = ledger();
    let (a, b) = (key(1), key(2));
    let (root, _) = stored_set(&l, 1, 5);
    l.submit(publisher("acme", &a, &a)).unwrap();
    let bo = l.submit(publisher("bo", &b, &b)).unwrap().index;
    let version = |p: &str, d: &str, v: &str, k| {
        let i = l
            .submit(dataset_version(p, d, v, root, 1, k, 0))
            .unwrap()
            .index;
        (p.to_string(), d.to_string(), v.to_string(), i)
    };
    let news = version("acme", "news", "1", &a);
    let web2 = version("acme", "web", "v2", &a);
    let web1 = version("acme", "web", "v1", &a);
    let x = version("bo", "x", "1", &b);
    let on = [("acme", "web", "v1", web1.3, root)];
    let ckpt = |m: &str, c: &str| {
        l.submit(model_checkpoint("acme", m, c, &on, 0, &a))
            .unwrap()
            .index
    };
    let (lm1, m1, m2) = (ckpt("lm", "c1"), ckpt("m", "c1"), ckpt("m", "c2"));

    let publishers = all_pages(|c| l.publishers(c, 1));
    assert_eq!(publishers.len(), 2);
    let names: Vec<_> = publishers
        .iter()
        .flatten()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["bo", "acme"]);
    assert_eq!(publishers[0][0].key, b.verifying_key().to_bytes());
    assert_eq!(publishers[0][0].index, bo);

    let row = |r: &DatasetVersionRow| {
        (
            r.publisher.clone(),
            r.dataset.clone(),
            r.version.clone(),
            r.index,
        )
    };
    let versions = |scope: DatasetScope<'_>, limit| {
        all_pages(|c| l.dataset_version_page(scope, c, limit))
            .iter()
            .flatten()
            .map(row)
            .collect::<Vec<_>>()
    };
    let acme = vec![web1.clone(), web2.clone(), news.clone()];
    assert_eq!(versions(DatasetScope::Publisher("acme"), 2), acme);
    assert_eq!(
        versions(DatasetScope::All, 1),
        [&[x.clone()][..], &acme].concat()
    );
    let web = DatasetScope::Dataset {
        publisher: "acme",
        dataset: "web",
    };
    assert_eq!(versions(web, 5), [web1, web2]);

    let models = all_pages(|c| l.models(c, 1));
    let models: Vec<_> = models
        .iter()
        .flatten()
        .map(|m| (m.model.as_str(), m.checkpoints, m.latest))
        .collect();
    assert_eq!(models, [("m", 2, m2), ("lm", 1, lm1)]);
    assert_eq!(l.checkpoint_entries(usize::MAX).unwrap(), [m1, m2, lm1]);
    assert_eq!(l.checkpoint_entries(2).unwrap(), [m1, m2]);
}

/// A cursor is only good for the list that issued it: one from another list (or another
/// publisher's datasets) cannot steer a list into other index records, and one that is not hex
/// is refused before any read.
#[test]
fn foreign_cursor_is_refused_by_every_list() {
    let l = ledger();
    let (a, b) = (key(1), key(2));
    let (root, _) = stored_set(&l, 1, 5);
    l.submit(publisher("acme", &a, &a)).unwrap();
    l.submit(publisher("bo", &b, &b)).unwrap();
    for (p, k) in [("acme", &a), ("acme", &a), ("bo", &b), ("bo", &b)] {
        let v = format!("v{}", l.checkpoint().size().0);
        l.submit(dataset_version(p, "d", &v, root, 1, k, 0))
            .unwrap();
    }
    let publishers = l.publishers(None, 1).unwrap().next.unwrap();
    let bo = DatasetScope::Publisher("bo");
    let of_bo = l.dataset_version_page(bo, None, 1).unwrap().next.unwrap();
    let acme = DatasetScope::Publisher("acme");
    // Each cursor works in its own list.
    assert_eq!(l.publishers(Some(&publishers), 1).unwrap().items.len(), 1);
    assert_eq!(
        l.dataset_version_page(bo, Some(&of_bo), 5)
            .unwrap()
            .items
            .len(),
        1
    );
    // And nowhere else.
    fn refused<T>(r: Result<T, QueryError>) -> bool {
        matches!(r, Err(QueryError::BadCursor))
    }
    assert!(refused(l.dataset_version_page(acme, Some(&of_bo), 5)));
    assert!(refused(l.dataset_version_page(
        DatasetScope::All,
        Some(&publishers),
        5
    )));
    assert!(refused(l.publishers(Some(&of_bo), 5)));
    assert!(refused(l.models(Some(&publishers), 5)));
    assert!(matches!("zz".parse::<Cursor>(), Err(QueryError::BadCursor)));
}
