//! A corpus read from object storage (`file://` here; Garage's `s3://` in tests/tests and the
//! cli's tests) is the corpus of the local directory: same items, same relative paths in the
//! metadata, same shards, hence the same manifest byte for byte.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hasher::object::{configure, ObjectOptions};
use hasher::shard::Shard;
use hasher::{HashConfig, Mode};
use std::path::PathBuf;

fn file_url(p: &std::path::Path) -> PathBuf {
    PathBuf::from(format!("file://{}", p.display()))
}

/// Small ranges, several in flight: every object larger than a range is read in many parts.
fn small_ranges() {
    configure(ObjectOptions {
        concurrency: 3,
        range_bytes: 4096,
    });
}

#[test]
fn a_file_url_corpus_has_the_local_manifest_in_every_mode() {
    small_ranges();
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("corpus");
    // Nested keys whose key order ('.' < '/') differs from a directory walk's order.
    write(&root.join("a.txt"), b"alpha");
    write(&root.join("a/b.txt"), b"beta");
    write(&root.join("a/c/d.bin"), &bytes(1, 3 << 20)); // above the large threshold: streamed
    write(&root.join("z.bin"), &bytes(2, 100_000));
    write(&root.join("dup.txt"), b"alpha");
    let cfg = HashConfig::default();
    let (local, lm) = run(std::slice::from_ref(&root), &cfg, 2);
    let (object, om) = run(&[file_url(&root)], &cfg, 2);
    assert_eq!(object.root(), local.root());
    assert_eq!(object.header.items, 5);
    assert_eq!(
        om, lm,
        "the manifests (relative paths included) must be equal"
    );

    // Shards by relative path: the same files in each shard.
    for k in 1..=3 {
        let cfg = HashConfig {
            shard: Shard::new(k, 3),
            ..HashConfig::default()
        };
        let lm = manifest(std::slice::from_ref(&root), &cfg);
        let om = manifest(&[file_url(&root)], &cfg);
        assert_eq!(om, lm, "shard {k}/3");
    }

    // JSON Lines, plain and zstd, and Parquet: records streamed in ranges.
    let jd = d.path().join("records");
    let mut lines = String::new();
    for i in 0..5000 {
        lines.push_str(&format!("{{\"text\":\"record {i}\"}}\n"));
    }
    write(&jd.join("p/one.jsonl"), lines.as_bytes());
    write(
        &jd.join("two.jsonl.zst"),
        &zstd(lines.replace("record", "other").as_bytes()),
    );
    let cfg = HashConfig {
        mode: Mode::Jsonl,
        ..HashConfig::default()
    };
    let (local, lm) = run(std::slice::from_ref(&jd), &cfg, 2);
    let (object, om) = run(&[file_url(&jd)], &cfg, 2);
    assert_eq!(object.header.items, 10_000);
    assert_eq!((object.root(), om), (local.root(), lm));

    let pd = d.path().join("parquet");
    std::fs::create_dir_all(&pd).unwrap();
    let texts: Vec<Option<String>> = (0..3000).map(|i| Some(format!("row {i}"))).collect();
    write_parquet(&pd.join("t.parquet"), &texts, 500);
    let cfg = HashConfig {
        mode: Mode::Parquet,
        ..HashConfig::default()
    };
    let (local, lm) = run(std::slice::from_ref(&pd), &cfg, 2);
    let (object, om) = run(&[file_url(&pd)], &cfg, 2);
    assert_eq!(object.header.items, 3000);
    assert_eq!((object.root(), om), (local.root(), lm));

    // One object named directly is that file, as a local file given directly is.
    let one = root.join("a/b.txt");
    let (local, lm) = run(std::slice::from_ref(&one), &HashConfig::default(), 2);
    let (object, om) = run(&[file_url(&one)], &HashConfig::default(), 2);
    assert_eq!((object.root(), om), (local.root(), lm));
}

#[test]
fn a_missing_prefix_is_a_corpus_error() {
    let d = tempfile::tempdir().unwrap();
    let backend = hasher::CpuHasher::new(Some(1)).unwrap();
    let r = hasher::hash_corpus::<std::io::Cursor<Vec<u8>>>(
        &[file_url(&d.path().join("nothing-here"))],
        &HashConfig::default(),
        &backend,
        None,
        &mut hasher::Quiet,
    );
    assert!(
        matches!(r, Err(hasher::HashError::Corpus { .. })),
        "{:?}",
        r.map(|_| ())
    );
}

/// The manifest bytes of a run (a shard's manifest is only read back by `merge`).
fn manifest(paths: &[PathBuf], cfg: &HashConfig) -> Vec<u8> {
    let backend = hasher::CpuHasher::new(Some(2)).unwrap();
    let out = Some(std::io::Cursor::new(Vec::new()));
    let (_, out) = hasher::hash_corpus(paths, cfg, &backend, out, &mut hasher::Quiet).unwrap();
    out.unwrap().into_inner()
}

fn write_parquet(path: &std::path::Path, texts: &[Option<String>], row_group: usize) {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use std::sync::Arc;
    let text: ArrayRef = Arc::new(StringArray::from(texts.to_vec()));
    let batch = RecordBatch::try_from_iter([("text", text)]).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group))
        .build();
    let f = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}
