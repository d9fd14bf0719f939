//! Bad input: each kind stops the run with the file and line or row named, or with
//! `--skip-invalid` is skipped and counted, the first few listed.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too, as tests may

mod common;

use common::*;
use hasher::{HashConfig, HashError, MetaMode, MetaSpec, Mode, Record};
use std::path::PathBuf;

fn try_run(paths: &[PathBuf], cfg: &HashConfig) -> Result<hasher::Summary, HashError> {
    let backend = hasher::CpuHasher::new(Some(2)).unwrap();
    hasher::hash_corpus::<std::io::Cursor<Vec<u8>>>(paths, cfg, &backend, None, &mut hasher::Quiet)
        .map(|(s, _)| s)
}

fn cfg(mode: Mode, skip: bool) -> HashConfig {
    HashConfig {
        mode,
        skip_invalid: skip,
        ..HashConfig::default()
    }
}

/// Each bad file, alone with a good one, must fail at the expected position and, skipped, leave
/// exactly the good items.
#[test]
fn bad_records_are_named_and_skippable() {
    let good = b"{\"text\":\"ok 1\"}\n{\"text\":\"ok 2\"}\n";
    let mut corrupt_gz = gzip(&good.repeat(500));
    let n = corrupt_gz.len();
    corrupt_gz[n / 2..n / 2 + 64].fill(0xAA);
    let big = "{\"text\":\"ok 1\"}\n".repeat(20_000);
    let mut truncated_zst = zstd(big.as_bytes());
    truncated_zst.truncate(truncated_zst.len() / 2);
    let cases: Vec<(&str, Vec<u8>, Option<Record>)> = vec![
        (
            "not-json.jsonl",
            b"{\"text\":\"a\"}\nnot json\n".to_vec(),
            Some(Record::Line(2)),
        ),
        (
            "missing.jsonl",
            b"{\"text\":\"a\"}\n\n{\"body\":\"b\"}\n".to_vec(),
            Some(Record::Line(3)),
        ),
        (
            "number.jsonl",
            b"{\"text\":7}\n".to_vec(),
            Some(Record::Line(1)),
        ),
        (
            "utf8.jsonl",
            b"{\"text\":\"a\"}\r\n{\"text\":\"\xc3\x28\"}\n".to_vec(),
            Some(Record::Line(2)),
        ),
        ("corrupt.jsonl.gz", corrupt_gz, None),
        ("truncated.jsonl.zst", truncated_zst, None),
    ];
    for (name, data, at) in cases {
        let d = tempfile::tempdir().unwrap();
        write(&d.path().join("0-good.jsonl"), good);
        let bad = d.path().join(name);
        write(&bad, &data);
        let paths = [d.path().to_path_buf()];
        let err = try_run(&paths, &cfg(Mode::Jsonl, false)).unwrap_err();
        let HashError::Invalid { at: loc, .. } = &err else {
            panic!("{name}: {err}");
        };
        assert_eq!(loc.path, bad, "{name}");
        if let Some(r) = at {
            assert_eq!(loc.record, Some(r), "{name}: {err}");
        }
        assert!(err.to_string().contains(name), "{err}");
        let s = try_run(&paths, &cfg(Mode::Jsonl, true)).unwrap();
        assert!(s.header.skipped >= 1, "{name}");
        assert!(s.skipped_examples[0].contains(name), "{name}");
    }
}

#[test]
fn parquet_corruption_and_nulls_are_reported() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("nulls.parquet");
    crate_parquet(&p, &[Some("a".into()), None, Some("c".into())]);
    let err = try_run(std::slice::from_ref(&p), &cfg(Mode::Parquet, false)).unwrap_err();
    assert!(
        matches!(&err, HashError::Invalid { at, .. } if at.record == Some(Record::Row(1))),
        "{err}"
    );
    let s = try_run(std::slice::from_ref(&p), &cfg(Mode::Parquet, true)).unwrap();
    assert_eq!((s.header.items, s.header.skipped), (2, 1));

    let junk = d.path().join("junk.parquet");
    write(&junk, b"PAR1 this is not parquet PAR1");
    let err = try_run(&[junk], &cfg(Mode::Parquet, false)).unwrap_err();
    assert!(err.to_string().contains("junk.parquet"), "{err}");

    let mut bytes = std::fs::read(&p).unwrap();
    for b in &mut bytes[4..40] {
        *b = !*b; // inside the first column chunk's pages
    }
    let broken = d.path().join("broken.parquet");
    write(&broken, &bytes);
    let err = try_run(&[broken], &cfg(Mode::Parquet, false)).unwrap_err();
    assert!(matches!(err, HashError::Invalid { .. }), "{err}");

    let cfg_field = HashConfig {
        field: "nope".into(),
        ..cfg(Mode::Parquet, false)
    };
    let err = try_run(&[p], &cfg_field).unwrap_err();
    assert!(err.to_string().contains("no column \"nope\""), "{err}");
}

fn crate_parquet(path: &std::path::Path, texts: &[Option<String>]) {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    let text: ArrayRef = std::sync::Arc::new(StringArray::from(texts.to_vec()));
    let batch = RecordBatch::try_from_iter([("text", text)]).unwrap();
    let f = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn unreadable_files_and_missing_roots() {
    let d = tempfile::tempdir().unwrap();
    write(&d.path().join("ok"), b"fine");
    std::os::unix::fs::symlink(d.path().join("gone"), d.path().join("dangling")).unwrap();
    let paths = [d.path().to_path_buf()];
    // Not followed: the dangling link is simply not part of the corpus.
    let s = try_run(&paths, &cfg(Mode::File, false)).unwrap();
    assert_eq!(s.header.items, 1);
    // Followed: it is an unreadable entry.
    let follow = HashConfig {
        follow_symlinks: true,
        ..cfg(Mode::File, false)
    };
    let err = try_run(&paths, &follow).unwrap_err();
    assert!(err.to_string().contains("dangling"), "{err}");
    let s = try_run(
        &paths,
        &HashConfig {
            skip_invalid: true,
            ..follow
        },
    )
    .unwrap();
    assert_eq!((s.header.items, s.header.skipped), (1, 1));

    let err = try_run(&[d.path().join("missing")], &cfg(Mode::File, true)).unwrap_err();
    assert!(matches!(err, HashError::Corpus { .. }), "{err}");
}

#[test]
fn options_that_do_not_fit_the_mode_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let paths = [d.path().to_path_buf()];
    let mut c = cfg(Mode::Lines, false);
    c.meta = MetaSpec::parse(MetaMode::Full, &["source=url".into()], &[]).unwrap();
    assert!(matches!(try_run(&paths, &c), Err(HashError::Config(_))));
    let c = HashConfig {
        list: true,
        ..cfg(Mode::Jsonl, false)
    };
    assert!(matches!(try_run(&paths, &c), Err(HashError::Config(_))));
}

/// Regression: the reader thread hands back what it decoded before a damaged stream fails, so
/// the complete lines before a truncation still count under `--skip-invalid`, and the error names
/// the first line that was not read.
#[test]
fn truncated_zst_keeps_the_lines_before_the_damage() {
    use std::io::Read;
    let body: String = (0..200_000)
        .map(|i| format!("{{\"text\":\"item {i}\"}}\n"))
        .collect();
    let mut z = zstd(body.as_bytes());
    z.truncate(z.len() * 2 / 3);
    // Independently: what the reference decoder yields before it fails.
    let mut dec = ::zstd::Decoder::new(&z[..]).unwrap();
    let (mut got, mut buf) = (Vec::new(), vec![0u8; 1 << 16]);
    loop {
        match dec.read(&mut buf) {
            Ok(0) => panic!("a truncated stream read as complete"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    let complete = got.iter().filter(|&&b| b == b'\n').count() as u64;
    assert!(complete > 1000 && complete < 200_000, "{complete}");

    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("part.jsonl.zst");
    write(&bad, &z);
    let paths = [d.path().to_path_buf()];
    let err = try_run(&paths, &cfg(Mode::Jsonl, false)).unwrap_err();
    let HashError::Invalid { at, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(at.record, Some(Record::Line(complete + 1)), "{err}");
    let s = try_run(&paths, &cfg(Mode::Jsonl, true)).unwrap();
    assert_eq!(s.header.items, complete);
    assert_eq!(s.header.skipped, 1);
}
