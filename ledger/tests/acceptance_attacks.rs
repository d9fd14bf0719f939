//! Issue 11's attacks on the acceptance rules, each staged against a ledger on the in-memory
//! store and each refused with its own rejection: entries naming sets that were never stored
//! (or over unsorted leaves, or with a wrong size), opt-outs that would jam every compliance
//! answer, entries replayed from another log or stamped at another time, and horizons that go
//! backwards. Every test here was accepted by the sequencer before these rules.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use ledger::entry::{DatasetRef, Entry, EntryBody, ModelCheckpoint, OptOut, OptOutIds, Scope};
use ledger::ledger::Ledger;
use ledger::sequencer::{Receipt, SequencerConfig, SubmitError};
use ledger::set::SetLeaf;
use ledger::store::index::{Rejection, SetRole};
use ledger::store::MemoryStore;
use ledger::types::{ContentId, Digest, LeafIndex};
use ledger::{merkle, Blake3Set};

mod common;
use common::*;

fn rejected(r: Result<Receipt, SubmitError>) -> Rejection {
    match r {
        Err(SubmitError::Rejected(why)) => why,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// A ledger named `origin` with `config`, and no sets.
fn ledger_with(origin: &str, config: SequencerConfig) -> Ledger {
    Ledger::create_with_store(Arc::new(MemoryStore::new()), signer(origin), config).unwrap()
}

/// A ledger with publisher `acme` (key 1) registered; its key.
fn with_acme() -> (Ledger, ed25519_dalek::SigningKey) {
    let l = memory_ledger();
    let k = key(1);
    l.submit(publisher("acme", &k, &k)).unwrap();
    (l, k)
}

/// A signed (by `by`) or anonymous opt-out naming the set `root` of `size` ids.
fn optout_set(root: Digest, size: u64, by: Option<&ed25519_dalek::SigningKey>) -> Vec<u8> {
    let o = OptOut {
        ids: Some(OptOutIds::Set { root, size }),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: None,
    };
    let e = match by {
        Some(k) => Entry::sign(LOG, EntryBody::OptOut(o), now(), Some(1), k),
        None => Entry::anonymous(LOG, o, now(), Some(1)),
    };
    e.unwrap().as_bytes().to_vec()
}

/// An anonymous opt-out of one id stamped at `time`.
fn optout_at(time: u64, nonce: u64) -> Vec<u8> {
    let o = OptOut {
        ids: Some(OptOutIds::Inline(vec![ContentId::of(b"some document")])),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: None,
    };
    Entry::anonymous(LOG, o, time, Some(nonce))
        .unwrap()
        .as_bytes()
        .to_vec()
}

#[test]
fn forged_unsorted_set_dataset_version_is_refused() {
    let (l, k) = with_acme();
    // Three ids a < x < c, laid out as [a, c, x]: a root over them "proves" x excluded (between
    // a and c) and included (at position 2) at once.
    let mut ids = [
        ContentId::of(b"item a"),
        ContentId::of(b"item b"),
        ContentId::of(b"item c"),
    ];
    ids.sort();
    let (a, x, c) = (ids[0], ids[1], ids[2]);
    let unsorted: Vec<SetLeaf> = [a, c, x].into_iter().map(SetLeaf::id_only).collect();
    let hashes: Vec<Digest> = unsorted.iter().map(SetLeaf::leaf_hash).collect();
    let forged_root = merkle::root::<Blake3Set>(&hashes);
    // The set store never stores such a set, so no upload can make the root stored...
    let mut w = l.set_writer();
    w.push(&unsorted[0]).unwrap();
    w.push(&unsorted[1]).unwrap();
    assert!(w.push(&unsorted[2]).is_err(), "unsorted leaves are refused");
    // ...and a version naming it is refused.
    let r = rejected(l.submit(dataset_version("acme", "web", "v1", forged_root, 3, &k, 0)));
    assert_eq!(
        r,
        Rejection::SetNotStored {
            root: forged_root,
            role: SetRole::Manifest
        }
    );
    assert_eq!(l.dataset_version("acme", "web", "v1").unwrap(), None);
}

#[test]
fn dataset_version_naming_unstored_root_is_refused() {
    let (l, k) = with_acme();
    let never_uploaded = set_of(10, 1);
    let r = rejected(l.submit(dataset_version(
        "acme",
        "web",
        "v1",
        never_uploaded.root(),
        10,
        &k,
        0,
    )));
    assert_eq!(
        r,
        Rejection::SetNotStored {
            root: never_uploaded.root(),
            role: SetRole::Manifest
        }
    );
    // Once stored, the same entry is accepted, and the root is named.
    store(&l, &never_uploaded);
    assert!(!l.set_is_named(&never_uploaded.root()).unwrap());
    l.submit(dataset_version(
        "acme",
        "web",
        "v1",
        never_uploaded.root(),
        10,
        &k,
        0,
    ))
    .unwrap();
    assert!(l.set_is_named(&never_uploaded.root()).unwrap());
}

#[test]
fn dataset_version_with_wrong_item_count_is_refused() {
    let (l, k) = with_acme();
    let (root, size) = stored_set(&l, 5, 2);
    for claimed in [4, 6, 0] {
        let r = rejected(l.submit(dataset_version("acme", "web", "v1", root, claimed, &k, 0)));
        assert_eq!(
            r,
            Rejection::SetSizeMismatch {
                root,
                role: SetRole::Manifest,
                stored: size,
                claimed
            }
        );
    }
    l.submit(dataset_version("acme", "web", "v1", root, 5, &k, 0))
        .unwrap();
}

#[test]
fn optout_naming_unstored_set_is_refused() {
    let l = memory_ledger();
    let never_uploaded = set_of(3, 3);
    let r = rejected(l.submit(optout_set(never_uploaded.root(), 3, Some(&key(9)))));
    assert_eq!(
        r,
        Rejection::SetNotStored {
            root: never_uploaded.root(),
            role: SetRole::OptOutSet
        }
    );
    assert_eq!(l.optouts(None, 10).unwrap(), vec![]);
}

#[test]
fn optout_set_with_wrong_size_is_refused() {
    let l = memory_ledger();
    let (root, _) = stored_set(&l, 5, 4);
    let r = rejected(l.submit(optout_set(root, 4, Some(&key(9)))));
    assert_eq!(
        r,
        Rejection::SetSizeMismatch {
            root,
            role: SetRole::OptOutSet,
            stored: 5,
            claimed: 4
        }
    );
    let ok = l.submit(optout_set(root, 5, Some(&key(9)))).unwrap();
    assert_eq!(l.optouts(None, 10).unwrap(), vec![ok.index]);
    assert!(l.set_is_named(&root).unwrap());
}

#[test]
fn anonymous_optout_with_set_is_refused() {
    let l = memory_ledger();
    // Even a stored set of the right size: anonymous opt-outs carry inline ids only.
    let (root, size) = stored_set(&l, 5, 5);
    let r = rejected(l.submit(optout_set(root, size, None)));
    assert_eq!(r, Rejection::AnonymousOptOutSet);
    assert_eq!(l.optouts(None, 10).unwrap(), vec![]);
}

#[test]
fn optout_set_over_limit_is_refused() {
    assert_eq!(SequencerConfig::default().max_optout_set, 10_000);
    let l = ledger_with(
        LOG,
        SequencerConfig {
            max_optout_set: 10,
            ..SequencerConfig::default()
        },
    );
    let (big, _) = stored_set(&l, 11, 6);
    let r = rejected(l.submit(optout_set(big, 11, Some(&key(9)))));
    assert_eq!(r, Rejection::OptOutSetTooLarge { size: 11, max: 10 });
    let (at_limit, _) = stored_set(&l, 10, 6);
    l.submit(optout_set(at_limit, 10, Some(&key(9)))).unwrap();
}

#[test]
fn checkpoint_with_unstored_weights_is_refused() {
    // No weights set stored: the checkpoint fixture names weights() which is not there.
    let l = bare_memory_ledger();
    let k = key(1);
    l.submit(publisher("acme", &k, &k)).unwrap();
    let (root, n) = stored_set(&l, 2, 7);
    let v = l
        .submit(dataset_version("acme", "web", "v1", root, n, &k, 0))
        .unwrap()
        .index;
    let trained = [("acme", "web", "v1", v, root)];
    let r = rejected(l.submit(model_checkpoint("acme", "m", "c1", &trained, 2, &k)));
    assert_eq!(
        r,
        Rejection::SetNotStored {
            root: weights().root(),
            role: SetRole::Weights
        }
    );
    // A stored set of another size than weights_count is refused too.
    let body = |count: u64| {
        EntryBody::ModelCheckpoint(ModelCheckpoint {
            publisher: name("acme"),
            model: name("m"),
            checkpoint: name("c1"),
            weights_root: root,
            weights_count: count,
            datasets: vec![DatasetRef {
                publisher: name("acme"),
                dataset: name("web"),
                version: name("v1"),
                index: v,
                manifest_root: root,
            }],
            optout_horizon: 2,
        })
    };
    let wrong = Entry::sign(LOG, body(3), now(), None, &k).unwrap();
    assert_eq!(
        rejected(l.submit(wrong.as_bytes().to_vec())),
        Rejection::SetSizeMismatch {
            root,
            role: SetRole::Weights,
            stored: 2,
            claimed: 3
        }
    );
    store(&l, &weights());
    let c = l
        .submit(model_checkpoint("acme", "m", "c1", &trained, 2, &k))
        .unwrap();
    assert_eq!(l.model_checkpoints("acme", "m").unwrap(), vec![c.index]);
    assert!(l.set_is_named(&weights().root()).unwrap());
}

#[test]
fn cross_log_replay_is_refused() {
    let a = ledger_with("a.example/log", SequencerConfig::default());
    let b = ledger_with("b.example/log", SequencerConfig::default());
    let k = key(1);
    let body = EntryBody::Publisher(ledger::entry::Publisher {
        name: name("acme"),
        key: k.verifying_key(),
    });
    let entry = Entry::sign("a.example/log", body, now(), None, &k).unwrap();
    a.submit(entry.as_bytes().to_vec()).unwrap();
    let r = rejected(b.submit(entry.as_bytes().to_vec()));
    assert_eq!(
        r,
        Rejection::WrongLog {
            expected: "b.example/log".into(),
            found: "a.example/log".into()
        }
    );
    assert_eq!(b.publisher("acme").unwrap(), None);
    // Rewriting `log` to B's origin breaks the signature, which covers it.
    let mut m: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(entry.as_bytes()).unwrap();
    m.insert("log".into(), "b.example/log".into());
    let moved = serde_json_canonicalizer::to_vec(&m).unwrap();
    assert!(matches!(
        rejected(b.submit(moved)),
        Rejection::Entry(ledger::entry::EntryError::BadSignature)
    ));
}

#[test]
fn v1_entry_submission_is_refused_but_old_v1_entries_still_verify() {
    let l = memory_ledger();
    let k = key(1);
    let body = EntryBody::Publisher(ledger::entry::Publisher {
        name: name("acme"),
        key: k.verifying_key(),
    });
    let v1 = Entry::sign_v1(body, now(), None, &k).unwrap();
    assert_eq!(
        rejected(l.submit(v1.as_bytes().to_vec())),
        Rejection::UnboundEntry
    );
    let anon = Entry::anonymous_v1(
        OptOut {
            ids: Some(OptOutIds::Inline(vec![ContentId::of(b"doc")])),
            sites: vec![],
            scope: vec![Scope::TrainAi],
            passages: None,
        },
        now(),
        None,
    )
    .unwrap();
    assert_eq!(
        rejected(l.submit(anon.as_bytes().to_vec())),
        Rejection::UnboundEntry
    );
    // A v1 entry still decodes and verifies (old logs, the v1 fixture).
    let back = Entry::from_bytes(v1.as_bytes()).unwrap();
    assert_eq!(back.log(), None);
    assert_eq!(back.signer(), Some(&k.verifying_key()));
    assert_eq!(l.checkpoint().size().0, 0);
}

#[test]
fn time_skew_is_refused() {
    let l = memory_ledger();
    let t = now();
    let ten_years = 10 * 365 * 24 * 3600;
    for (i, time) in [0, t + ten_years, t + 11 * 60, t - 11 * 60]
        .into_iter()
        .enumerate()
    {
        match rejected(l.submit(optout_at(time, i as u64))) {
            Rejection::TimeSkew { time: got, now } => {
                assert_eq!(got, time);
                assert!(now.abs_diff(t) < 60, "the sequencer's clock: {now}");
            }
            other => panic!("time {time}: {other:?}"),
        }
    }
    assert_eq!(l.checkpoint().size().0, 0);
    for (i, time) in [t + 5 * 60, t - 5 * 60, t].into_iter().enumerate() {
        l.submit(optout_at(time, 100 + i as u64)).unwrap();
    }
    // The skew is configurable.
    let strict = ledger_with(
        LOG,
        SequencerConfig {
            max_skew: Duration::from_secs(60),
            ..SequencerConfig::default()
        },
    );
    assert!(matches!(
        rejected(strict.submit(optout_at(t + 5 * 60, 1))),
        Rejection::TimeSkew { .. }
    ));
}

#[test]
fn backwards_horizon_is_refused() {
    let (l, k) = with_acme();
    let (root, n) = stored_set(&l, 2, 8);
    let v = l
        .submit(dataset_version("acme", "web", "v1", root, n, &k, 0))
        .unwrap()
        .index;
    let trained = [("acme", "web", "v1", v, root)];
    l.submit(entry(1)).unwrap();
    // At index 3, covering the opt-out at 2.
    l.submit(model_checkpoint("acme", "m", "c1", &trained, 3, &k))
        .unwrap();
    let r = rejected(l.submit(model_checkpoint("acme", "m", "c2", &trained, 2, &k)));
    assert_eq!(
        r,
        Rejection::HorizonBackwards {
            previous: 3,
            horizon: 2
        }
    );
    // The same horizon again is fine, and another model has its own horizon.
    l.submit(model_checkpoint("acme", "m", "c3", &trained, 3, &k))
        .unwrap();
    l.submit(model_checkpoint("acme", "other", "c1", &trained, 1, &k))
        .unwrap();
    // Within one batch: a checkpoint sees the horizon of the one before it.
    let (tx, rx) = std::sync::mpsc::channel();
    let batch = [
        model_checkpoint("acme", "m2", "c1", &trained, 5, &k),
        model_checkpoint("acme", "m2", "c2", &trained, 2, &k),
    ];
    for (i, e) in batch.into_iter().enumerate() {
        let tx = tx.clone();
        l.submit_with(e, move |r| tx.send((i, r)).unwrap());
    }
    let mut got: Vec<_> = (0..2).map(|_| rx.recv().unwrap()).collect();
    got.sort_by_key(|(i, _)| *i);
    assert!(got[0].1.is_ok());
    assert!(matches!(
        got[1].1,
        Err(SubmitError::Rejected(Rejection::HorizonBackwards {
            previous: 5,
            horizon: 2
        }))
    ));
}

#[test]
fn sets_named_by_entries_are_indexed_and_others_are_not() {
    let (l, k) = with_acme();
    let (manifest, n) = stored_set(&l, 3, 9);
    let (optouts, m) = stored_set(&l, 4, 10);
    let (unnamed, _) = stored_set(&l, 5, 11);
    let v = l
        .submit(dataset_version("acme", "web", "v1", manifest, n, &k, 0))
        .unwrap()
        .index;
    l.submit(optout_set(optouts, m, Some(&key(9)))).unwrap();
    l.submit(model_checkpoint(
        "acme",
        "m",
        "c1",
        &[("acme", "web", "v1", v, manifest)],
        3,
        &k,
    ))
    .unwrap();
    for named in [manifest, optouts, weights().root()] {
        assert!(l.set_is_named(&named).unwrap(), "{named}");
    }
    assert!(!l.set_is_named(&unnamed).unwrap());
    assert!(!l.set_is_named(&Digest([1; 32])).unwrap());
    assert_eq!(v, LeafIndex(1));
}

/// Set collection (which holds the naming lock while it decides and deletes) and the sequencer
/// (which holds it from checking an entry's sets to the durable write) never interleave: while
/// the lock is held elsewhere, no entry is integrated.
#[test]
fn the_sequencer_checks_sets_under_the_naming_lock() {
    let l = memory_ledger();
    let (root, size) = stored_set(&l, 3, 12);
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let _collecting = l.sets().naming_lock();
        l.submit_with(optout_set(root, size, Some(&key(9))), move |r| {
            tx.send(r.map(|r| r.index)).unwrap()
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "integrated while the naming lock was held"
        );
        assert!(!l.set_is_named(&root).unwrap());
    }
    let index = rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
    assert_eq!(index, LeafIndex(0));
    assert!(l.set_is_named(&root).unwrap());
}

/// Issue 13: an opt-out naming sites, signed by `by` or anonymous.
fn optout_sites(sites: &[&str], by: Option<&ed25519_dalek::SigningKey>) -> Vec<u8> {
    let o = OptOut {
        ids: None,
        sites: sites
            .iter()
            .map(|s| ledger::source::Site::parse_canonical(s).unwrap())
            .collect(),
        scope: vec![Scope::TrainAi],
        passages: None,
    };
    let e = match by {
        Some(k) => Entry::sign(LOG, EntryBody::OptOut(o), now(), Some(1), k),
        None => Entry::anonymous(LOG, o, now(), Some(1)),
    };
    e.unwrap().as_bytes().to_vec()
}

/// An anonymous opt-out of a whole domain would let anyone "opt out" a site they do not control
/// and leave every verifier unable to tell: refused; signed, it is accepted (its control is for
/// verifiers to check against the key the site publishes).
#[test]
fn anonymous_optout_naming_sites_is_refused() {
    let l = memory_ledger();
    let r = rejected(l.submit(optout_sites(&["example.com"], None)));
    assert_eq!(r, Rejection::AnonymousSites);
    assert_eq!(l.optouts(None, 10).unwrap(), vec![]);
    let ok = l
        .submit(optout_sites(
            &["example.com", "https://other.org/blog/"],
            Some(&key(9)),
        ))
        .unwrap();
    assert_eq!(l.optouts(None, 10).unwrap(), vec![ok.index]);
}

/// `ai-use` left the aipref vocabulary: a new opt-out with it is refused, so no new entry carries
/// a label whose meaning nobody defines any more...
#[test]
fn new_optout_with_withdrawn_scope_is_refused() {
    let l = memory_ledger();
    let o = OptOut {
        ids: Some(OptOutIds::Inline(vec![ContentId::of(b"doc")])),
        sites: vec![],
        scope: vec![Scope::AiUse, Scope::TrainAi],
        passages: None,
    };
    let e = Entry::anonymous(LOG, o, now(), None).unwrap();
    let r = rejected(l.submit(e.as_bytes().to_vec()));
    assert_eq!(
        r,
        Rejection::ScopeWithdrawn {
            scope: Scope::AiUse
        }
    );
    assert_eq!(l.optouts(None, 10).unwrap(), vec![]);
}

/// ...while one already logged stays valid: the rules replayed by an auditor (`now: None`)
/// accept it.
#[test]
fn logged_optout_with_withdrawn_scope_still_replays() {
    use ledger::store::index::{apply, BatchIndex, Prepared, RuleContext, SetLookup};
    struct NoSets;
    impl SetLookup for NoSets {
        fn stored_size(&self, _: &Digest) -> Result<Option<u64>, ledger::store::StoreError> {
            Ok(None)
        }
    }
    let o = OptOut {
        ids: Some(OptOutIds::Inline(vec![ContentId::of(b"doc")])),
        sites: vec![],
        scope: vec![Scope::AiUse, Scope::TrainAi],
        passages: None,
    };
    let entry = Entry::anonymous(LOG, o, now(), None).unwrap();
    let p = Prepared {
        leaf_hash: entry.leaf_hash(),
        entry,
    };
    let store = MemoryStore::new();
    let mut ctx = RuleContext {
        origin: LOG,
        now: None,
        max_skew_secs: 600,
        max_optout_set: 10,
        max_optout_passages: 4096,
    };
    let mut view = BatchIndex::new(&store);
    assert_eq!(apply(&mut view, &NoSets, &ctx, &p, LeafIndex(0)), Ok(()));
    ctx.now = Some(now());
    let mut view = BatchIndex::new(&store);
    assert_eq!(
        apply(&mut view, &NoSets, &ctx, &p, LeafIndex(0)),
        Err(Rejection::ScopeWithdrawn {
            scope: Scope::AiUse
        })
    );
}
