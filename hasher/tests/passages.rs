//! The passage tree a manifest names (`passages_root`, `passages_size`) against an independent
//! computation (`RangeTree` over `pid || cid` worked out here with `verifier::passage`), its
//! leaves file beside the manifest, spilling, `passages: false`, and file mode.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hasher::passages::leaves_file_tree;
use hasher::pipeline::passage_leaves_path;
use hasher::{HashConfig, ManifestReader, Mode};
use ledger::ContentId;
use verifier::passage::passages;
use verifier::range::{RangeLeaf, RangeTree};

const WORK: [&str; 3] = [
    "It was a bright cold day in April, and the clocks were striking thirteen in the town.",
    "Winston Smith slipped quickly through the glass doors of Victory Mansions, though not quickly enough.",
    "The hallway smelt of boiled cabbage and old rag mats, and a coloured poster was tacked to the wall.",
];

fn expected(texts: &[String]) -> RangeTree {
    let mut leaves = Vec::new();
    for t in texts {
        let cid = ContentId::of(t.as_bytes());
        for p in passages(t) {
            leaves.push(RangeLeaf::passage(&p.id, &cid));
        }
    }
    RangeTree::from_unsorted(leaves)
}

/// Records holding the work re-wrapped and surrounded by other text, and unrelated records.
fn texts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 3 {
            0 => format!(
                "Menu | Home | About\n\n{}\n{}\n\nComments ({i})",
                WORK[0].replace(", ", ",\n"),
                WORK[1]
            ),
            1 => format!("Record number {i} says something different, long enough to be a passage of its own. {}", WORK[2]),
            _ => format!("Unrelated record {i}: nothing here belongs to the work at all, or does it?"),
        })
        .collect()
}

fn jsonl(texts: &[String]) -> String {
    texts
        .iter()
        .map(|t| serde_json::json!({ "text": t }).to_string() + "\n")
        .collect()
}

#[test]
fn passage_root_equals_an_independent_range_tree_and_the_leaves_file_matches() {
    let ts = texts(30);
    let want = expected(&ts);
    assert!(want.size().0 > 30);
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("web.jsonl");
    write(&p, jsonl(&ts).as_bytes());
    let cfg = HashConfig {
        mode: Mode::Jsonl,
        passages: true,
        ..HashConfig::default()
    };
    let out = d.path().join("m.jsonl");
    let backend = hasher::CpuHasher::new(Some(2)).unwrap();
    let s = hasher::hash_to_file(
        std::slice::from_ref(&p),
        &cfg,
        &backend,
        &out,
        &mut hasher::Quiet,
    )
    .unwrap();
    let t = s.passages.unwrap();
    assert_eq!((t.root, t.size), (want.root(), want.size().0));
    // The header says the same, and reads back (and verifies) through the reader.
    let h = ManifestReader::open(&out).unwrap().verify_to_end().unwrap();
    assert_eq!(h.passages(), Some((want.root(), want.size().0)));
    let side = std::fs::read(passage_leaves_path(&out)).unwrap();
    assert_eq!(side.len() as u64, 64 * t.size);
    assert_eq!(leaves_file_tree(&mut side.as_slice()).unwrap(), t);
    // Every passage of the work is there, each in the records that hold it.
    for w in WORK {
        let pid = passages(w).next().unwrap().id;
        let n = want
            .leaves()
            .iter()
            .filter(|l| l.split_passage().unwrap().0 == pid)
            .count();
        assert_eq!(n, 10, "{w}");
    }

    // Without passages: no tree in the header, and the stale leaves file is gone.
    let off = HashConfig {
        passages: false,
        ..cfg
    };
    let s = hasher::hash_to_file(
        std::slice::from_ref(&p),
        &off,
        &backend,
        &out,
        &mut hasher::Quiet,
    )
    .unwrap();
    assert!(s.passages.is_none() && s.header.passages().is_none());
    assert!(!passage_leaves_path(&out).exists());
}

#[test]
fn spilled_passage_sort_gives_the_same_tree() {
    let ts = texts(600);
    let want = expected(&ts);
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("many.jsonl");
    write(&p, jsonl(&ts).as_bytes());
    let cfg = |budget| HashConfig {
        mode: Mode::Jsonl,
        passages: true,
        memory_budget: budget,
        ..HashConfig::default()
    };
    let (big, a) = run(std::slice::from_ref(&p), &cfg(256 << 20), 3);
    let (small, b) = run(std::slice::from_ref(&p), &cfg(20_000), 1);
    assert!(small.runs_spilled > 0);
    assert_eq!(a, b);
    assert_eq!(big.header.passages(), Some((want.root(), want.size().0)));
    assert_eq!(small.header.passages(), big.header.passages());
}

#[test]
fn file_mode_reads_each_file_as_text_when_asked() {
    let d = tempfile::tempdir().unwrap();
    let ts = texts(3);
    for (i, t) in ts.iter().enumerate() {
        write(&d.path().join(format!("{i}.txt")), t.as_bytes());
    }
    let on = HashConfig {
        passages: true,
        ..HashConfig::default()
    };
    let (s, _) = run(&[d.path().to_path_buf()], &on, 2);
    let want = expected(&ts);
    assert_eq!(s.header.passages(), Some((want.root(), want.size().0)));
    let (s, _) = run(&[d.path().to_path_buf()], &HashConfig::default(), 2);
    assert_eq!(s.header.passages(), None);
}
