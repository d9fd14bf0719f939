//! Every corpus mode against an independent computation of DESIGN.md's root, plus the manifest
//! read back and verified.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too, as tests may

mod common;

use common::*;
use hasher::{HashConfig, ManifestReader, MetaMode, MetaSpec, Mode};
use std::io::Cursor;
use std::path::PathBuf;

fn no_meta(mode: Mode) -> HashConfig {
    HashConfig {
        mode,
        meta: MetaSpec {
            mode: MetaMode::None,
            ..MetaSpec::default()
        },
        ..HashConfig::default()
    }
}

#[test]
fn file_mode_root_matches_independent_computation() {
    let d = tempfile::tempdir().unwrap();
    let mut contents = Vec::new();
    // Sizes around BLAKE3 chunk boundaries, an empty file, a duplicate, hidden files, nesting,
    // and one file above the 1 MiB threshold that goes through `hash_file`.
    for (i, n) in [0usize, 1, 1023, 1024, 1025, 70_000, 3 << 20]
        .iter()
        .enumerate()
    {
        let data = bytes(i as u64, *n);
        write(&d.path().join(format!("dir{}/f{i}.bin", i % 3)), &data);
        contents.push(data);
    }
    write(&d.path().join(".hidden/.dup"), &contents[3]);
    contents.push(contents[3].clone());
    let (want, leaves) = expected_root_no_meta(&contents);
    let (s, _) = run(&[d.path().to_path_buf()], &no_meta(Mode::File), 2);
    assert_eq!(s.root(), want);
    assert_eq!(s.header.items, contents.len() as u64);
    assert_eq!(s.header.leaves, leaves as u64);
    assert_eq!(s.header.duplicates, 1);
    let total: usize = contents.iter().map(Vec::len).sum();
    assert_eq!(s.header.bytes, total as u64);
}

#[test]
fn empty_corpus_is_the_empty_set() {
    let d = tempfile::tempdir().unwrap();
    for mode in [Mode::File, Mode::Jsonl, Mode::Lines, Mode::Parquet] {
        let (s, _) = run(&[d.path().to_path_buf()], &no_meta(mode), 1);
        assert_eq!(s.root().0, *blake3::hash(b"").as_bytes(), "{mode:?}");
        assert_eq!(s.header.leaves, 0);
    }
}

fn jsonl_records() -> (String, Vec<String>) {
    let texts: Vec<String> = (0..500)
        .map(|i| match i % 5 {
            0 => format!("plain record {i}"),
            1 => format!("quotes \"{i}\" and backslash \\ and newline\n{i}"),
            2 => format!("unicode café 日本語 🦀 {i}"),
            3 => String::new(),
            _ => "duplicate text".to_string(),
        })
        .collect();
    let mut body = String::new();
    for (i, t) in texts.iter().enumerate() {
        let rec = serde_json::json!({"id": i, "text": t, "url": format!("https://e.x/{i}")});
        body.push_str(&rec.to_string());
        body.push_str(if i % 7 == 0 { "\r\n" } else { "\n" });
        if i % 50 == 0 {
            body.push_str("   \n"); // blank lines are not records
        }
    }
    (body, texts)
}

#[test]
fn jsonl_plain_gz_and_zstd_give_the_same_ids() {
    let (body, texts) = jsonl_records();
    let (want, leaves) = expected_root_no_meta(&texts);
    let d = tempfile::tempdir().unwrap();
    type Encode = fn(&[u8]) -> Vec<u8>;
    let enc: [(&str, Encode); 3] = [
        ("a.jsonl", |b| b.to_vec()),
        ("b.jsonl.gz", gzip),
        ("c.jsonl.zst", zstd),
    ];
    for (name, f) in enc {
        let p = d.path().join(name);
        write(&p, &f(body.as_bytes()));
        let (s, _) = run(&[p], &no_meta(Mode::Jsonl), 2);
        assert_eq!(s.root(), want, "{name}");
        assert_eq!(s.header.items, 500);
        assert_eq!(s.header.leaves, leaves as u64);
    }
    // All three files at once: every record three times.
    let (s, _) = run(&[d.path().to_path_buf()], &no_meta(Mode::Jsonl), 3);
    assert_eq!(s.root(), want);
    assert_eq!(s.header.items, 1500);
}

#[test]
fn lines_mode_strips_terminators_only() {
    let d = tempfile::tempdir().unwrap();
    let body = b"first\r\nsecond\n\n  spaced  \nno newline at end";
    write(&d.path().join("l.txt"), body);
    let items: Vec<&[u8]> = vec![
        b"first",
        b"second",
        b"",
        b"  spaced  ",
        b"no newline at end",
    ];
    let (want, _) = expected_root_no_meta(&items);
    let (s, _) = run(&[d.path().join("l.txt")], &no_meta(Mode::Lines), 1);
    assert_eq!(s.root(), want);
    assert_eq!(s.header.items, 5);
}

pub fn write_parquet(path: &std::path::Path, texts: &[Option<String>], row_group: usize) {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let text: ArrayRef = Arc::new(StringArray::from(texts.to_vec()));
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..texts.len() as i64));
    let urls: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..texts.len()).map(|i| format!("https://e.x/{i}")),
    ));
    let batch = RecordBatch::try_from_iter([("id", ids), ("text", text), ("url", urls)]).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group))
        .build();
    let f = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn parquet_rows_hash_their_text_column() {
    let (_, texts) = jsonl_records();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("t.parquet");
    let opt: Vec<Option<String>> = texts.iter().cloned().map(Some).collect();
    write_parquet(&p, &opt, 128);
    let (want, _) = expected_root_no_meta(&texts);
    let (s, _) = run(std::slice::from_ref(&p), &no_meta(Mode::Parquet), 2);
    assert_eq!(s.root(), want);
    assert_eq!(s.header.items, 500);

    // With metadata: each leaf lists its rows, with the mapped url and the int id.
    let cfg = HashConfig {
        mode: Mode::Parquet,
        meta: MetaSpec::parse(MetaMode::Full, &["source=url".into(), "id=id".into()], &[]).unwrap(),
        ..HashConfig::default()
    };
    let (_, manifest) = run(&[p], &cfg, 2);
    let entries: Vec<_> = ManifestReader::new(Cursor::new(&manifest))
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    let want_id = ledger::ContentId::of(texts[0].as_bytes());
    let e = entries.iter().find(|e| e.leaf.cid == want_id).unwrap();
    assert_eq!(
        e.meta.as_ref().unwrap()["sources"][0],
        serde_json::json!({"id": 0, "path": "t.parquet", "row": 0, "source": "https://e.x/0"})
    );
    let dup = ledger::ContentId::of(b"duplicate text");
    let e = entries.iter().find(|e| e.leaf.cid == dup).unwrap();
    assert_eq!(
        e.meta.as_ref().unwrap()["sources"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
}

#[test]
fn duplicates_merge_into_one_leaf_listing_every_source() {
    let d = tempfile::tempdir().unwrap();
    write(&d.path().join("b.txt"), b"same");
    write(&d.path().join("a/c.txt"), b"same");
    write(&d.path().join("other"), b"different");
    let cfg = HashConfig {
        meta: MetaSpec::parse(MetaMode::Full, &[], &["license=CC0-1.0".into()]).unwrap(),
        ..HashConfig::default()
    };
    let (s, manifest) = run(&[d.path().to_path_buf()], &cfg, 2);
    assert_eq!(
        (s.header.items, s.header.leaves, s.header.duplicates),
        (3, 2, 1)
    );
    let same = ledger::ContentId::of(b"same");
    let e = ManifestReader::new(Cursor::new(&manifest))
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.leaf.cid == same)
        .unwrap();
    let want = br#"{"sources":[{"license":"CC0-1.0","path":"a/c.txt"},{"license":"CC0-1.0","path":"b.txt"}]}"#;
    assert_eq!(e.leaf.meta.0, *blake3::hash(want).as_bytes());
    assert_eq!(e.leaf.size, 4);
}

#[test]
fn tiny_memory_budget_spills_and_gives_identical_manifest() {
    let (body, _) = jsonl_records();
    let d = tempfile::tempdir().unwrap();
    for i in 0..4 {
        write(&d.path().join(format!("part{i}.jsonl")), body.as_bytes());
    }
    let paths = [d.path().to_path_buf()];
    let mut cfg = HashConfig {
        mode: Mode::Jsonl,
        meta: MetaSpec::parse(MetaMode::Full, &["source=url".into()], &[]).unwrap(),
        ..HashConfig::default()
    };
    let (big, want) = run(&paths, &cfg, 2);
    assert_eq!(big.runs_spilled, 0);
    cfg.memory_budget = 2048; // a few entries per run: more runs than one merge pass takes
    let tmp = tempfile::tempdir().unwrap();
    cfg.tmp_dir = Some(tmp.path().to_path_buf());
    let (small, got) = run(&paths, &cfg, 2);
    assert!(small.runs_spilled > 64, "{} runs", small.runs_spilled);
    assert_eq!(got, want);
    // Unnamed run files leave nothing behind.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn threads_workers_and_argument_order_do_not_change_the_manifest() {
    let d = tempfile::tempdir().unwrap();
    for i in 0..300u64 {
        write(
            &d.path().join(format!("d{}/f{i}", i % 4)),
            &bytes(i % 250, (i as usize * 37) % 5000),
        );
    }
    let dirs: Vec<PathBuf> = (0..4).map(|i| d.path().join(format!("d{i}"))).collect();
    let mut cfg = HashConfig::default();
    let (_, want) = run(&dirs, &cfg, 1);
    for (threads, workers) in [(1, 4), (3, 1), (4, 3)] {
        cfg.workers = Some(workers);
        let mut rev = dirs.clone();
        rev.reverse();
        let (_, got) = run(&rev, &cfg, threads);
        assert_eq!(got, want, "threads={threads} workers={workers}");
    }
}
