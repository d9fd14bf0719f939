//! "Was my work used?" from the writing side, end to end against a real `prov serve` on loopback
//! (issue 14): `prov publish` commits a corpus's passage tree (checked against the manifest
//! header first), `prov optout WORK` opts out a work's passages (signed) or only its content id
//! (anonymous), and `prov verify compliance` finds a paragraph of an opted-out work that a record
//! holds re-wrapped inside other text, names the passage and the item, and reports a dataset
//! version without a passage tree as unchecked (exit 10 with `--require-passages`).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(feature = "server")]

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::web::{attest_and_prove, cid};
use common::{json, ok, p, prov, Server};
use ledger::ContentId;

/// The work: three paragraphs of two sentences each, every sentence a passage (60 bytes or
/// more once normalised).
const WORK: [&str; 3] = [
    "The lighthouse keeper counted the ships that passed in the night, one by one. \
     He wrote each name in a ledger that nobody else would ever read.",
    "When the storm came, the lamp was the only thing that \"mattered\" to him at all. \
     He climbed the stairs every hour, even when the wind tore at the windows.",
    "In the morning the sea was flat and grey, and the gulls came back to the rocks. \
     He slept until noon and dreamt of harbours he had never seen.",
];

/// The work as a plain-text file.
fn work_text() -> String {
    WORK.join("\n\n") + "\n"
}

/// The work's second paragraph as a web page would hold it: re-wrapped at other places, a
/// non-breaking space, a soft hyphen inside a word, curly quotes, and other text around it.
fn embedded_record() -> String {
    "Recipes for a rainy afternoon are collected below, with notes from readers. \
     The lighthouse keeper\u{a0}story was shared by a reader last week. When the storm came, the lamp \
     was the only\nthing that \u{201c}mattered\u{201d} to him at all. He climbed the \
     stairs every hour, even when the wind tore at the win\u{ad}dows. Send us your own \
     stories and we will print the best of them next week."
        .to_string()
}

/// JSON Lines records with `text`.
fn jsonl(texts: &[String]) -> String {
    texts
        .iter()
        .map(|t| serde_json::json!({ "text": t }).to_string() + "\n")
        .collect()
}

/// Other records of the corpus (no passage of the work).
fn other_records() -> Vec<String> {
    vec![
        "A completely unrelated record about gardening, soil and the patience that tomatoes \
         demand of anyone who grows them."
            .to_string(),
        "Another record, this one about trains, timetables and the quiet joy of a connection \
         made with a minute to spare."
            .to_string(),
    ]
}

/// `GET url` on loopback: the status code and the body.
fn get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    (code, body.to_string())
}

/// The exact bytes of the entry at `index`, as JSON.
fn entry(server: &Server, index: u64) -> serde_json::Value {
    let (code, body) = get(&format!("{}/v1/entries/{index}", server.url));
    assert_eq!(code, 200, "{body}");
    json(json(&body)["canonical"].as_str().unwrap())
}

fn tree_size(server: &Server) -> u64 {
    let (code, body) = get(&format!("{}/healthz", server.url));
    assert_eq!(code, 200, "{body}");
    json(&body)["tree_size"].as_u64().unwrap()
}

/// A ledger with alice registered.
struct Ledger {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    server: Server,
    alice: PathBuf,
}

impl Ledger {
    fn new() -> Ledger {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let server = Server::start(&dir.join("ledger"), false);
        let alice = dir.join("alice.key");
        ok(&["keygen", "--out", p(&alice), "--name", "alice"], 0);
        ok(
            &[
                "publisher",
                "register",
                "--key",
                p(&alice),
                "--server",
                &server.url,
            ],
            0,
        );
        Ledger {
            _tmp: tmp,
            dir,
            server,
            alice,
        }
    }

    fn s(&self) -> &str {
        &self.server.url
    }

    /// `prov hash` of `records` (jsonl) into a manifest, with `--passages WHEN`: the manifest
    /// and `--json`'s answer.
    fn hash(&self, name: &str, records: &[String], passages: &str) -> (PathBuf, serde_json::Value) {
        let corpus = self.dir.join(format!("{name}.jsonl"));
        std::fs::write(&corpus, jsonl(records)).unwrap();
        let manifest = self.dir.join(format!("{name}.manifest"));
        let h = ok(
            &[
                "hash",
                "--mode",
                "jsonl",
                "--passages",
                passages,
                "--backend",
                "cpu",
                "--json",
                "--out",
                p(&manifest),
                p(&corpus),
            ],
            0,
        );
        (manifest, json(&h))
    }

    /// `prov publish --manifest` as alice: the run.
    fn publish(&self, version: &str, manifest: &Path) -> common::Run {
        prov(&[
            "publish",
            "--key",
            p(&self.alice),
            "--dataset",
            "web",
            "--version",
            version,
            "--manifest",
            p(manifest),
            "--json",
            "--server",
            self.s(),
        ])
    }

    /// A key of someone else (the work's author), made once.
    fn author(&self) -> PathBuf {
        let key = self.dir.join("author.key");
        if !key.exists() {
            ok(&["keygen", "--out", p(&key), "--name", "author"], 0);
        }
        key
    }

    /// Writes the work as `name` (its kind by the extension).
    fn work(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

/// The passage ids of `text` (as the verifier cuts it).
fn pids(text: &str) -> BTreeSet<ContentId> {
    verifier::passage::passages(text).map(|p| p.id).collect()
}

/// The leaves of the stored passage tree `root` (one page: small trees).
fn stored_leaves(server: &Server, root: &str) -> Vec<String> {
    let (code, body) = get(&format!(
        "{}/v1/passages/{root}/leaves?start=0&limit=4096",
        server.url
    ));
    assert_eq!(code, 200, "{body}");
    json(&body)["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn publish_with_passages_names_the_tree_and_the_service_stores_it() {
    let l = Ledger::new();
    let mut records = other_records();
    records.push(embedded_record());
    let (manifest, h) = l.hash("web", &records, "auto");
    let root = h["passages_root"].as_str().unwrap().to_string();
    let size = h["passages_size"].as_u64().unwrap();
    assert!(size >= 4, "{h}");
    let r = l.publish("v1", &manifest);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let out = json(&r.stdout);
    assert_eq!(out["passages"]["root"], root.as_str());
    assert_eq!(out["passages"]["size"], size);
    // The entry names the tree, and the service stores it: its leaves hash to the root.
    let e = entry(&l.server, out["index"].as_u64().unwrap());
    assert_eq!(e["passages"]["root"], root.as_str(), "{e}");
    assert_eq!(e["passages"]["size"], size, "{e}");
    let leaves = stored_leaves(&l.server, &root);
    assert_eq!(leaves.len() as u64, size);
    let sidecar = std::fs::read(hasher::pipeline::passage_leaves_path(&manifest)).unwrap();
    assert_eq!(hex::encode(&sidecar), leaves.concat());
    // The embedded paragraph's passages are in it, naming the record.
    let record = cid(&embedded_record());
    for pid in pids(WORK[1]) {
        let leaf = format!("{}{}", pid.to_hex(), &record["blake3:".len()..]);
        assert!(leaves.contains(&leaf), "{pid} of {record} not stored");
    }

    // Hashing here with --passages gives the same tree; without, no tree.
    let corpus = l.dir.join("web.jsonl");
    let direct = |version: &str, when: &str| {
        json(&ok(
            &[
                "publish",
                "--key",
                p(&l.alice),
                "--dataset",
                "web",
                "--version",
                version,
                "--mode",
                "jsonl",
                "--passages",
                when,
                "--backend",
                "cpu",
                "--json",
                "--server",
                l.s(),
                p(&corpus),
            ],
            0,
        ))
    };
    assert_eq!(direct("v2", "auto")["passages"]["root"], root.as_str());
    assert!(direct("v3", "none")["passages"].is_null());
    // --passages describes hashing: refused with a manifest.
    let r = prov(&[
        "publish",
        "--key",
        p(&l.alice),
        "--dataset",
        "web",
        "--version",
        "v4",
        "--manifest",
        p(&manifest),
        "--passages",
        "auto",
        "--server",
        l.s(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn publish_refuses_a_passage_sidecar_that_does_not_match_the_header() {
    let l = Ledger::new();
    let mut records = other_records();
    records.push(embedded_record());
    let (manifest, _) = l.hash("web", &records, "auto");
    let sidecar = hasher::pipeline::passage_leaves_path(&manifest);
    let good = std::fs::read(&sidecar).unwrap();
    let before = tree_size(&l.server);
    let refused = |what: &str, bytes: Option<Vec<u8>>| {
        match bytes {
            Some(b) => std::fs::write(&sidecar, b).unwrap(),
            None => std::fs::remove_file(&sidecar).unwrap(),
        }
        let r = l.publish("v1", &manifest);
        assert_eq!(r.code, 5, "{what}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(".passages"), "{what}: {}", r.stderr);
        // Nothing logged, and the version does not exist.
        assert_eq!(tree_size(&l.server), before, "{what}: an entry was logged");
        let (code, _) = get(&format!("{}/v1/datasets/alice/web/v1", l.server.url));
        assert_eq!(code, 404, "{what}");
    };
    // A flipped bit in a leaf: other leaves, another root.
    let mut flipped = good.clone();
    flipped[70] ^= 1;
    refused("a flipped bit", Some(flipped));
    // A leaf dropped: the root and size differ.
    refused("a leaf dropped", Some(good[..good.len() - 64].to_vec()));
    // Half a leaf.
    refused("a partial leaf", Some(good[..good.len() - 10].to_vec()));
    // Leaves of another corpus (valid, sorted, another root).
    let (_, _) = l.hash("other", &other_records(), "auto");
    let other = std::fs::read(hasher::pipeline::passage_leaves_path(
        &l.dir.join("other.manifest"),
    ))
    .unwrap();
    refused("another corpus's leaves", Some(other));
    refused("no leaves file", None);
    // The right leaves publish.
    std::fs::write(&sidecar, &good).unwrap();
    let r = l.publish("v1", &manifest);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn optout_work_with_key_logs_its_passages() {
    let l = Ledger::new();
    let author = l.author();
    let text = l.work("essay.txt", &work_text());
    let out = json(&ok(
        &[
            "optout",
            p(&text),
            "--key",
            p(&author),
            "--json",
            "--server",
            l.s(),
        ],
        0,
    ));
    let work_cid: ContentId = cid(&work_text()).parse().unwrap();
    let want = verifier::passage::work_leaves(&work_text(), &work_cid);
    assert_eq!(want.len(), 6);
    let root = out["passages"]["root"].as_str().unwrap();
    assert_eq!(out["passages"]["size"], 6);
    // The stored tree's leaves are the work's leaves, exactly.
    let stored = stored_leaves(&l.server, root);
    let want_hex: Vec<String> = want.iter().map(|l| l.to_hex()).collect();
    assert_eq!(stored, want_hex);
    // The entry: the work's cid in ids (exact copies), its passages named.
    let e = entry(&l.server, out["index"].as_u64().unwrap());
    assert_eq!(e["passages"]["root"], root, "{e}");
    assert!(
        e.to_string().contains(&work_cid.to_string()),
        "the work's cid is not in the entry: {e}"
    );

    // The same work as Markdown and as HTML gives the same passage ids (under its own cid).
    let md = l.work(
        "essay.md",
        &format!(
            "# The keeper\n\n{}\n\n{}\n\n- {}\n",
            WORK[0].replace("a ledger", "a [ledger](https://example.com/ledger)"),
            WORK[1].replace("\"mattered\"", "\"*mattered*\""),
            WORK[2]
        ),
    );
    let html = l.work(
        "essay.html",
        &format!(
            "<!doctype html><html><head><title>x</title><style>p{{}}</style></head><body>\
             <h1>The keeper</h1><p>{}</p><div><p>{}</p></div><script>var s = \"This sentence lives in a script and is never a part of the work's text.\";</script>\
             <ul><li>{}</li></ul></body></html>",
            WORK[0],
            WORK[1].replace('"', "&quot;"),
            WORK[2].replace("the sea", "the&nbsp;sea")
        ),
    );
    for path in [&md, &html] {
        let out = json(&ok(
            &[
                "optout",
                p(path),
                "--key",
                p(&author),
                "--json",
                "--server",
                l.s(),
            ],
            0,
        ));
        let stored = stored_leaves(&l.server, out["passages"]["root"].as_str().unwrap());
        let got: BTreeSet<String> = stored.iter().map(|h| h[..64].to_string()).collect();
        let want: BTreeSet<String> = pids(&WORK.join("\n\n"))
            .iter()
            .map(|p| p.to_hex())
            .collect();
        assert_eq!(got, want, "{}", path.display());
        let bytes = std::fs::read(path).unwrap();
        let own = blake3::hash(&bytes).to_hex().to_string();
        assert!(stored.iter().all(|h| h[64..] == own), "{}", path.display());
    }
}

#[test]
fn anonymous_optout_work_logs_the_cid_only_with_a_note() {
    let l = Ledger::new();
    let text = l.work("essay.txt", &work_text());
    let r = prov(&["optout", p(&text), "--json", "--server", l.s()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("must be signed"), "{}", r.stderr);
    let out = json(&r.stdout);
    assert!(out["passages"].is_null(), "{out}");
    let e = entry(&l.server, out["index"].as_u64().unwrap());
    assert!(e.get("passages").is_none(), "{e}");
    assert!(e.to_string().contains(&cid(&work_text())), "{e}");
}

/// A ledger whose `alice/web@v1` holds the work's second paragraph re-wrapped inside another
/// record (with a passage tree when `passages`), an opt-out of the work signed by its author,
/// and alice's checkpoint trained on the version: the compliance bundle.
fn trained_on_embedded_work(l: &Ledger, passages: bool) -> PathBuf {
    let mut records = other_records();
    records.push(embedded_record());
    let (manifest, _) = l.hash("web", &records, if passages { "auto" } else { "none" });
    let r = l.publish("v1", &manifest);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let work = l.work("essay.txt", &work_text());
    ok(
        &[
            "optout",
            p(&work),
            "--key",
            p(&l.author()),
            "--server",
            l.s(),
        ],
        0,
    );
    attest_and_prove(&l.dir, &l.server, &l.alice, "web@v1")
}

#[test]
fn paragraph_of_an_opted_out_work_rewrapped_in_a_record_is_a_violation() {
    let l = Ledger::new();
    let bundle = trained_on_embedded_work(&l, true);
    let r = prov(&[
        "verify",
        "compliance",
        "--vkey",
        &l.server.vkey,
        "--server",
        l.s(),
        p(&bundle),
    ]);
    assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    // The paragraph's passages are named, with the record holding them; no other paragraph.
    let record = cid(&embedded_record());
    let found = pids(WORK[1]);
    assert_eq!(found.len(), 2);
    for pid in &found {
        assert!(r.stdout.contains(&pid.to_string()), "{pid}:\n{}", r.stdout);
    }
    for pid in pids(WORK[0]).iter().chain(&pids(WORK[2])) {
        assert!(!r.stdout.contains(&pid.to_string()), "{pid}:\n{}", r.stdout);
    }
    assert!(r.stdout.contains(&record), "{}", r.stdout);
    assert!(r.stdout.contains("alice/web@v1"), "{}", r.stdout);
    // JSON: one violation per passage, each naming the work, the passage and the item.
    let r = prov(&[
        "verify",
        "compliance",
        "--vkey",
        &l.server.vkey,
        "--server",
        l.s(),
        "--json",
        p(&bundle),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = json(&r.stdout);
    assert_eq!(v["conclusion"], "violated");
    let pv = v["passage_violations"].as_array().unwrap();
    assert_eq!(pv.len(), 2, "{v}");
    let got: BTreeSet<String> = pv
        .iter()
        .map(|x| x["passage"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(got, want);
    for x in pv {
        assert_eq!(x["work"], cid(&work_text()));
        assert_eq!(x["items"], serde_json::json!([record]));
        assert_eq!(x["count"], 1);
    }
    // A flipped bit in a passage proof: the bundle does not verify.
    let mut b = json(&std::fs::read_to_string(&bundle).unwrap());
    let leaf = &mut b["passage_proofs"][0]["proof"]["leaves"][0]["leaf"];
    let h = leaf.as_str().unwrap().to_string();
    let last = h.len() - 1;
    let flipped = format!("{}{}", &h[..last], if h.ends_with('0') { '1' } else { '0' });
    *leaf = flipped.into();
    let bad = l.dir.join("flipped.json");
    std::fs::write(&bad, b.to_string()).unwrap();
    let r = prov(&[
        "verify",
        "compliance",
        "--vkey",
        &l.server.vkey,
        "--server",
        l.s(),
        p(&bad),
    ]);
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
}

#[test]
fn version_without_passage_tree_is_unchecked_and_require_passages_exits_10() {
    let l = Ledger::new();
    let bundle = trained_on_embedded_work(&l, false);
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "compliance",
            "--vkey",
            &l.server.vkey,
            "--server",
            l.s(),
        ];
        args.extend_from_slice(extra);
        args.push(p(&bundle));
        prov(&args)
    };
    let r = verify(&[]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stdout.contains("no passage tree"), "{}", r.stdout);
    assert!(r.stderr.contains("warning"), "{}", r.stderr);
    let r = verify(&["--require-passages"]);
    assert_eq!(r.code, 10, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let r = verify(&["--require-passages", "--json"]);
    assert_eq!(r.code, 10, "{}", r.stderr);
    let v = json(&r.stdout);
    assert_eq!(v["exit"], 10);
    assert_eq!(v["passages_unchecked"][0]["dataset"], "alice/web@v1");
    // Offline: 6 without the flag, 10 with it.
    assert_eq!(verify(&["--offline"]).code, 6);
    let r = prov(&[
        "verify",
        "compliance",
        "--vkey",
        &l.server.vkey,
        "--offline",
        "--require-passages",
        p(&bundle),
    ]);
    assert_eq!(r.code, 10, "{}", r.stderr);
}

/// A work of `n` distinct passages (one sentence each, paragraphs of one sentence).
fn long_work(tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("Sentence number {i} of the {tag} work, long enough to be a passage of its own.\n\n"))
        .collect()
}

#[test]
fn work_longer_than_the_optout_limit_is_opted_out_by_its_smallest_passages() {
    let l = Ledger::new();
    let author = l.author();
    // One work of 5,000 passages: its 4,096 smallest leaves, which the service accepts (its
    // max_optout_passages is 4,096).
    let text = long_work("long", 5000);
    let path = l.work("long.txt", &text);
    let r = prov(&[
        "optout",
        p(&path),
        "--key",
        p(&author),
        "--json",
        "--server",
        l.s(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("4096 smallest"), "{}", r.stderr);
    let out = json(&r.stdout);
    assert_eq!(out["passages"]["size"], 4096);
    let work_cid: ContentId = cid(&text).parse().unwrap();
    let all = verifier::passage::work_leaves(&text, &work_cid);
    assert_eq!(all.len(), 5000);
    let want: Vec<String> = verifier::passage::optout_sample(&all)
        .iter()
        .map(|l| l.to_hex())
        .collect();
    assert_eq!(
        stored_leaves(&l.server, out["passages"]["root"].as_str().unwrap()),
        want
    );

    // Two works of 3,000 passages each: 2,048 smallest of each, so that each keeps a sample.
    let (a, b) = (long_work("first", 3000), long_work("second", 3000));
    let (pa, pb) = (l.work("a.txt", &a), l.work("b.txt", &b));
    let out = json(&ok(
        &[
            "optout",
            p(&pa),
            p(&pb),
            "--key",
            p(&author),
            "--json",
            "--server",
            l.s(),
        ],
        0,
    ));
    assert_eq!(out["passages"]["size"], 4096);
    let stored = stored_leaves(&l.server, out["passages"]["root"].as_str().unwrap());
    for w in [&a, &b] {
        let c: ContentId = cid(w).parse().unwrap();
        let leaves = verifier::passage::work_leaves(w, &c);
        let mine: Vec<String> = stored
            .iter()
            .filter(|h| h[64..] == c.to_hex())
            .cloned()
            .collect();
        let want: Vec<String> = leaves[..2048].iter().map(|l| l.to_hex()).collect();
        assert_eq!(mine, want);
    }
}
