//! A shard's manifest is not a dataset: `prov publish --manifest` refuses it (it would log a
//! part of the corpus as the whole), and the merged manifest publishes with the root a single
//! run gives. Real `prov serve`, real HTTP on loopback.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "server")]

mod common;

use common::{json, ok, p, prov, register, Server};

#[test]
fn a_shard_manifest_published_as_the_whole_dataset_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let corpus = t.join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    for i in 0..12 {
        let body = format!("line {i}\nshared line\nline {}\n", i % 5);
        std::fs::write(corpus.join(format!("f{i}.txt")), body).unwrap();
    }
    let hash = |extra: &[&str]| {
        let mut args = vec!["hash", p(&corpus), "--mode", "lines", "--backend", "cpu"];
        args.extend_from_slice(extra);
        args.push("--json");
        json(&ok(&args, 0))
    };
    let whole = hash(&[]);
    let shards: Vec<String> = (1..=2)
        .map(|k| {
            let out = t.join(format!("s{k}.jsonl"));
            hash(&["--shard", &format!("{k}/2"), "--out", p(&out)]);
            p(&out).to_string()
        })
        .collect();
    let merged = t.join("merged.jsonl");
    let m = json(&ok(
        &[
            "manifest",
            "merge",
            p(&merged),
            &shards[0],
            &shards[1],
            "--json",
        ],
        0,
    ));
    assert_eq!(m["root"], whole["root"]);

    let server = Server::start(&t.join("data"), false);
    let key = register(&server.url, t, "alice");
    let publish = |version: &str, manifest: &str| {
        prov(&[
            "publish",
            "--key",
            p(&key),
            "--dataset",
            "lines",
            "--version",
            version,
            "--manifest",
            manifest,
            "--json",
            "--server",
            &server.url,
        ])
    };
    let r = publish("v1", &shards[0]);
    assert_eq!(r.code, 2, "stdout: {} stderr: {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("shard 1/2"), "{}", r.stderr);
    assert!(r.stderr.contains("prov manifest merge"), "{}", r.stderr);
    let r = publish("v1", p(&merged));
    assert_eq!(r.code, 0, "stdout: {} stderr: {}", r.stdout, r.stderr);
    let logged = json(&r.stdout);
    assert_eq!(logged["manifest_root"], whole["root"], "{logged}");
    assert_eq!(logged["sources"]["root"], whole["sources_root"], "{logged}");
}
