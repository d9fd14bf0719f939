//! Keeps docs/formats.md "Multi-range proofs" and "Passage opt-outs" honest: every worked
//! example there is recomputed here and must appear in the document verbatim (white space
//! aside). On failure the test prints every expected value.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use ed25519_dalek::SigningKey;
use verifier::entry::{Entry, EntryBody, OptOut, OptOutIds, Scope, SetRef};
use verifier::passage::{optout_sample, work_leaves};
use verifier::range::{range_multi_proof, verify_ranges, Range, RangeLeaf, RangeTree};
use verifier::ContentId;

fn id(s: &str) -> ContentId {
    ContentId::of(s.as_bytes())
}

/// The example passage tree: (passage text, item text).
const TREE: &[(&str, &str)] = &[
    ("one", "a"),
    ("two", "a"),
    ("two", "b"),
    ("three", "b"),
    ("four", "a"),
    ("five", "b"),
    ("six", "a"),
    ("seven", "b"),
];

/// Every text the example names.
const NAMES: &[&str] = &[
    "one", "two", "three", "four", "five", "six", "seven", "nine", "a", "b",
];

fn tree() -> RangeTree {
    RangeTree::from_unsorted(
        TREE.iter()
            .map(|(p, i)| RangeLeaf::passage(&id(p), &id(i)))
            .collect(),
    )
}

/// The example query: the passages `two` (present) and `nine` (absent), sorted by id.
fn ranges() -> Vec<Range> {
    let mut pids = [id("two"), id("nine")];
    pids.sort();
    pids.iter().map(Range::passage).collect()
}

/// (what, exact text that must appear in the document).
fn examples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in NAMES {
        out.push((format!("id of {s}"), format!("| `{s}` | `{}` |", id(s))));
    }
    let t = tree();
    for (i, l) in t.leaves().iter().enumerate() {
        let (p, c) = l.split_passage().unwrap();
        let name = |x: ContentId| NAMES.iter().find(|s| id(s) == x).unwrap();
        out.push((
            format!("tree leaf {i}"),
            format!("| {i} | `{}` | `{}` |", name(p), name(c)),
        ));
    }
    out.push(("tree root".into(), t.root().to_hex()));
    let rs = ranges();
    let p = range_multi_proof(&t, &rs, 16).unwrap();
    let m = verify_ranges(&t.root(), t.size(), &rs, &p).unwrap();
    assert!(rs[0].contains(&id("nine").0) && rs[1].contains(&id("two").0));
    out.push((
        "counts".into(),
        format!(
            "`nine`: start {}, count {}; `two`: start {}, count {}",
            m[0].start, m[0].count, m[1].start, m[1].count
        ),
    ));
    out.push(("multi proof".into(), serde_json::to_string(&p).unwrap()));
    // Passage opt-outs: a work's leaves, and the sample rule's size.
    let work = "The quick brown fox jumps over the lazy dog, again and again, all day long.\n\n\
                A second paragraph, long enough to be a passage of its own, ends right here.";
    let cid = id(work);
    let leaves = work_leaves(work, &cid);
    assert_eq!(optout_sample(&leaves).len(), leaves.len());
    for para in work.split("\n\n") {
        out.push(("work paragraph".into(), para.to_string()));
    }
    out.push(("work cid".into(), cid.to_string()));
    for l in &leaves {
        out.push(("work leaf".into(), l.to_hex()));
    }
    // Its opt-out: the cid in `ids`, the tree in `passages`; test key 32 bytes of 0x01.
    let tree = RangeTree::new(leaves).unwrap();
    out.push(("work tree root".into(), tree.root().to_hex()));
    let optout = OptOut {
        ids: Some(OptOutIds::Inline(vec![cid])),
        sites: vec![],
        passages: Some(SetRef {
            root: tree.root(),
            size: tree.size().0,
        }),
        scope: vec![Scope::TrainAi],
    };
    let e = Entry::sign(
        "example.org/log",
        EntryBody::OptOut(optout),
        1767225605,
        None,
        &SigningKey::from_bytes(&[1; 32]),
    )
    .unwrap();
    out.push((
        "optout entry".into(),
        String::from_utf8(e.as_bytes().to_vec()).unwrap(),
    ));
    out
}

#[test]
fn documented_passage_examples_match_the_code() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/formats.md"))
        .unwrap_or_default();
    let doc_flat: String = doc.split_whitespace().collect();
    let ex = examples();
    let missing: Vec<&(String, String)> = ex
        .iter()
        .filter(|(_, v)| {
            let flat: String = v.split_whitespace().collect();
            !doc_flat.contains(&flat)
        })
        .collect();
    if !missing.is_empty() {
        for (what, v) in &ex {
            println!("== {what}\n{v}");
        }
        panic!(
            "{} documented values drifted: {:?}",
            missing.len(),
            missing.iter().map(|m| &m.0).collect::<Vec<_>>()
        );
    }
}
