//! Keeps docs/formats.md "Source keys" and "Range trees and range proofs" honest: every worked
//! example there is recomputed here and must appear in the document verbatim (white space
//! aside). On failure the test prints every expected value.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use verifier::range::{range_proof, verify_range, Range, RangeLeaf, RangeTree};
use verifier::source::{source_key, Site};
use verifier::ContentId;

/// The URIs of the source-key table, in its order.
const KEY_TABLE: &[&str] = &[
    "https://www.Example.com/a/b?x=1#f",
    "http://example.com",
    "https://例え.jp/",
    "https://user:pw@EXAMPLE.com.:8443/p?",
    "http://1.2.3.4/x",
    "http://[::1]:8080/",
    "ftp://x.org/",
    "not a url",
];

/// The example tree: (source, item text).
const TREE: &[(&str, &str)] = &[
    ("https://a.org/", "a"),
    ("https://example.com/", "b"),
    ("https://www.example.com/x", "c"),
    ("https://notexample.com/", "d"),
];

fn tree() -> RangeTree {
    RangeTree::from_unsorted(
        TREE.iter()
            .map(|(u, t)| RangeLeaf::source(&source_key(u), &ContentId::of(t.as_bytes())))
            .collect(),
    )
}

/// (what, exact text that must appear in the document).
fn examples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for u in KEY_TABLE {
        let k = source_key(u);
        let shown = if k.is_none() {
            "(empty: the no-source key)".to_string()
        } else {
            format!("`{k}`")
        };
        out.push((format!("key of {u}"), format!("| `{u}` | {shown} |")));
    }
    for s in ["example.com", "https://example.com/blog"] {
        let site = Site::parse(s).unwrap();
        let r = Range::site(&site);
        out.push((
            format!("site {s}"),
            format!(
                "| `{s}` | `{}` | `{}` | `{}` |",
                site.prefix(),
                hex::encode(r.lo()),
                hex::encode(r.hi().unwrap())
            ),
        ));
    }
    let leaf = RangeLeaf::source(
        &source_key("https://example.com/a"),
        &ContentId::of(b"hello"),
    );
    out.push(("hello cid".into(), ContentId::of(b"hello").to_string()));
    out.push(("source leaf bytes".into(), leaf.to_hex()));
    out.push(("source leaf hash".into(), leaf.leaf_hash().to_hex()));
    let t = tree();
    for (i, l) in t.leaves().iter().enumerate() {
        let (k, cid) = l.split_source().unwrap();
        out.push((
            format!("tree leaf {i}"),
            format!("| {i} | `{k}` | `{cid}` |"),
        ));
    }
    out.push(("tree root".into(), t.root().to_hex()));
    let members = Range::site(&Site::parse("example.com").unwrap());
    let p = range_proof(&t, &members, 100).unwrap();
    let m = verify_range(&t.root(), t.size(), &members, &p).unwrap();
    assert_eq!((m.start, m.count), (0, 2));
    out.push((
        "example.com proof".into(),
        serde_json::to_string(&p).unwrap(),
    ));
    let absent = Range::site(&Site::parse("example.net").unwrap());
    let p = range_proof(&t, &absent, 100).unwrap();
    let m = verify_range(&t.root(), t.size(), &absent, &p).unwrap();
    assert_eq!((m.start, m.count), (3, 0));
    out.push((
        "example.net proof".into(),
        serde_json::to_string(&p).unwrap(),
    ));
    out
}

#[test]
fn documented_source_examples_match_the_code() {
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
