//! The standard exports read by the real tools (issue 17, items 3 and 4), against a real
//! `prov serve` on loopback:
//!
//! - OpenSSF `model_signing` (PyPI `model-signing` 1.1.1): its BLAKE3 file serialization of a
//!   weights directory (several files, a nested folder, a duplicate, an empty file, a `.git`
//!   folder and the other git paths it ignores) gives, file by file, the digests `prov attest`
//!   logged, and `prov export model-signing` is the statement it builds: its own parser reads
//!   the export back into a manifest equal to the one it hashed.
//! - MLCommons `mlcroissant` (PyPI 1.1.1): `prov export croissant` validates
//!   (`mlcroissant validate --jsonld`), for a JSON Lines corpus with sources and licences and
//!   for a file corpus, and says what the ledger logged.
//!
//! The Python tools live in the project's venv (`scripts/setup`). `scripts/test` sets
//! `PROV_PYTHON`, and then a missing tool fails the test; without it, the default venv is tried
//! and the tests skip, saying so, where it lacks them.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(feature = "server")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{json, ok, p, prov, Server};
use serde_json::Value;

/// The project venv's python (`PROV_PYTHON`, else `~/.cache/prov-venv/bin/python`) if it has
/// `modules`. Without them: a failure where `PROV_PYTHON` is set (`scripts/test` sets it, after
/// `scripts/setup` installed them), else `None`, the test skipping with a message.
fn python_with(modules: &str) -> Option<PathBuf> {
    let required = std::env::var_os("PROV_PYTHON");
    let python = match &required {
        Some(p) => PathBuf::from(p),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            cache.join("prov-venv/bin/python")
        }
    };
    let has = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    match (has, required.is_some()) {
        (true, _) => Some(python),
        (false, true) => panic!(
            "PROV_PYTHON={} lacks {modules}: run scripts/setup",
            python.display()
        ),
        (false, false) => {
            eprintln!(
                "skipped: {} lacks {modules} (scripts/setup installs them; scripts/test requires them)",
                python.display()
            );
            None
        }
    }
}

fn run_python(python: &Path, script: &str, args: &[&str]) -> String {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A ledger with a registered publisher `acme` and its key.
struct World {
    dir: tempfile::TempDir,
    server: Server,
    key: PathBuf,
}

impl World {
    fn start() -> World {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(&dir.path().join("ledger"), false);
        let key = dir.path().join("acme.key");
        ok(&["keygen", "--out", p(&key)], 0);
        ok(
            &[
                "publisher",
                "register",
                "--key",
                p(&key),
                "--name",
                "acme",
                "--server",
                &server.url,
            ],
            0,
        );
        World { dir, server, key }
    }

    fn s(&self) -> &str {
        &self.server.url
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn publish(&self, dataset: &str, version: &str, extra: &[&str]) -> Value {
        let mut args = vec![
            "publish",
            "--key",
            p(&self.key),
            "--dataset",
            dataset,
            "--version",
            version,
            "--server",
            self.s(),
            "--json",
        ];
        args.extend_from_slice(extra);
        json(&ok(&args, 0))
    }
}

fn write(root: &Path, files: &[(&str, &[u8])]) {
    for (name, bytes) in files {
        let f = root.join(name);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, bytes).unwrap();
    }
}

/// Hashes `argv[1]` with model_signing's public hashing API (BLAKE3, file serialization, its
/// default ignore rules), prints the statement it would sign, and checks that its own parser
/// reads the export `argv[2]` back into an equal manifest.
const MODEL_SIGNING: &str = r#"
import json, sys
from google.protobuf import json_format
import model_signing.hashing
from model_signing._signing import signing
m = model_signing.hashing.Config().use_file_serialization(hashing_algorithm="blake3").hash(sys.argv[1])
statement = json_format.MessageToDict(signing.Payload(m).statement.pb)
ours = signing.dsse_payload_to_manifest(json.load(open(sys.argv[2])))
print(json.dumps({"statement": statement, "export_equals_manifest": ours == m}))
"#;

/// `prov attest` logs, and `prov export model-signing` writes, what model_signing computes for
/// the same weights directory, file by file; the old `attest` hashed the `.git` folder and the
/// other git paths model_signing ignores into the weights.
#[test]
fn model_signing_blake3_digests_match_attest_and_the_export() {
    let Some(python) = python_with("model_signing, blake3") else {
        return;
    };
    let w = World::start();
    let corpus = w.path("corpus");
    write(&corpus, &[("a.txt", b"a document")]);
    w.publish("web", "v1", &["--mode", "file", p(&corpus)]);

    let weights = w.path("weights");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    write(
        &weights,
        &[
            ("model.safetensors", &big),
            ("config.json", br#"{"hidden": 8}"#),
            ("tokenizer/vocab.txt", b"a\nb\nc\n"),
            ("tokenizer/.gitignore", b"nested: kept by model_signing"),
            ("layers/0.bin", b"layer zero"),
            ("layers-extra.bin", b"layer extra"),
            ("copy-of-config.json", br#"{"hidden": 8}"#),
            ("empty.bin", b""),
            (".git/HEAD", b"ref: refs/heads/main\n"),
            (".git/objects/ab/cdef", b"a git object"),
            (".gitattributes", b"*.bin filter=lfs"),
            (".gitignore", b"*.tmp"),
            (".github/workflows/ci.yml", b"on: push"),
        ],
    );
    let attested = json(&ok(
        &[
            "attest",
            "--key",
            p(&w.key),
            "--model",
            "lm",
            "--checkpoint",
            "c1",
            "--weights",
            p(&weights),
            "--dataset",
            "web@v1",
            "--server",
            w.s(),
            "--json",
        ],
        0,
    ));
    let export = w.path("lm.model-signing.json");
    let said = json(&ok(
        &[
            "export",
            "model-signing",
            "--model",
            "acme/lm@c1",
            "--name",
            "weights",
            "--out",
            p(&export),
            "--vkey",
            &w.server.vkey,
            "--server",
            w.s(),
            "--json",
        ],
        0,
    ));
    assert_eq!(said["files"], 8, "{said}");
    assert_eq!(said["index"], attested["index"], "{said}");
    let ours: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    let theirs = json(&run_python(
        &python,
        MODEL_SIGNING,
        &[p(&weights), p(&export)],
    ));
    assert_eq!(theirs["export_equals_manifest"], true, "{theirs}");
    let st = &theirs["statement"];

    // Resource by resource: names, algorithm, digests, order; and the subject's digest.
    assert_eq!(ours["predicate"]["resources"], st["predicate"]["resources"]);
    assert_eq!(ours["subject"], st["subject"]);
    assert_eq!(ours["_type"], st["_type"]);
    assert_eq!(ours["predicateType"], st["predicateType"]);
    let (a, b) = (
        &ours["predicate"]["serialization"],
        &st["predicate"]["serialization"],
    );
    for k in ["method", "hash_type", "allow_symlinks"] {
        assert_eq!(a[k], b[k], "serialization {k}");
    }
    // model_signing lists its ignore paths from a frozenset: compare them as sets.
    let set = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(set(&a["ignore_paths"]), set(&b["ignore_paths"]));

    // The files model_signing hashed, with its digests, are the weights `prov attest` logged.
    let files: BTreeMap<String, String> = st["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["algorithm"], "blake3");
            (
                r["name"].as_str().unwrap().to_string(),
                r["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(files.len(), 8, "{files:?}");
    assert!(files.contains_key("tokenizer/.gitignore") && !files.contains_key(".gitignore"));
    for (name, digest) in &files {
        let bytes = std::fs::read(weights.join(name)).unwrap();
        assert_eq!(digest, &blake3::hash(&bytes).to_hex().to_string(), "{name}");
    }
    let distinct: BTreeSet<&String> = files.values().collect();
    assert_eq!(
        attested["weights_count"],
        distinct.len() as u64,
        "{attested}"
    );
    let root = attested["weights_root"].as_str().unwrap();
    let leaves = json(&common_get(
        w.s(),
        &format!("/v1/sets/{root}/leaves?limit=100"),
    ));
    let logged: BTreeSet<String> = leaves["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["cid"]
                .as_str()
                .unwrap()
                .trim_start_matches("blake3:")
                .to_string()
        })
        .collect();
    assert_eq!(logged, distinct.into_iter().cloned().collect());
}

/// An export of a checkpoint or a dataset version the log does not have is refused (exit 4),
/// naming it, and writes nothing.
#[test]
fn exports_of_what_the_log_does_not_have_are_refused() {
    let w = World::start();
    let out = w.path("none.json");
    for args in [
        ["model-signing", "--model", "acme/none@c9"],
        ["croissant", "--dataset", "acme/none@1.0.0"],
    ] {
        let mut argv = vec!["export"];
        argv.extend_from_slice(&args);
        argv.extend_from_slice(&[
            "--out",
            p(&out),
            "--vkey",
            &w.server.vkey,
            "--server",
            w.s(),
        ]);
        let r = prov(&argv);
        assert_eq!(r.code, 4, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("none"), "{}", r.stderr);
        assert!(!out.exists());
    }
}

fn common_get(base: &str, path: &str) -> String {
    ureq::get(&format!("{base}{path}"))
        .call()
        .unwrap()
        .into_string()
        .unwrap()
}

/// What `mlcroissant validate --jsonld FILE` does (its `scripts/validate.py`): load the
/// document with `mlcroissant.Dataset`, exit 1 on a `ValidationError`.
const CROISSANT_VALIDATE: &str = r#"
import sys
import mlcroissant as mlc
try:
    mlc.Dataset(sys.argv[1])
except mlc.ValidationError as e:
    print(e, file=sys.stderr)
    sys.exit(1)
"#;

fn croissant_validate(python: &Path, file: &Path) -> std::process::Output {
    Command::new(python)
        .arg("-c")
        .arg(CROISSANT_VALIDATE)
        .arg(file)
        .output()
        .unwrap()
}

/// `prov export croissant` is valid Croissant 1.1 under mlcroissant, for a JSON Lines corpus
/// with sources and licences (records and items) and for a file corpus, and carries what the
/// ledger logged: the manifest root, the entry, its tlog-proof, every item's content id.
#[test]
fn croissant_export_validates_under_mlcroissant() {
    let Some(python) = python_with("mlcroissant") else {
        return;
    };
    let w = World::start();
    let corpus = w.path("crawl");
    write(
        &corpus,
        &[
            (
                "part-0.jsonl",
                br#"{"text":"first page","url":"https://a.example/1","lic":"CC-BY-4.0"}
{"text":"second page","url":"https://b.example/2","lic":"MIT"}
"#,
            ),
            (
                "more/part-1.jsonl",
                br#"{"text":"third page","url":"https://a.example/3","lic":"CC0-1.0"}
"#,
            ),
        ],
    );
    let published = w.publish(
        "crawl",
        "1.0.0",
        &[
            "--licence",
            "CC-BY-4.0 OR MIT OR CC0-1.0",
            "--mode",
            "jsonl",
            "--field",
            "text",
            "--meta-field",
            "source=url",
            "--meta-field",
            "license=lic",
            p(&corpus),
        ],
    );
    let out = w.path("crawl.croissant.json");
    ok(
        &[
            "export",
            "croissant",
            "--dataset",
            "acme/crawl@1.0.0",
            "--out",
            p(&out),
            "--vkey",
            &w.server.vkey,
            "--server",
            w.s(),
        ],
        0,
    );
    let v = croissant_validate(&python, &out);
    assert!(
        v.status.success(),
        "mlcroissant refused the export:\n{}",
        String::from_utf8_lossy(&v.stderr)
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(doc["conformsTo"], "http://mlcommons.org/croissant/1.1");
    assert_eq!(doc["license"], "CC-BY-4.0 OR MIT OR CC0-1.0");
    assert_eq!(doc["version"], "1.0.0");
    assert_eq!(
        doc["ledger:manifestRoot"], published["manifest_root"],
        "{published}"
    );
    assert_eq!(doc["ledger:entryIndex"], published["index"], "{published}");
    assert!(doc["ledger:checkpoint"]
        .as_str()
        .unwrap()
        .contains("\n\u{2014} "));
    assert_eq!(
        doc["distribution"][0]["includes"],
        serde_json::json!(["more/part-1.jsonl", "part-0.jsonl"])
    );
    let records = &doc["recordSet"][0];
    assert_eq!(records["@id"], "records");
    assert_eq!(
        records["field"][0]["source"]["extract"]["jsonPath"],
        "$.text"
    );
    let rows = doc["recordSet"][1]["data"].as_array().unwrap();
    let cids: BTreeSet<&str> = rows
        .iter()
        .map(|r| r["items/cid"].as_str().unwrap())
        .collect();
    let want: BTreeSet<String> = ["first page", "second page", "third page"]
        .iter()
        .map(|t| format!("blake3:{}", blake3::hash(t.as_bytes()).to_hex()))
        .collect();
    assert_eq!(cids, want.iter().map(String::as_str).collect());
    let licences: BTreeSet<&str> = rows
        .iter()
        .map(|r| r["items/license"].as_str().unwrap())
        .collect();
    assert_eq!(licences, BTreeSet::from(["CC-BY-4.0", "CC0-1.0", "MIT"]));
    assert!(rows
        .iter()
        .any(|r| r["items/source"] == "https://b.example/2"));

    // The validator is not a rubber stamp: without its encoding format the file set is refused.
    let mut broken = doc.clone();
    broken["distribution"][0]
        .as_object_mut()
        .unwrap()
        .remove("encodingFormat");
    let bad = w.path("broken.json");
    std::fs::write(&bad, serde_json::to_vec(&broken).unwrap()).unwrap();
    assert!(!croissant_validate(&python, &bad).status.success());

    // A file corpus (no records) with a version name Croissant's `version` cannot hold.
    let docs = w.path("docs");
    write(&docs, &[("a.txt", b"alpha"), ("b/c.txt", b"gamma")]);
    w.publish("docs", "v1", &["--mode", "file", p(&docs)]);
    let out = w.path("docs.croissant.json");
    ok(
        &[
            "export",
            "croissant",
            "--dataset",
            "acme/docs@v1",
            "--out",
            p(&out),
            "--vkey",
            &w.server.vkey,
            "--server",
            w.s(),
        ],
        0,
    );
    let v = croissant_validate(&python, &out);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(doc.get("version").is_none());
    assert_eq!(doc["recordSet"].as_array().unwrap().len(), 1);
    assert_eq!(doc["recordSet"][0]["data"].as_array().unwrap().len(), 2);

    // A line corpus: its records are the files' lines.
    let lines = w.path("lines");
    write(&lines, &[("all.txt", b"one line\nanother line\n")]);
    w.publish("lines", "2.0.1", &["--mode", "line", p(&lines)]);
    let out = w.path("lines.croissant.json");
    ok(
        &[
            "export",
            "croissant",
            "--dataset",
            "acme/lines@2.0.1",
            "--out",
            p(&out),
            "--vkey",
            &w.server.vkey,
            "--server",
            w.s(),
        ],
        0,
    );
    let v = croissant_validate(&python, &out);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        doc["recordSet"][0]["field"][0]["source"]["extract"]["fileProperty"],
        "lines"
    );
    assert_eq!(doc["recordSet"][1]["data"].as_array().unwrap().len(), 2);
}
