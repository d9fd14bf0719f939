//! Web text published with its metadata and source tree, over real HTTP with a real `prov serve`:
//! `prov hash --meta-preset c4` names the source tree in the manifest and in `--json`; `prov
//! publish` (from that manifest, from the corpus directly, and from a manifest written before
//! source trees existed) logs a `dataset_version` whose `sources` are that tree, which the
//! service derives too (its sources rule accepts the entry): its site range proofs verify offline
//! against the hasher's root, and its item view returns the metadata; metadata options with
//! `--manifest` are refused.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "server")]

mod common;

use std::io::{Read, Write};
use std::path::Path;

use common::{json, ok, p, prov, register, Server};

/// C4-shaped records (`text`, `timestamp`, `url`): one text found on two sites, one record with
/// no URL, consent headers on two.
const C4: &str = concat!(
    r#"{"text":"Beginners BBQ Class Taking Place in Missoula!","timestamp":"2019-04-25T12:57:54Z","url":"https://klyq.com/beginners-bbq-class-taking-place-in-missoula/","cu":"train-ai=n"}"#,
    "\n",
    r#"{"text":"Discussion in 'Mac OS X Lion (10.7)' started by axboi87","timestamp":"2019-04-21T10:07:13Z","url":"https://forums.macrumors.com/threads/restore-from-larger-disk.1311399/"}"#,
    "\n",
    r#"{"text":"Beginners BBQ Class Taking Place in Missoula!","timestamp":"2019-04-22T08:00:00Z","url":"https://www.mirror.example.net/bbq","cu":"train-ai=y, search=y"}"#,
    "\n",
    r#"{"text":"A page that lost its address.","timestamp":"2019-04-23T09:30:00Z"}"#,
    "\n",
);

/// `GET url` on loopback, the body.
fn get(url: &str) -> String {
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
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

fn sources_of_entry(server: &Server, index: u64) -> String {
    let view = json(&get(&format!("{}/v1/entries/{index}", server.url)));
    let canonical = view["canonical"].as_str().unwrap();
    let at = canonical.find("\"sources\":").expect("entry has sources");
    canonical[at..at + canonical[at..].find('}').unwrap() + 1].to_string()
}

fn publish(key: &Path, server: &Server, version: &str, how: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "publish",
        "--key",
        p(key),
        "--dataset",
        "c4",
        "--version",
        version,
        "--backend",
        "cpu",
        "--json",
        "--server",
        &server.url,
    ];
    args.extend_from_slice(how);
    json(&ok(&args, 0))
}

#[test]
fn published_web_text_names_its_source_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let server = Server::start(&t.join("data"), false);
    let key = register(&server.url, t, "alice");
    let corpus = t.join("c4-train.00000-of-01024.json");
    std::fs::write(&corpus, C4).unwrap();
    let manifest = t.join("m.jsonl");
    let meta = [
        "--meta-preset",
        "c4",
        "--meta-set",
        "license=ODC-By-1.0",
        "--meta-consent",
        "aipref=cu",
    ];
    let mut args = vec![
        "hash",
        p(&corpus),
        "--mode",
        "jsonl",
        "--backend",
        "cpu",
        "--json",
    ];
    args.extend_from_slice(&meta);
    args.extend_from_slice(&["--out", p(&manifest)]);
    let h = json(&ok(&args, 0));
    let (root, size) = (
        h["sources_root"].as_str().unwrap().to_string(),
        h["sources_size"].as_u64().unwrap(),
    );
    // Four items, three texts; the shared text from two sites is two leaves, the record without
    // a URL one no-source leaf.
    assert_eq!(
        (h["items"].as_u64(), h["leaves"].as_u64(), size),
        (Some(4), Some(3), 4)
    );
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains(&format!("\"sources_root\":\"{root}\"")));
    assert!(
        text.contains(r#""consent":["aipref:search=y","aipref:train-ai=y"]"#),
        "{text}"
    );
    assert!(text.contains(r#""collected":"2019-04-25T12:57:54Z""#));
    let want = format!("\"sources\":{{\"root\":\"{root}\",\"size\":{size}}}");

    // From the manifest.
    let r = publish(&key, &server, "v1", &["--manifest", p(&manifest)]);
    assert_eq!(r["sources"]["root"], root.as_str());
    assert_eq!(r["sources"]["size"], size);
    assert_eq!(
        sources_of_entry(&server, r["index"].as_u64().unwrap()),
        want
    );

    // The service derived the same tree from the uploaded metadata (its sources rule accepted
    // the entry); its range proofs verify offline against the tree the hasher computed.
    let root_d = ledger::Digest::from_hex(&root).unwrap();
    for (site, want_count) in [
        ("klyq.com", 1),
        ("example.org", 0),
        ("mirror.example.net", 1),
    ] {
        let view = json(&get(&format!(
            "{}/v1/datasets/alice/c4/v1/sites/{site}",
            server.url
        )));
        let proof: ledger::range::RangeProof =
            serde_json::from_value(view["proof"].clone()).unwrap();
        let range = ledger::range::Range::site(&ledger::source::Site::parse(site).unwrap());
        let m = ledger::range::verify_range(&root_d, ledger::TreeSize(size), &range, &proof)
            .unwrap_or_else(|e| panic!("{site}: {e}"));
        assert_eq!(m.count, want_count, "{site}");
        if want_count == 1 {
            let (_, cid) = m.revealed[0].1.split_source().unwrap();
            let bbq = "Beginners BBQ Class Taking Place in Missoula!";
            assert_eq!(cid, ledger::ContentId::of(bbq.as_bytes()), "{site}");
        }
    }
    // The item's metadata as stored: both sources, with licence, time and consent.
    let cid = format!(
        "blake3:{}",
        blake3::hash(b"Beginners BBQ Class Taking Place in Missoula!").to_hex()
    );
    let item = json(&get(&format!(
        "{}/v1/datasets/alice/c4/v1/items/{cid}",
        server.url
    )));
    let sources = item["meta"]["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "{item}");
    assert!(
        sources.iter().all(|e| e["license"] == "ODC-By-1.0"),
        "{item}"
    );
    // Entries are in canonical byte order: the earlier `collected` first.
    assert_eq!(
        sources[0]["source"], "https://www.mirror.example.net/bbq",
        "{item}"
    );
    assert_eq!(
        sources[0]["consent"],
        serde_json::json!(["aipref:search=y", "aipref:train-ai=y"])
    );
    assert_eq!(sources[1]["consent"], "aipref:train-ai=n", "{item}");

    // From the corpus, hashed by publish with the same options.
    let mut how = vec!["--mode", "jsonl"];
    how.extend_from_slice(&meta);
    how.push(p(&corpus));
    let r = publish(&key, &server, "v2", &how);
    assert_eq!(
        sources_of_entry(&server, r["index"].as_u64().unwrap()),
        want
    );

    // A manifest written before source trees existed: the tree is derived while verifying it.
    let claim = format!(",\"sources_root\":\"{root}\",\"sources_size\":{size}");
    let old = t.join("old.jsonl");
    let old_text = text.replacen(&claim, "", 1);
    assert_ne!(old_text, text);
    std::fs::write(&old, old_text).unwrap();
    let r = publish(&key, &server, "v3", &["--manifest", p(&old)]);
    assert_eq!(
        sources_of_entry(&server, r["index"].as_u64().unwrap()),
        want
    );

    // Metadata options describe hashing: with --manifest they are refused, nothing is logged.
    let r = prov(&[
        "publish",
        "--key",
        p(&key),
        "--dataset",
        "c4",
        "--version",
        "v4",
        "--manifest",
        p(&manifest),
        "--meta-preset",
        "c4",
        "--server",
        &server.url,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}
