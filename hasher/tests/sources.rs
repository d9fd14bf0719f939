//! The source tree a manifest names (`sources_root`, `sources_size`) against an independent
//! computation: `RangeTree::new` over the leaves `source_key(url) || 0x00 || BLAKE3(text)` worked
//! out here from the records; and the reader refusing a header whose source tree the metadata
//! does not give.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Cursor;

use common::*;
use hasher::manifest::ManifestError;
use hasher::{HashConfig, ManifestReader, MetaMode, MetaSpec, Mode};
use ledger::ContentId;
use verifier::range::{RangeLeaf, RangeTree};
use verifier::source::{source_key, SourceKey};

/// `(text, url)` records: the same text from two sites, the same text and URL twice, items
/// without a URL (one of them sharing its text with a sourced item), a URL that does not parse,
/// an ftp URL, and hosts that differ only in case and scheme (one source).
fn records() -> Vec<(&'static str, Option<&'static str>)> {
    vec![
        ("shared text", Some("https://www.example.com/a?x=1#frag")),
        ("shared text", Some("https://news.example.org/b")),
        ("twice", Some("http://blog.example.net/post")),
        ("twice", Some("http://blog.example.net/post")),
        ("no url", None),
        ("shared text", None),
        ("bad url", Some("not a url")),
        ("ftp", Some("ftp://files.example.com/x")),
        ("case", Some("HTTPS://WWW.Example.COM/a?x=1")),
        ("case", Some("http://www.example.com/a?x=1")),
        ("idn", Some("https://例え.jp/ページ")),
        ("ip", Some("http://192.0.2.7:8080/status")),
    ]
}

fn jsonl(records: &[(&str, Option<&str>)]) -> String {
    records
        .iter()
        .map(|(t, u)| match u {
            Some(u) => serde_json::json!({"text": t, "url": u}).to_string() + "\n",
            None => serde_json::json!({"text": t}).to_string() + "\n",
        })
        .collect()
}

/// The source tree worked out from the records, without the hasher.
fn expected(records: &[(&str, Option<&str>)]) -> RangeTree {
    let mut leaves: Vec<RangeLeaf> = records
        .iter()
        .map(|(t, u)| {
            let key = u.map_or_else(SourceKey::none, source_key);
            RangeLeaf::source(&key, &ContentId::of(t.as_bytes()))
        })
        .collect();
    leaves.sort();
    leaves.dedup();
    RangeTree::new(leaves).unwrap()
}

fn cfg(budget: usize) -> HashConfig {
    let mut meta = MetaSpec::parse(MetaMode::Full, &[], &[]).unwrap();
    meta.add_preset("web").unwrap();
    HashConfig {
        mode: Mode::Jsonl,
        meta,
        memory_budget: budget,
        ..HashConfig::default()
    }
}

#[test]
fn source_root_equals_an_independent_range_tree() {
    let recs = records();
    let want = expected(&recs);
    // 12 items, 10 distinct (key, cid): "twice" from one URL is one leaf, "case" is one source.
    assert_eq!(want.size().0, 10, "{:?}", want.leaves());
    let no_source = want
        .leaves()
        .iter()
        .filter(|l| l.split_source().unwrap().0.is_empty())
        .count();
    assert_eq!(no_source, 4, "no url (2 texts), a bad url, an ftp url");
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("web.jsonl");
    write(&p, jsonl(&recs).as_bytes());
    let (s, manifest) = run(std::slice::from_ref(&p), &cfg(256 << 20), 2);
    assert_eq!(s.header.sources(), Some((want.root(), want.size().0)));
    // The reader rebuilds the same tree from the metadata.
    let (_, tree) = ManifestReader::new(Cursor::new(&manifest))
        .unwrap()
        .verify_sources_to_end()
        .unwrap();
    let tree = tree.unwrap();
    assert_eq!((tree.root, tree.size), (want.root(), want.size().0));
}

#[test]
fn spilled_source_sort_gives_the_same_tree_and_bytes() {
    // 3,000 records over 40 hosts, many repeats: enough to spill with a tiny budget.
    let recs: Vec<(String, Option<String>)> = (0..3000u32)
        .map(|i| {
            let text = format!("item {}", i % 1700);
            let url =
                (i % 13 != 0).then(|| format!("https://h{}.example.com/p/{}", i % 40, i % 300));
            (text, url)
        })
        .collect();
    let borrowed: Vec<(&str, Option<&str>)> = recs
        .iter()
        .map(|(t, u)| (t.as_str(), u.as_deref()))
        .collect();
    let want = expected(&borrowed);
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("many.jsonl");
    write(&p, jsonl(&borrowed).as_bytes());
    let (big, a) = run(std::slice::from_ref(&p), &cfg(256 << 20), 3);
    let (small, b) = run(std::slice::from_ref(&p), &cfg(6000), 1);
    assert!(small.runs_spilled > 0);
    assert_eq!(a, b);
    assert_eq!(big.header.sources(), Some((want.root(), want.size().0)));
}

#[test]
fn file_mode_takes_a_constant_source_and_meta_none_has_no_tree() {
    let d = tempfile::tempdir().unwrap();
    write(&d.path().join("a.txt"), b"alpha");
    write(&d.path().join("b.txt"), b"beta");
    write(&d.path().join("c.txt"), b"alpha");
    let c = HashConfig {
        meta: MetaSpec::parse(
            MetaMode::Full,
            &[],
            &["source=https://archive.example.org/dump-2024/".into()],
        )
        .unwrap(),
        ..HashConfig::default()
    };
    let (s, _) = run(&[d.path().to_path_buf()], &c, 2);
    let key = source_key("https://archive.example.org/dump-2024/");
    assert_eq!(key.as_str(), "org.example.archive./dump-2024/");
    let want = RangeTree::from_unsorted(vec![
        RangeLeaf::source(&key, &ContentId::of(b"alpha")),
        RangeLeaf::source(&key, &ContentId::of(b"beta")),
    ]);
    assert_eq!(s.header.sources(), Some((want.root(), 2)));

    let none = HashConfig {
        meta: MetaSpec {
            mode: MetaMode::None,
            ..MetaSpec::default()
        },
        ..HashConfig::default()
    };
    let (s, m) = run(&[d.path().to_path_buf()], &none, 2);
    assert_eq!(s.header.sources(), None);
    assert!(!String::from_utf8(m).unwrap().contains("sources_root"));
}

fn manifest_with_tree() -> (Vec<u8>, hasher::ManifestHeader) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("web.jsonl");
    write(&p, jsonl(&records()).as_bytes());
    let (s, m) = run(&[p], &cfg(256 << 20), 1);
    (m, s.header)
}

/// A publisher who claims a source tree its metadata does not give (to hide a site from range
/// proofs, say) is caught by anyone reading the manifest.
#[test]
fn tampered_sources_root_is_refused() {
    let (m, h) = manifest_with_tree();
    let text = String::from_utf8(m).unwrap();
    let (root, size) = h.sources().unwrap();
    let other = ledger::Digest([7; 32]);
    for (what, bad) in [
        ("root", text.replacen(&root.to_hex(), &other.to_hex(), 1)),
        (
            "size",
            text.replacen(
                &format!("\"sources_size\":{size}"),
                &format!("\"sources_size\":{}", size + 1),
                1,
            ),
        ),
    ] {
        assert_ne!(bad, text, "{what}");
        let r = ManifestReader::new(Cursor::new(bad.into_bytes()))
            .unwrap()
            .verify_to_end();
        assert!(
            matches!(r, Err(ManifestError::SourcesMismatch { .. })),
            "{what}: {r:?}"
        );
    }
    // Half a claim, or a claim on a manifest without metadata, is malformed.
    let half = text.replacen(&format!(",\"sources_size\":{size}"), "", 1);
    assert_ne!(half, text);
    assert!(matches!(
        ManifestReader::new(Cursor::new(half.into_bytes())),
        Err(ManifestError::Header(_))
    ));
}

#[test]
fn manifest_without_tree_still_reads_and_derives_the_same_tree() {
    let (m, h) = manifest_with_tree();
    let text = String::from_utf8(m).unwrap();
    let (root, size) = h.sources().unwrap();
    let claim = format!(
        ",\"sources_root\":\"{}\",\"sources_size\":{size}",
        root.to_hex()
    );
    let old = text.replacen(&claim, "", 1);
    assert_ne!(old, text);
    let header = ManifestReader::new(Cursor::new(old.as_bytes()))
        .unwrap()
        .verify_to_end()
        .unwrap();
    assert_eq!(header.sources(), None);
    let (_, tree) = ManifestReader::new(Cursor::new(old.as_bytes()))
        .unwrap()
        .derive_sources()
        .verify_sources_to_end()
        .unwrap();
    let tree = tree.unwrap();
    assert_eq!((tree.root, tree.size), (root, size));
}

/// docs/format-manifest.md, "Worked example": `a.txt` = `b.txt` = `hi`.
#[test]
fn worked_example_of_the_format_document() {
    let d = tempfile::tempdir().unwrap();
    write(&d.path().join("c/a.txt"), b"hi");
    write(&d.path().join("c/b.txt"), b"hi");
    let cid = blake3::hash(b"hi");
    let leaf_hash = |leaf: &[u8]| {
        let mut h = blake3::Hasher::new();
        h.update(&[0]);
        h.update(leaf);
        ledger::Digest(*h.finalize().as_bytes())
    };
    let (s, _) = run(&[d.path().join("c")], &HashConfig::default(), 1);
    let mut no_source = vec![0u8];
    no_source.extend_from_slice(cid.as_bytes());
    assert_eq!(s.header.sources(), Some((leaf_hash(&no_source), 1)));

    let c = HashConfig {
        meta: MetaSpec::parse(
            MetaMode::Full,
            &[],
            &["source=https://Example.com/dump/".into()],
        )
        .unwrap(),
        ..HashConfig::default()
    };
    let (s, _) = run(&[d.path().join("c")], &c, 1);
    let mut keyed = b"com.example./dump/\0".to_vec();
    keyed.extend_from_slice(cid.as_bytes());
    assert_eq!(s.header.sources(), Some((leaf_hash(&keyed), 1)));
}
