//! The fused text path (issue 15 item 5): with a CPU-sized batch, every text thread reads, parses
//! and hashes whole blocks of a file, so blocks finish out of order. Their results must still be
//! passed on in order: the first invalid record of a file is the one a run without
//! `--skip-invalid` stops at, numbered by the lines of every block before it.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hasher::{ContentHasher, CpuHasher, HashConfig, HashError, MetaMode, MetaSpec, Mode, Record};
use std::io::Cursor;

/// The CPU backend asking for batches (and so blocks) of `.1` bytes.
struct Batches(CpuHasher, usize);

impl ContentHasher for Batches {
    fn name(&self) -> &str {
        "cpu"
    }
    fn hash_batch(&self, items: &[&[u8]], out: &mut [[u8; 32]]) -> Result<(), HashError> {
        self.0.hash_batch(items, out)
    }
    fn hash_large(&self, data: &[u8]) -> Result<[u8; 32], HashError> {
        self.0.hash_large(data)
    }
    fn preferred_batch_bytes(&self) -> usize {
        self.1
    }
}

fn cfg(meta: bool) -> HashConfig {
    HashConfig {
        mode: Mode::Jsonl,
        meta: if meta {
            MetaSpec::parse(MetaMode::Full, &["source=url".into()], &[]).unwrap()
        } else {
            MetaSpec {
                mode: MetaMode::None,
                ..MetaSpec::default()
            }
        },
        workers: Some(2),
        ..HashConfig::default()
    }
}

/// A first block that takes long (thousands of records, its invalid record last) and a second
/// that is one invalid line: the second block's thread finishes first, and its record (later in
/// the file) must not be the one reported.
#[test]
fn a_later_block_that_finishes_first_does_not_hide_the_first_bad_record() {
    let d = tempfile::tempdir().unwrap();
    let block = 256 << 10;
    let mut body = String::new();
    let mut lines = 0u64;
    while body.len() < block - 200 {
        let rec = serde_json::json!({"text": format!("record {lines} {}", "w".repeat(60)),
                                     "url": format!("https://x.example/{lines}")});
        body.push_str(&rec.to_string());
        body.push('\n');
        lines += 1;
    }
    body.push_str("{\"text\": 1}\n"); // the first bad record
    let first_bad = lines + 1;
    // Padding to the block's end, so that the next line starts the second block.
    body.push_str(&" ".repeat(block.saturating_sub(body.len() + 1)));
    body.push('\n');
    body.push_str("not json at all\n");
    write(&d.path().join("web.jsonl"), body.as_bytes());
    for meta in [false, true] {
        for round in 0..20 {
            let backend = Batches(CpuHasher::new(Some(1)).unwrap(), block);
            let err = hasher::hash_corpus(
                &[d.path().to_path_buf()],
                &cfg(meta),
                &backend,
                Some(Cursor::new(Vec::new())),
                &mut hasher::Quiet,
            )
            .unwrap_err();
            let HashError::Invalid { at, reason } = &err else {
                panic!("{err}");
            };
            assert_eq!(
                at.record,
                Some(Record::Line(first_bad)),
                "meta={meta} round={round}: {err}"
            );
            assert!(reason.contains("text"), "{reason}");
        }
    }
}

/// With `--skip-invalid`, every bad record is counted once, at its own line, whichever block
/// finished first; the set is the records' (an independent computation; more than two of the
/// 4,096-leaf chunks hashed in parallel at the end of a run without a manifest).
#[test]
fn skipped_records_keep_their_lines_and_the_set_is_the_records() {
    let d = tempfile::tempdir().unwrap();
    let mut body = String::new();
    let mut texts = Vec::new();
    let mut bad = Vec::new();
    for i in 0..9000u64 {
        if i % 97 == 5 {
            body.push_str("{\"text\": null}\n");
            bad.push(i + 1);
            continue;
        }
        let t = format!("item {i} \"q\" {}", "x".repeat((i % 50) as usize));
        body.push_str(&serde_json::json!({ "text": t }).to_string());
        body.push('\n');
        texts.push(t);
    }
    write(&d.path().join("a.jsonl"), body.as_bytes());
    let (want_root, _) = expected_root_no_meta(&texts);
    for block in [64, 1000, 20_000] {
        let s = hash_skipping(d.path(), Batches(CpuHasher::new(Some(1)).unwrap(), block));
        assert_eq!(s.root(), want_root, "block={block}");
        assert_eq!(s.header.skipped, bad.len() as u64, "block={block}");
        let lines = skipped_lines(&s);
        assert_eq!(
            lines,
            bad[..lines.len()].to_vec(),
            "block={block}: {lines:?}"
        );
    }
}

/// A block holds several fused runs (256 KiB of lines each, `textbatch::FUSED_RUN`): records
/// skipped in its later runs keep the file's line numbers, counted from the block's first line
/// through the runs before theirs.
#[test]
fn skipped_lines_in_later_runs_of_a_block_keep_their_numbers() {
    let d = tempfile::tempdir().unwrap();
    let mut body = String::new();
    let mut texts = Vec::new();
    let mut bad = Vec::new();
    let mut line = 0u64;
    // ~900 KB in one 1 MiB block: invalid records only past the first and second run's ends.
    for at in [300_000usize, 520_000, 610_000, 880_000] {
        while body.len() < at {
            let t = format!("record {line} {}", "y".repeat(90 + (line % 37) as usize));
            body.push_str(&serde_json::json!({ "text": t }).to_string());
            body.push('\n');
            texts.push(t);
            line += 1;
        }
        body.push_str("{\"text\": [1]}\n");
        line += 1;
        bad.push(line);
    }
    write(&d.path().join("a.jsonl"), body.as_bytes());
    let (want_root, _) = expected_root_no_meta(&texts);
    for threads in [1, 2] {
        let s = hash_skipping(
            d.path(),
            Batches(CpuHasher::new(Some(threads)).unwrap(), 1 << 20),
        );
        assert_eq!(s.root(), want_root, "threads={threads}");
        assert_eq!(skipped_lines(&s), bad, "threads={threads}");
    }
}

/// The corpus in `dir` (its `a.jsonl`) hashed with `--skip-invalid` on `backend`.
fn hash_skipping(dir: &std::path::Path, backend: Batches) -> hasher::Summary {
    let c = HashConfig {
        skip_invalid: true,
        ..cfg(false)
    };
    let (s, _) = hasher::hash_corpus::<Cursor<Vec<u8>>>(
        &[dir.to_path_buf()],
        &c,
        &backend,
        None,
        &mut hasher::Quiet,
    )
    .unwrap();
    s
}

/// The line numbers of `a.jsonl` in a run's skipped examples, in their order.
fn skipped_lines(s: &hasher::Summary) -> Vec<u64> {
    s.skipped_examples
        .iter()
        .map(|e| {
            let n = e.split_once("a.jsonl:").unwrap().1;
            n.split_once(':').unwrap().0.parse().unwrap()
        })
        .collect()
}
