#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

//! Each test is an attack on a passage opt-out's verdict, decided over entries whose log
//! positions are given (`decide_report`; the tlog-proofs around it are `verify_bundle`'s, tested
//! with a real log in ledger/tests).

use ed25519_dalek::SigningKey;

use super::*;
use crate::compliance::{
    decide_report, BundleReport, ComplianceBundle, Conclusion, Decision, Policy, SetEvidence,
    SiteControl, Verdict,
};
use crate::entry::{
    CorpusMode, DatasetRef, DatasetVersion, ModelCheckpoint, Name, OptOut, OptOutIds, Scope,
};
use crate::range::{range_multi_proof, RangeError, RangeTree};
use crate::set::{SetLeaf, SortedSet};
use crate::types::Digest;

const LOG: &str = "example.org/log";

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn cid(s: &str) -> ContentId {
    ContentId::of(s.as_bytes())
}

/// The opted-out work: three passages. Item "record" of version `web@0` holds the second one
/// (and an unrelated passage); "other" holds nothing of the work.
struct World {
    work: ContentId,
    work_tree: RangeTree,
    web: RangeTree,
    manifest: SortedSet,
}

fn pid(i: u32) -> ContentId {
    cid(&format!("passage {i}"))
}

fn world() -> World {
    let work = cid("the essay");
    let work_tree =
        RangeTree::from_unsorted((0..3).map(|i| RangeLeaf::passage(&pid(i), &work)).collect());
    let (record, other) = (cid("record"), cid("other"));
    let mut web_leaves = vec![
        RangeLeaf::passage(&pid(1), &record),
        RangeLeaf::passage(&pid(7), &record),
    ];
    for i in 10..30 {
        web_leaves.push(RangeLeaf::passage(&pid(i), &other));
    }
    let web = RangeTree::from_unsorted(web_leaves);
    let mut items: Vec<SetLeaf> = [record, other]
        .iter()
        .map(|&c| SetLeaf {
            cid: c,
            size: 1,
            meta: Digest::default(),
        })
        .collect();
    items.sort_by_key(|l| l.cid);
    World {
        work,
        work_tree,
        web,
        manifest: SortedSet::new(items).unwrap(),
    }
}

fn tree_ref(t: &RangeTree) -> SetRef {
    SetRef {
        root: t.root(),
        size: t.size().0,
    }
}

fn version(w: &World, v: &str, passages: Option<SetRef>) -> DatasetVersion {
    DatasetVersion {
        publisher: name("acme"),
        dataset: name("web"),
        version: name(v),
        manifest_root: w.manifest.root(),
        item_count: w.manifest.size().0,
        total_bytes: 2,
        corpus_mode: CorpusMode::JsonLines {
            field: "text".into(),
        },
        licence: "CC0-1.0".into(),
        previous: None,
        sources: None,
        passages,
    }
}

fn at(index: u64, entry: Entry) -> IndexedEntry {
    IndexedEntry {
        index: LeafIndex(index),
        entry,
    }
}

/// The log: 0 `web@0` (with its passage tree, unless `dropped`), 1 `web@1` (never one), 2 the
/// work's opt-out (signed by the writer unless `anonymous`), 3 the checkpoint, horizon 3.
struct Log {
    model: IndexedEntry,
    datasets: Vec<IndexedEntry>,
    optouts: Vec<IndexedEntry>,
}

fn log(w: &World, dropped: bool, anonymous: bool) -> Log {
    let publisher = key(1);
    let web0 = version(w, "0", (!dropped).then(|| tree_ref(&w.web)));
    let web1 = version(w, "1", None);
    let datasets = vec![
        at(
            0,
            Entry::sign(LOG, EntryBody::DatasetVersion(web0), 1, None, &publisher).unwrap(),
        ),
        at(
            1,
            Entry::sign(LOG, EntryBody::DatasetVersion(web1), 1, None, &publisher).unwrap(),
        ),
    ];
    let optout = OptOut {
        ids: Some(OptOutIds::Inline(vec![w.work])),
        sites: vec![],
        passages: Some(tree_ref(&w.work_tree)),
        scope: vec![Scope::TrainAi],
    };
    let optout = if anonymous {
        Entry::anonymous(LOG, optout, 2, None).unwrap()
    } else {
        Entry::sign(LOG, EntryBody::OptOut(optout), 2, None, &key(2)).unwrap()
    };
    let refs = datasets
        .iter()
        .map(|d| {
            let EntryBody::DatasetVersion(v) = d.entry.body() else {
                unreachable!()
            };
            DatasetRef {
                publisher: v.publisher.clone(),
                dataset: v.dataset.clone(),
                version: v.version.clone(),
                index: d.index,
                manifest_root: v.manifest_root,
            }
        })
        .collect();
    let model = ModelCheckpoint {
        publisher: name("acme"),
        model: name("m"),
        checkpoint: name("1"),
        weights_root: Digest([3; 32]),
        weights_count: 1,
        datasets: refs,
        optout_horizon: 3,
    };
    Log {
        model: at(
            3,
            Entry::sign(LOG, EntryBody::ModelCheckpoint(model), 3, None, &publisher).unwrap(),
        ),
        datasets,
        optouts: vec![at(2, optout)],
    }
}

/// What an honest service puts in the bundle for the log (the work's cid is in no manifest
/// proof here: the multi-proof for `ids` is built too).
struct Evidence {
    multi: Vec<crate::compliance::BundleMultiProof>,
    leaves: Vec<BundlePassageOptOut>,
    proofs: Vec<BundlePassageProof>,
}

fn honest(w: &World, l: &Log) -> Evidence {
    let leaves: Vec<BundlePassageOptOut> = required_passage_optouts(&l.optouts)
        .into_iter()
        .map(|(optout, _)| BundlePassageOptOut {
            optout,
            leaves: w.work_tree.leaves().to_vec(),
        })
        .collect();
    let proofs = required_passage_proofs(&l.datasets, &l.optouts)
        .into_iter()
        .map(|need| {
            assert_eq!(need.tree, tree_ref(&w.web));
            assert_eq!(need.optout_passages, tree_ref(&w.work_tree));
            BundlePassageProof {
                optout: need.optout,
                dataset: need.dataset,
                proof: range_multi_proof(
                    &w.web,
                    &passage_ranges(w.work_tree.leaves()),
                    PASSAGE_REVEAL,
                )
                .unwrap(),
            }
        })
        .collect();
    let multi = l
        .datasets
        .iter()
        .map(|d| {
            let EntryBody::DatasetVersion(v) = d.entry.body() else {
                unreachable!()
            };
            crate::compliance::BundleMultiProof {
                dataset: v.key().to_string(),
                proof: crate::set::multi::multi_proof(&w.manifest, &[w.work]).unwrap(),
            }
        })
        .collect();
    Evidence {
        multi,
        leaves,
        proofs,
    }
}

fn decide(l: &Log, e: &Evidence) -> Result<Decision, ComplianceError> {
    decide_report(
        &l.model,
        &l.datasets,
        &l.optouts,
        &[],
        &SetEvidence {
            proofs: &[],
            multi: &e.multi,
            sources: &[],
            passage_optouts: &e.leaves,
            passages: &e.proofs,
        },
    )
}

#[test]
fn a_passage_of_an_opted_out_work_found_in_a_version_is_a_violation_naming_it() {
    let w = world();
    let l = log(&w, false, false);
    let d = decide(&l, &honest(&w, &l)).unwrap();
    assert_eq!(
        d.verdict,
        Verdict::Violated {
            violations: vec![],
            site_violations: vec![],
        }
    );
    assert_eq!(
        d.passage_violations,
        vec![PassageViolation {
            optout_index: LeafIndex(2),
            dataset: "acme/web@0".into(),
            work: w.work,
            passage: pid(1),
            items: vec![cid("record")],
            count: 1,
        }]
    );
    // web@1 has no passage tree: reported, not a violation.
    assert_eq!(
        d.passages_unchecked,
        vec![PassageUnchecked {
            optout_index: LeafIndex(2),
            dataset: "acme/web@1".into(),
        }]
    );
}

#[test]
fn a_bundle_that_omits_a_passage_proof_is_invalid() {
    let w = world();
    let l = log(&w, false, false);
    let mut e = honest(&w, &l);
    assert_eq!(e.proofs.len(), 1);
    e.proofs.clear();
    assert_eq!(
        decide(&l, &e),
        Err(ComplianceError::MissingPassageProof {
            optout_index: 2,
            dataset: "acme/web@0".into(),
        })
    );
    // And one that omits the opt-out's leaves (so that nothing can be asked).
    let mut e = honest(&w, &l);
    e.leaves.clear();
    assert_eq!(
        decide(&l, &e),
        Err(ComplianceError::MissingPassageOptOut { index: 2 })
    );
}

#[test]
fn a_passage_proof_that_hides_the_violating_item_is_refused() {
    let w = world();
    let l = log(&w, false, false);
    let mut e = honest(&w, &l);
    // The honest proof reveals the `record` leaf of passage 1; the forger proves the passage
    // ranges without it: a proof made for passages 0 and 2 only, and one with the leaf cut.
    let ranges = passage_ranges(w.work_tree.leaves());
    let without: Vec<Range> = ranges
        .iter()
        .filter(|r| !r.contains(RangeLeaf::passage(&pid(1), &cid("record")).as_bytes()))
        .cloned()
        .collect();
    assert_eq!(without.len(), 2);
    e.proofs[0].proof = range_multi_proof(&w.web, &without, PASSAGE_REVEAL).unwrap();
    assert!(matches!(
        decide(&l, &e),
        Err(ComplianceError::PassageProof { optout_index: 2, ref dataset, .. }) if dataset == "acme/web@0"
    ));
    let mut e = honest(&w, &l);
    let record = RangeLeaf::passage(&pid(1), &cid("record"));
    let before = e.proofs[0].proof.leaves.len();
    e.proofs[0].proof.leaves.retain(|l| l.leaf != record);
    assert_eq!(e.proofs[0].proof.leaves.len(), before - 1);
    assert!(matches!(
        decide(&l, &e),
        Err(ComplianceError::PassageProof { .. })
    ));
    // A flipped bit in the proof.
    let mut e = honest(&w, &l);
    e.proofs[0].proof.hashes[0].0[0] ^= 1;
    assert!(matches!(
        decide(&l, &e),
        Err(ComplianceError::PassageProof {
            source,
            ..
        }) if *source == RangeError::RootMismatch
    ));
}

#[test]
fn passage_leaves_that_do_not_match_the_optout_root_are_refused() {
    let w = world();
    let l = log(&w, false, false);
    // The violating passage dropped from the opt-out's leaves: its proof would say nothing.
    let mut e = honest(&w, &l);
    e.leaves[0].leaves.remove(
        w.work_tree
            .leaves()
            .iter()
            .position(|x| x.split_passage().unwrap().0 == pid(1))
            .unwrap(),
    );
    assert_eq!(
        decide(&l, &e),
        Err(ComplianceError::PassageLeaves { index: 2 })
    );
    // Another work's leaves; and the right leaves out of order.
    let mut e = honest(&w, &l);
    e.leaves[0].leaves = vec![RangeLeaf::passage(&pid(9), &w.work)];
    assert_eq!(
        decide(&l, &e),
        Err(ComplianceError::PassageLeaves { index: 2 })
    );
    let mut e = honest(&w, &l);
    e.leaves[0].leaves.reverse();
    assert_eq!(
        decide(&l, &e),
        Err(ComplianceError::PassageLeaves { index: 2 })
    );
    // Twice.
    let mut e = honest(&w, &l);
    e.leaves.push(e.leaves[0].clone());
    assert_eq!(
        decide(&l, &e),
        Err(ComplianceError::DuplicatePassageOptOut { index: 2 })
    );
}

#[test]
fn a_publisher_that_drops_the_passage_tree_is_unchecked_not_violated() {
    let w = world();
    let l = log(&w, true, false);
    let e = honest(&w, &l);
    assert!(
        e.proofs.is_empty(),
        "no version has a tree: nothing to prove"
    );
    let d = decide(&l, &e).unwrap();
    // The work's passage is in `record`, but no tree commits to it: the verdict cannot say so.
    assert_eq!(d.verdict, Verdict::Compliant);
    assert!(d.passage_violations.is_empty());
    assert_eq!(
        d.passages_unchecked
            .iter()
            .map(|u| u.dataset.as_str())
            .collect::<Vec<_>>(),
        ["acme/web@0", "acme/web@1"]
    );
    // A proof for a version without a tree is one no verifier asked for.
    let with_tree = log(&w, false, false);
    let mut e2 = honest(&w, &l);
    e2.proofs = honest(&w, &with_tree).proofs;
    assert_eq!(
        decide(&l, &e2),
        Err(ComplianceError::UnusedPassageProof {
            optout_index: 2,
            dataset: "acme/web@0".into(),
        })
    );
}

#[test]
fn an_anonymous_optouts_passages_bind_nothing() {
    let w = world();
    let l = log(&w, false, true);
    let e = honest(&w, &l);
    assert!(e.leaves.is_empty() && e.proofs.is_empty());
    let d = decide(&l, &e).unwrap();
    assert_eq!(d.verdict, Verdict::Compliant);
    assert!(d.passage_violations.is_empty() && d.passages_unchecked.is_empty());
    // Evidence for it anyway: refused (one bundle, one meaning).
    let signed = log(&w, false, false);
    let mut e = honest(&w, &l);
    e.leaves = honest(&w, &signed).leaves;
    assert_eq!(
        decide(&l, &e),
        Err(ComplianceError::UnusedPassageOptOut { index: 2 })
    );
}

#[test]
fn passage_proofs_are_counted_once_and_for_named_versions_only() {
    let w = world();
    let l = log(&w, false, false);
    let mut e = honest(&w, &l);
    e.proofs.push(e.proofs[0].clone());
    assert_eq!(
        decide(&l, &e),
        Err(ComplianceError::DuplicatePassageProof {
            optout_index: 2,
            dataset: "acme/web@0".into(),
        })
    );
    let mut e = honest(&w, &l);
    e.proofs[0].dataset = "acme/web@9".into();
    assert_eq!(
        decide(&l, &e),
        Err(ComplianceError::UnnamedDataset {
            dataset: "acme/web@9".into(),
        })
    );
}

#[test]
fn a_passage_violation_concludes_violated() {
    let w = world();
    let l = log(&w, false, false);
    let d = decide(&l, &honest(&w, &l)).unwrap();
    let report = |d: Decision| BundleReport {
        verdict: d.verdict,
        model_index: LeafIndex(3),
        model_time: 3,
        horizon: 3,
        checkpoint_size: TreeSize(4),
        horizon_time: None,
        optout_indices: [LeafIndex(2)].into(),
        sites_unproven: d.sites_unproven,
        site_optouts: d.site_optouts,
        passage_violations: d.passage_violations,
        passages_unchecked: d.passages_unchecked,
    };
    let offline = SiteControl::offline();
    assert_eq!(
        report(d).conclude(Some(true), None, &Policy::default(), &offline),
        Conclusion::Violated
    );
    // Unchecked versions alone leave it compliant.
    let l = log(&w, true, false);
    let d = decide(&l, &honest(&w, &l)).unwrap();
    assert!(!d.passages_unchecked.is_empty());
    assert_eq!(
        report(d).conclude(Some(true), None, &Policy::default(), &offline),
        Conclusion::Compliant
    );
}

#[test]
fn old_bundles_without_passage_fields_read_and_new_empty_ones_write_none() {
    let old = r#"{"checkpoint":"c","model_checkpoint":{"entry":"e","proof":"p"},
        "datasets":[],"optouts":[],"optout_sets":[],"set_proofs":[]}"#;
    let b: ComplianceBundle = serde_json::from_str(old).unwrap();
    assert!(b.passage_optouts.is_empty() && b.passage_proofs.is_empty());
    let text = serde_json::to_string(&b).unwrap();
    assert!(!text.contains("passage"), "{text}");
    // With them: the field names of the format.
    let w = world();
    let l = log(&w, false, false);
    let e = honest(&w, &l);
    let mut b = b;
    b.passage_optouts = e.leaves;
    b.passage_proofs = e.proofs;
    let v: serde_json::Value = serde_json::to_value(&b).unwrap();
    assert_eq!(v["passage_optouts"][0]["optout"], 2);
    assert_eq!(
        v["passage_optouts"][0]["leaves"][0].as_str().unwrap().len(),
        128
    );
    assert_eq!(v["passage_proofs"][0]["dataset"], "acme/web@0");
    assert!(v["passage_proofs"][0]["proof"]["tree_size"].is_u64());
    let back: ComplianceBundle = serde_json::from_value(v).unwrap();
    assert_eq!(back, b);
}
