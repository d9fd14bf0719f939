//! `prov audit --corpus PATH --dataset P/D@V` against a real `prov serve` on loopback: what a
//! dataset version commits beyond its items' ids is the publisher's word (the service has no
//! texts), so only someone holding the corpus can show it false. An honest version audits clean;
//! a version whose publisher committed a passage tree that omits one item's passages (the tree
//! built by hand, uploaded and logged by `prov publish`, which the service accepts and the log
//! audit cannot tell apart) is reported with the omitted passages, each proven absent by the
//! service's own multi-range proof, verified here again (also for a paragraph the tree still
//! holds for another page that quotes it); a manifest that leaves out an item of
//! the corpus, and a source tree made from doctored metadata, are reported too.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(feature = "server")]

mod common;

use std::path::{Path, PathBuf};

use common::works::builtin_prose;
use common::{json, ok, p, prov, register, Server};
use verifier::range::{Range, RangeLeaf, RangeProof, RangeRootBuilder};
use verifier::{ContentId, Digest, TreeSize};

/// A ledger with publisher `alice` registered: the server and alice's key file.
fn ledger(t: &Path) -> (Server, PathBuf) {
    let server = Server::start(&t.join("data"), false);
    let key = register(&server.url, t, "alice");
    (server, key)
}

/// The records of the corpus: (text, url). The first is the essay a rights holder cares about.
fn records() -> Vec<(String, String)> {
    let prose = builtin_prose();
    let mut out = vec![(
        prose.work[..2].join("\n\n"),
        "https://essays.example/lighthouse".to_string(),
    )];
    for (i, t) in prose.other.iter().chain(&prose.work[2..]).enumerate() {
        out.push((t.clone(), format!("https://web.example/page/{i}")));
    }
    out
}

/// Writes the records as `DIR/web.jsonl` and returns DIR.
fn corpus(dir: &Path, records: &[(String, String)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let lines: String = records
        .iter()
        .map(|(text, url)| format!("{}\n", serde_json::json!({"text": text, "url": url})))
        .collect();
    std::fs::write(dir.join("web.jsonl"), lines).unwrap();
    dir.to_path_buf()
}

fn cid(text: &str) -> ContentId {
    ContentId(*blake3::hash(text.as_bytes()).as_bytes())
}

/// `prov publish` of `alice/web@VERSION` with `how` (a corpus or a manifest): its JSON answer.
fn publish(server: &Server, key: &Path, version: &str, how: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "publish",
        "--key",
        p(key),
        "--dataset",
        "alice/web",
        "--version",
        version,
        "--json",
        "--server",
        &server.url,
    ];
    args.extend_from_slice(how);
    json(&ok(&args, 0))
}

/// `prov audit --corpus DIR --dataset alice/web@VERSION --json` with `more`: exit code, report.
fn audit_corpus(
    server: &Server,
    dir: &Path,
    version: &str,
    more: &[&str],
) -> (i32, serde_json::Value) {
    let dataset = format!("alice/web@{version}");
    let mut args = vec![
        "audit",
        "--vkey",
        &server.vkey,
        "--server",
        &server.url,
        "--corpus",
        p(dir),
        "--dataset",
        &dataset,
        "--json",
    ];
    args.extend_from_slice(more);
    let r = prov(&args);
    assert!(
        r.code == 0 || r.code == 1,
        "prov audit --corpus exited {}\nstdout: {}\nstderr: {}",
        r.code,
        r.stdout,
        r.stderr
    );
    (r.code, json(&r.stdout))
}

fn kinds(report: &serde_json::Value) -> Vec<String> {
    report["breaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn honest_version_audits_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (server, key) = ledger(t);
    let dir = corpus(&t.join("corpus"), &records());
    let published = publish(
        &server,
        &key,
        "1",
        &[
            "--mode",
            "jsonl",
            "--passages",
            "auto",
            "--meta-field",
            "source=url",
            "--backend",
            "cpu",
            p(&dir),
        ],
    );
    assert!(published["passages"].is_object(), "{published}");
    assert!(published["sources"].is_object(), "{published}");

    let (code, report) = audit_corpus(&server, &dir, "1", &["--meta-field", "source=url"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["breaches"], serde_json::json!([]), "{report}");
    assert_eq!(
        report["corpus"]["passages"], published["passages"],
        "{report}"
    );
    assert_eq!(
        report["corpus"]["sources"], published["sources"],
        "{report}"
    );
    assert_eq!(
        report["corpus"]["manifest"]["root"],
        published["manifest_root"]
    );
    assert_eq!(report["options"]["field"], "entry");
    assert_eq!(report["options"]["meta"], "flag");

    // The text report says the same.
    let r = prov(&[
        "audit",
        "--vkey",
        &server.vkey,
        "--server",
        &server.url,
        "--corpus",
        p(&dir),
        "--dataset",
        "alice/web@1",
        "--meta-field",
        "source=url",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("no breach"), "{}", r.stdout);
    // What the entry does not record is said to be taken from the flags.
    assert!(r.stderr.contains("metadata options"), "{}", r.stderr);

    // Bad input is exit 2: a version the ledger does not have, --corpus without --dataset.
    let base = ["audit", "--vkey", &server.vkey, "--server", &server.url];
    let r = prov(
        &[
            &base[..],
            &["--corpus", p(&dir), "--dataset", "alice/web@9"],
        ]
        .concat(),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no alice/web@9"), "{}", r.stderr);
    let r = prov(&[&base[..], &["--corpus", p(&dir)]].concat());
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn passage_tree_that_hides_a_work_is_reported_with_exclusion_proofs() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (server, key) = ledger(t);
    let mut recs = records();
    // The essay's first paragraph is also quoted inside another page: its passages stay in the
    // tree for that page, and the proof must still show the essay's own leaves absent.
    let quoted = format!("{} A reader wrote: {}", recs[1].0, builtin_prose().work[0]);
    recs.push((quoted, "https://web.example/quote".to_string()));
    let dir = corpus(&t.join("corpus"), &recs);
    let hidden = cid(&recs[0].0);

    // The publisher hashes the corpus honestly, then drops the essay's leaves from the passage
    // tree and names the smaller tree in the manifest's header: its manifest root is honest.
    let manifest = t.join("m.jsonl");
    ok(
        &[
            "hash",
            p(&dir),
            "--mode",
            "jsonl",
            "--passages",
            "auto",
            "--backend",
            "cpu",
            "--out",
            p(&manifest),
        ],
        0,
    );
    let side = t.join("m.jsonl.passages");
    let all = std::fs::read(&side).unwrap();
    let mut kept = Vec::new();
    let mut builder = RangeRootBuilder::new();
    let mut omitted = 0u64;
    for leaf in all.chunks(64) {
        if leaf[32..] == hidden.0 {
            omitted += 1;
            continue;
        }
        builder
            .push(&RangeLeaf::new(leaf.to_vec()).unwrap())
            .unwrap();
        kept.extend_from_slice(leaf);
    }
    assert!(omitted >= 2, "the essay has passages");
    std::fs::write(&side, &kept).unwrap();
    let text = std::fs::read_to_string(&manifest).unwrap();
    let (head, rest) = text.split_once('\n').unwrap();
    let mut header = json(head);
    header["passages_root"] = builder.root().to_hex().into();
    header["passages_size"] = builder.size().0.into();
    std::fs::write(&manifest, format!("{header}\n{rest}")).unwrap();
    let published = publish(&server, &key, "1", &["--manifest", p(&manifest)]);
    let committed_root = builder.root().to_hex();
    assert_eq!(published["passages"]["root"], committed_root.as_str());

    // The log accepts it and its own audit finds nothing: the tree is publisher-declared.
    let r = prov(&[
        "audit",
        "--vkey",
        &server.vkey,
        "--server",
        &server.url,
        "--state",
        p(&t.join("state.json")),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);

    // Against the corpus: one breach, the essay's passages missing, each proven absent.
    let (code, report) = audit_corpus(&server, &dir, "1", &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(kinds(&report), ["corpus_passages_mismatch"], "{report}");
    let b = &report["breaches"][0];
    let ev = &b["evidence"];
    assert_eq!(ev["missing"], omitted, "{ev}");
    assert_eq!(ev["extra"], 0, "{ev}");
    assert_eq!(ev["committed"]["root"], committed_root.as_str());
    assert_eq!(ev["items"]["top"][0]["item"], hidden.to_string());
    assert_eq!(ev["items"]["top"][0]["missing"], omitted);
    assert_eq!(ev["items"]["counted"], 1);
    let samples = ev["samples"].as_array().unwrap();
    assert_eq!(samples.len() as u64, omitted.min(8), "{ev}");
    for s in samples {
        assert_eq!(s["item"], hidden.to_string(), "{s}");
        assert_eq!(s["absent"], true, "{s}");
    }
    // Passages the tree holds for no item come first; the quoted ones are held by the other page.
    assert!(samples[0]["count"] == 0, "{ev}");
    assert!(
        samples
            .iter()
            .any(|s| s["count"] == 1 && s["items"][0] != hidden.to_string()),
        "{ev}"
    );
    assert!(ev["tlog_proof"].is_string() && ev["entry"].is_string());

    // The exclusion proof stands on its own: verified here against the committed tree.
    let proof: RangeProof = serde_json::from_value(ev["proof"].clone()).unwrap();
    let queried: Vec<ContentId> = ev["passages_queried"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().parse().unwrap())
        .collect();
    let ranges: Vec<Range> = queried.iter().map(Range::passage).collect();
    let members = verifier::range::verify_ranges(
        &Digest::from_hex(&committed_root).unwrap(),
        TreeSize(builder.size().0),
        &ranges,
        &proof,
    )
    .unwrap();
    for (pid, m) in queried.iter().zip(&members) {
        assert!(m.complete(), "{pid}");
        let held_by_essay = m
            .revealed
            .iter()
            .any(|(_, l)| l.split_passage().is_some_and(|(_, c)| c == hidden));
        assert!(!held_by_essay, "{pid}");
    }
    // A flipped bit in the proof (in its first revealed leaf) is refused.
    let mut flipped = ev["proof"].clone();
    let hex = flipped["leaves"][0]["leaf"].as_str().unwrap().to_string();
    let first = u8::from_str_radix(&hex[..1], 16).unwrap() ^ 1;
    flipped["leaves"][0]["leaf"] = format!("{first:x}{}", &hex[1..]).into();
    let bad: RangeProof = serde_json::from_value(flipped).unwrap();
    assert!(verifier::range::verify_ranges(
        &Digest::from_hex(&committed_root).unwrap(),
        TreeSize(builder.size().0),
        &ranges,
        &bad,
    )
    .is_err());

    // The text report names the passages.
    let r = prov(&[
        "audit",
        "--vkey",
        &server.vkey,
        "--server",
        &server.url,
        "--corpus",
        p(&dir),
        "--dataset",
        "alice/web@1",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("breach corpus_passages_mismatch"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("of item {hidden}: proven absent")),
        "{}",
        r.stdout
    );
}

#[test]
fn manifest_that_leaves_out_an_item_of_the_corpus_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (server, key) = ledger(t);
    let recs = records();
    let dir = corpus(&t.join("corpus"), &recs);
    // The publisher's copy lacks the last record (same file name, so the metadata of the others
    // is the same).
    let (dropped, kept) = recs.split_last().unwrap();
    let theirs = corpus(&t.join("theirs"), kept);
    publish(
        &server,
        &key,
        "1",
        &["--mode", "jsonl", "--backend", "cpu", p(&theirs)],
    );

    let (code, report) = audit_corpus(&server, &dir, "1", &[]);
    assert_eq!(code, 1, "{report}");
    // The source tree is derived from the items' metadata, so it lacks the item too.
    assert_eq!(
        kinds(&report),
        ["corpus_manifest_mismatch", "corpus_sources_mismatch"],
        "{report}"
    );
    assert_eq!(report["breaches"][1]["evidence"]["computed"]["size"], 6);
    assert_eq!(report["breaches"][1]["evidence"]["committed"]["size"], 5);
    let items = &report["breaches"][0]["evidence"]["items"];
    assert_eq!(items["compared"], true, "{items}");
    assert_eq!(items["corpus_only"], 1, "{items}");
    assert_eq!(
        items["corpus_only_ids"],
        serde_json::json!([cid(&dropped.0).to_string()])
    );
    assert_eq!(items["set_only"], 0, "{items}");
    assert_eq!(items["meta_differs"], 0, "{items}");
    // The text report names the item.
    let r = prov(&[
        "audit",
        "--vkey",
        &server.vkey,
        "--server",
        &server.url,
        "--corpus",
        p(&dir),
        "--dataset",
        "alice/web@1",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "item {} is in the corpus, not in the committed set",
            cid(&dropped.0)
        )),
        "{}",
        r.stdout
    );
    // Audited against its own copy, the version is clean: the breach is the corpus's.
    let (code, report) = audit_corpus(&server, &theirs, "1", &[]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn source_tree_from_doctored_metadata_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (server, key) = ledger(t);
    let recs = records();
    let dir = corpus(&t.join("corpus"), &recs);
    // The publisher's copy says the essay came from another site (hiding where it was taken).
    let mut doctored = recs.clone();
    doctored[0].1 = "https://elsewhere.example/lighthouse".to_string();
    let theirs = corpus(&t.join("theirs"), &doctored);
    let published = publish(
        &server,
        &key,
        "1",
        &[
            "--mode",
            "jsonl",
            "--meta-field",
            "source=url",
            "--backend",
            "cpu",
            p(&theirs),
        ],
    );
    assert!(published["sources"].is_object(), "{published}");

    let (code, report) = audit_corpus(&server, &dir, "1", &["--meta-field", "source=url"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        kinds(&report),
        ["corpus_manifest_mismatch", "corpus_sources_mismatch"],
        "{report}"
    );
    let items = &report["breaches"][0]["evidence"]["items"];
    assert_eq!(items["corpus_only"], 0, "{items}");
    assert_eq!(items["meta_differs"], 1, "{items}");
    assert_eq!(
        items["meta_differs_ids"],
        serde_json::json!([cid(&recs[0].0).to_string()])
    );
    let ev = &report["breaches"][1]["evidence"];
    assert_eq!(ev["committed"], published["sources"], "{ev}");
    assert_eq!(ev["computed"], report["corpus"]["sources"], "{ev}");
    assert_ne!(ev["computed"], ev["committed"]);
}
