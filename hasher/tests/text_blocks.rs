//! The text pipeline's blocks and batches (issue 15): however a file is cut into blocks and its
//! records gathered into batches, the manifest is byte for byte the one the earlier pipeline
//! (chunks of 4 MiB, one worker per chunk) wrote, pinned here by digests that code computed,
//! and every line keeps its number.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too, as tests may

mod common;

use common::*;
use hasher::{
    ContentHasher, CpuHasher, HashConfig, HashError, MetaMode, MetaSpec, Mode, Record, Summary,
};
use std::io::Cursor;
use std::path::PathBuf;

/// The CPU backend, asking for batches of `batch` bytes: with a small one, blocks are a few
/// dozen bytes, so nearly every record crosses a block boundary and every batch is cut short.
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

/// A JSON Lines file that exercises every path of the splitter and the scanner: records from
/// empty to 70 KB (many blocks long at the smallest sizes), escapes of every kind, `\r\n` line
/// ends, blank and whitespace-only lines, invalid records, a duplicate, one record over the
/// 1 MiB large-item threshold, and a last line without its line end.
fn jsonl_corpus() -> Vec<u8> {
    let mut out = String::new();
    let big = "w".repeat(1_100_000);
    for i in 0..1500u64 {
        let words = (i * 7919) % 400;
        let mut text: String = (0..words).map(|w| format!("w{} ", (w * i) % 97)).collect();
        match i % 11 {
            0 => text.push_str("line\nbreak \"quoted\" caf\u{e9} \u{1F600} tab\t"),
            1 => text.clear(),
            _ => {}
        }
        let rec = serde_json::json!({
            "id": i,
            "text": text,
            "url": format!("https://host{}.example/{}", i % 13, i),
            "n": [i, {"deep": i % 3}],
        });
        out.push_str(&rec.to_string());
        out.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
        match i {
            3 => out.push_str("not json\n"),
            17 => out.push_str("   \n\n"),
            40 => out.push_str("{\"text\": 3}\n"),
            41 => out.push_str("{\"url\": \"https://x.example/\"}\n"),
            300 => out.push_str(&format!("{{\"text\":\"{}\"}}\n", "x".repeat(70_000))),
            301 => out.push_str("{\"text\":\"dup\"}\n{\"text\":\"dup\"}\n"),
            700 => out.push_str(&format!(
                "{{\"text\":\"{big}\",\"url\":\"https://big.example/\"}}\n"
            )),
            1000 => out.push_str("{\"text\":\"\\ud800\"}\n"),
            _ => {}
        }
    }
    out.push_str("{\"text\":\"the end, no line end\"}");
    out.into_bytes()
}

fn cfg(mode: Mode, meta: bool, skip: bool) -> HashConfig {
    let spec = if meta {
        MetaSpec::parse(MetaMode::Full, &["source=url".into()], &[]).unwrap()
    } else {
        MetaSpec {
            mode: MetaMode::None,
            ..MetaSpec::default()
        }
    };
    HashConfig {
        mode,
        meta: spec,
        skip_invalid: skip,
        ..HashConfig::default()
    }
}

fn hash_with(
    paths: &[PathBuf],
    cfg: &HashConfig,
    backend: &dyn ContentHasher,
) -> Result<(Summary, Vec<u8>), HashError> {
    let (s, out) = hasher::hash_corpus(
        paths,
        cfg,
        backend,
        Some(Cursor::new(Vec::new())),
        &mut hasher::Quiet,
    )?;
    Ok((s, out.unwrap().into_inner()))
}

/// The corpus as one plain file and as its zstd copy (the decompressing reader), in two dirs
/// under the same name (a metadata entry records it; zstd is found by its magic bytes).
fn corpus_dirs() -> (tempfile::TempDir, Vec<(&'static str, PathBuf)>) {
    let d = tempfile::tempdir().unwrap();
    let body = jsonl_corpus();
    write(&d.path().join("plain/web.jsonl"), &body);
    write(&d.path().join("zst/web.jsonl"), &zstd(&body));
    let dirs = vec![
        ("plain", d.path().join("plain")),
        ("zst", d.path().join("zst")),
    ];
    (d, dirs)
}

/// Every configuration's manifest, as BLAKE3 of its bytes, with the skipped examples; the same
/// under every block and batch size and thread count.
fn digests(paths: &[PathBuf], cfg: &HashConfig) -> (String, Vec<String>) {
    let mut seen: Option<(String, Vec<String>)> = None;
    for threads in [1, 2] {
        // Up to 1 MiB (the CPU's size) records are hashed by the threads that parse them; the
        // 8 MiB batch (a device's size) is gathered over blocks.
        for batch in [
            None,
            Some(1),
            Some(100),
            Some(5_000),
            Some(300_000),
            Some(8 << 20),
        ] {
            let cpu = CpuHasher::new(Some(threads)).unwrap();
            let (s, bytes) = match batch {
                None => hash_with(paths, cfg, &cpu).unwrap(),
                Some(b) => hash_with(paths, cfg, &Batches(cpu, b)).unwrap(),
            };
            // The examples without the temporary directory they name.
            let skipped = s
                .skipped_examples
                .iter()
                .map(|e| e.rsplit_once("web.jsonl").unwrap().1.to_string())
                .collect();
            let got = (blake3::hash(&bytes).to_hex().to_string(), skipped);
            match &seen {
                None => seen = Some(got),
                Some(want) => assert_eq!(&got, want, "threads={threads} batch={batch:?}"),
            }
        }
    }
    seen.unwrap()
}

#[test]
fn manifests_do_not_depend_on_blocks_batches_or_threads_and_match_the_old_pipeline() {
    let (_d, dirs) = corpus_dirs();
    let cases = [
        (
            "jsonl+meta",
            cfg(Mode::Jsonl, true, true),
            GOLDEN_JSONL_META,
        ),
        ("jsonl", cfg(Mode::Jsonl, false, true), GOLDEN_JSONL),
        ("lines", cfg(Mode::Lines, false, true), GOLDEN_LINES),
        (
            "jsonl+passages",
            HashConfig {
                passages: true,
                ..cfg(Mode::Jsonl, false, true)
            },
            GOLDEN_JSONL_PASSAGES,
        ),
    ];
    for (name, c, golden) in cases {
        let mut first = None;
        for (kind, dir) in &dirs {
            let (digest, skipped) = digests(std::slice::from_ref(dir), &c);
            eprintln!("{name} {kind}: {digest} {skipped:?}");
            match &first {
                None => first = Some((digest, skipped)),
                Some(f) => assert_eq!(&(digest, skipped), f, "{name}: {kind}"),
            }
        }
        let (digest, skipped) = first.unwrap();
        assert_eq!(digest, golden.0, "{name}: the manifest changed");
        assert_eq!(skipped, golden.1, "{name}: the skipped records changed");
        assert!(
            !golden.1.is_empty() || name == "lines",
            "{name}: no invalid record seen"
        );
    }
}

#[test]
fn the_first_bad_record_stops_the_run_at_its_line_whatever_the_blocks() {
    let (_d, dirs) = corpus_dirs();
    for (kind, dir) in &dirs {
        for batch in [1, 100, 1 << 20, 8 << 20] {
            let b = Batches(CpuHasher::new(Some(2)).unwrap(), batch);
            let err = hash_with(
                std::slice::from_ref(dir),
                &cfg(Mode::Jsonl, true, false),
                &b,
            )
            .unwrap_err();
            let HashError::Invalid { at, reason } = &err else {
                panic!("{err}");
            };
            // Records 0..=3 take one line each, then "not json" (line 5).
            assert_eq!(at.record, Some(Record::Line(5)), "{kind} {batch}: {err}");
            assert!(reason.contains("expected"), "{reason}");
        }
    }
}

/// Collects `--list`'s output.
#[derive(Default)]
struct Listing(Vec<(String, PathBuf)>);

impl hasher::Observer for Listing {
    fn listed(&mut self, cid: &ledger::ContentId, path: &std::path::Path) {
        self.0.push((hex::encode(cid.0), path.to_path_buf()));
    }
}

/// File mode: small files of many units of work are read into one buffer and hashed in one call
/// of the backend's preferred size; whatever that size, the manifest and the `--list` order (walk
/// order) are the same, and every id is the file's BLAKE3.
#[test]
fn file_batches_of_any_size_give_the_same_manifest_and_listing() {
    let d = tempfile::tempdir().unwrap();
    for i in 0..700u64 {
        let n = 1 + (i as usize * 7919) % 16_000;
        write(&d.path().join(format!("d{}/f{i:04}", i % 7)), &bytes(i, n));
    }
    write(&d.path().join("big.bin"), &bytes(9, 3 << 20));
    let paths = [d.path().to_path_buf()];
    // With metadata (each file's path in its entry).
    let c = HashConfig {
        list: true,
        meta: MetaSpec::parse(MetaMode::Full, &[], &[]).unwrap(),
        ..HashConfig::default()
    };
    let mut seen: Option<(String, Vec<(String, PathBuf)>)> = None;
    for threads in [1, 3] {
        for batch in [None, Some(1), Some(20_000), Some(1 << 20)] {
            let cpu = CpuHasher::new(Some(threads)).unwrap();
            let b: Box<dyn ContentHasher> = match batch {
                None => Box::new(cpu),
                Some(b) => Box::new(Batches(cpu, b)),
            };
            let c = HashConfig {
                workers: Some(threads),
                ..c.clone()
            };
            let mut obs = Listing::default();
            let (s, out) = hasher::hash_corpus(
                &paths,
                &c,
                b.as_ref(),
                Some(Cursor::new(Vec::new())),
                &mut obs,
            )
            .unwrap();
            assert_eq!(s.header.items, 701);
            assert_eq!(obs.0.len(), 701);
            for (cid, p) in &obs.0 {
                let want = blake3::hash(&std::fs::read(p).unwrap());
                assert_eq!(cid, &want.to_hex().to_string(), "{}", p.display());
            }
            let got = (
                blake3::hash(&out.unwrap().into_inner())
                    .to_hex()
                    .to_string(),
                obs.0,
            );
            match &seen {
                None => seen = Some(got),
                Some(want) => assert_eq!(&got, want, "threads={threads} batch={batch:?}"),
            }
        }
    }
}

/// Writes the corpus to `$TEXT_BLOCKS_CORPUS/web.jsonl`: how the digests below were made, with
/// the release `prov` of commit 587d33e (the pipeline before blocks and batches):
/// `TEXT_BLOCKS_CORPUS=/tmp/tb cargo test -p hasher --test text_blocks -- --ignored`, then
/// `prov hash /tmp/tb --mode jsonl --meta-field source=url --skip-invalid --out m --json`
/// (`--meta none` for `jsonl`; `--mode lines --meta none`; `--meta none --passages auto`) and
/// `b3sum m`.
#[test]
#[ignore = "writes the corpus for the golden digests"]
fn write_the_corpus() {
    let dir = PathBuf::from(std::env::var_os("TEXT_BLOCKS_CORPUS").unwrap());
    write(&dir.join("web.jsonl"), &jsonl_corpus());
}

/// Manifests of the pipeline before blocks and batches (commit 587d33e, chunks of 4 MiB), as
/// BLAKE3 of their bytes, with the skipped examples it named.
type Golden = (&'static str, &'static [&'static str]);
const SKIPPED: &[&str] = &[
    ":5: expected ident at line 1 column 2",
    ":45: field \"text\": invalid type: integer `3`, expected a string at line 1 column 10",
    ":47: no field \"text\"",
    ":1011: field \"text\": unexpected end of hex escape at line 1 column 16",
];
const GOLDEN_JSONL_META: Golden = (
    "1803ea44e37d1a993966b25332b1973c6e184035d519f5650c9beba7696b0dfe",
    SKIPPED,
);
const GOLDEN_JSONL: Golden = (
    "50b5feb975704072c34905b2ea4f38f3929577716662f8bd2b74d6bf67860dc3",
    SKIPPED,
);
const GOLDEN_LINES: Golden = (
    "403a941499a872fe56f8f1f5073bba3383de0922684956ab011485363046ab0d",
    &[],
);
const GOLDEN_JSONL_PASSAGES: Golden = (
    "16abca8ff7babecbd39ec299e12f5cf53d8d8ec42c4332d8a97c08dfb1ca854e",
    SKIPPED,
);
