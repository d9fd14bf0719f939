//! `prov verify compliance` on bundles built by hand from the ledger's primitives, with the log's
//! tiles written to a directory (`--tiles`) or served from it over loopback HTTP (`--server`, a
//! static C2SP tile server as anyone may run one): exit 0 for a compliant and complete bundle, 1
//! for a verified violation (naming the opt-out, the id and the dataset version), 2 for anything
//! that does not verify or leaves an opt-out out, 6 for `--offline` ("not checked for
//! completeness"), 7 for a policy failure (a vacuous horizon, a horizon lag over `--max-lag`).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use ed25519_dalek::SigningKey;
use ledger::compliance::{BundleEntry, BundleSetProof, ComplianceBundle};
use ledger::entry::{
    CorpusMode, DatasetRef, DatasetVersion, Entry, EntryBody, ModelCheckpoint, Name, OptOut,
    OptOutIds, Publisher, Scope,
};
use ledger::set::SortedSet;
use ledger::tree::MemoryHashes;
use ledger::{Checkpoint, ContentId, LeafIndex, NoteSigner, TlogProof, TreeSize};

const PROV: &str = env!("CARGO_BIN_EXE_prov");

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

fn log_signer() -> NoteSigner {
    NoteSigner::new("example.org/prov", SigningKey::from_bytes(&[5; 32])).unwrap()
}

/// The log the bundles are about: its entries and signed checkpoint.
struct Log {
    entries: Vec<Entry>,
    note: String,
}

impl Log {
    /// The log's tiles in the C2SP layout (the log is below one tile wide).
    fn write_tiles(&self, dir: &Path) {
        let n = self.entries.len();
        let bytes: Vec<&[u8]> = self.entries.iter().map(Entry::as_bytes).collect();
        std::fs::create_dir_all(dir.join("tile/entries/000.p")).unwrap();
        std::fs::create_dir_all(dir.join("tile/0/000.p")).unwrap();
        std::fs::write(
            dir.join(format!("tile/entries/000.p/{n}")),
            ledger::tile::encode_entry_bundle(&bytes).unwrap(),
        )
        .unwrap();
        let hashes: Vec<u8> = self.entries.iter().flat_map(|e| e.leaf_hash().0).collect();
        std::fs::write(dir.join(format!("tile/0/000.p/{n}")), hashes).unwrap();
        std::fs::write(dir.join("checkpoint"), &self.note).unwrap();
    }
}

/// A five-entry log (publisher, dataset version, two opt-outs, model checkpoint) and the bundle
/// of its checkpoint. The dataset holds `doc-b`, which the first opt-out names, when `violate`.
fn bundle(violate: bool) -> ComplianceBundle {
    built(violate, 4, 5).0
}

/// [`bundle`] with the checkpoint's horizon (opt-outs below it are in the bundle) and `time`
/// (the entries before it have times 1 to 4).
fn built(violate: bool, horizon: u64, model_time: u64) -> (ComplianceBundle, Log) {
    built_for("example.org/prov", violate, horizon, model_time)
}

/// [`built`] with the model checkpoint entry signed for `model_log`.
fn built_for(
    model_log: &str,
    violate: bool,
    horizon: u64,
    model_time: u64,
) -> (ComplianceBundle, Log) {
    let publisher_key = SigningKey::from_bytes(&[6; 32]);
    let id = |s: &str| ContentId::of(s.as_bytes());
    let mut docs = vec![id("doc-a"), id("doc-c")];
    if violate {
        docs.push(id("doc-b"));
    }
    let set = SortedSet::from_ids(docs);
    let label = "alice/web@v1";
    let entries = [
        Entry::sign(
            "example.org/prov",
            EntryBody::Publisher(Publisher {
                name: name("alice"),
                key: publisher_key.verifying_key(),
            }),
            1,
            None,
            &publisher_key,
        )
        .unwrap(),
        Entry::sign(
            "example.org/prov",
            EntryBody::DatasetVersion(DatasetVersion {
                publisher: name("alice"),
                dataset: name("web"),
                version: name("v1"),
                manifest_root: set.root(),
                item_count: set.size().0,
                total_bytes: 0,
                corpus_mode: CorpusMode::File,
                licence: "CC0-1.0".into(),
                previous: None,
                sources: None,
                passages: None,
            }),
            2,
            None,
            &publisher_key,
        )
        .unwrap(),
        Entry::anonymous(
            "example.org/prov",
            OptOut {
                ids: Some(OptOutIds::Inline(vec![id("doc-b")])),
                sites: vec![],
                scope: vec![Scope::TrainAi],
                passages: None,
            },
            3,
            None,
        )
        .unwrap(),
        Entry::anonymous(
            "example.org/prov",
            OptOut {
                ids: Some(OptOutIds::Inline(vec![id("doc-z")])),
                sites: vec![],
                scope: vec![Scope::TrainAi],
                passages: None,
            },
            4,
            None,
        )
        .unwrap(),
        Entry::sign(
            model_log,
            EntryBody::ModelCheckpoint(ModelCheckpoint {
                publisher: name("alice"),
                model: name("lm"),
                checkpoint: name("c1"),
                weights_root: SortedSet::from_ids([id("weights")]).root(),
                weights_count: 1,
                datasets: vec![DatasetRef {
                    publisher: name("alice"),
                    dataset: name("web"),
                    version: name("v1"),
                    index: LeafIndex(1),
                    manifest_root: set.root(),
                }],
                optout_horizon: horizon,
            }),
            model_time,
            None,
            &publisher_key,
        )
        .unwrap(),
    ];
    let hashes =
        MemoryHashes::from_leaf_hashes(&entries.iter().map(Entry::leaf_hash).collect::<Vec<_>>());
    let signer = log_signer();
    let size = TreeSize(entries.len() as u64);
    let note = Checkpoint {
        origin: signer.name().into(),
        size,
        root: hashes.root(),
    }
    .sign(&signer)
    .unwrap();
    let at = |i: u64| {
        let proof = TlogProof {
            extra: None,
            index: LeafIndex(i),
            proof: ledger::tree::inclusion_proof(size, LeafIndex(i), &hashes).unwrap(),
            checkpoint: note.clone(),
        };
        BundleEntry::new(&entries[i as usize], &proof)
    };
    let optouts: Vec<u64> = [2, 3].into_iter().filter(|i| *i < horizon).collect();
    let bundle = ComplianceBundle {
        checkpoint: note.clone(),
        model_checkpoint: at(4),
        datasets: vec![at(1)],
        optouts: optouts.iter().map(|i| at(*i)).collect(),
        optout_sets: vec![],
        set_proofs: ["doc-b", "doc-z"][..optouts.len()]
            .iter()
            .map(|d| BundleSetProof {
                dataset: label.into(),
                proof: set.membership_proof(&id(d)).unwrap(),
            })
            .collect(),
        multi_proofs: Vec::new(),
        horizon_entry: horizon.checked_sub(1).map(at),
        source_proofs: Vec::new(),
        passage_optouts: Vec::new(),
        passage_proofs: Vec::new(),
    };
    (
        bundle,
        Log {
            entries: entries.to_vec(),
            note,
        },
    )
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `prov verify compliance` with the tiles of the log of `bundle(violate)` from a local copy;
/// `extra` may add flags.
fn verify(vkey: &str, file: &Path, extra: &[&str]) -> (i32, String, String) {
    verify_in(&built(false, 4, 5).1, vkey, file, extra)
}

fn verify_in(log: &Log, vkey: &str, file: &Path, extra: &[&str]) -> (i32, String, String) {
    let tiles = tempfile::tempdir().unwrap();
    log.write_tiles(tiles.path());
    let t = tiles.path().to_str().unwrap().to_string();
    let offline = extra.contains(&"--offline");
    let mut with = vec![];
    if !offline && !extra.contains(&"--server") {
        with.extend_from_slice(&["--tiles", t.as_str()]);
    }
    with.extend_from_slice(extra);
    run(vkey, file, &with)
}

fn run(vkey: &str, file: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["verify", "compliance", "--vkey", vkey];
    args.extend_from_slice(extra);
    args.push(file.to_str().unwrap());
    let out = Command::new(PROV).args(&args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_compliant_bundle_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(
        tmp.path(),
        "b.json",
        serde_json::to_vec(&bundle(false)).unwrap(),
    );
    let vkey = log_signer().verifier_key().to_string();
    let (c, out, err) = verify(&vkey, &f, &[]);
    assert_eq!(c, 0, "{out}{err}");
    assert!(out.contains("verified: compliant"), "{out}");
    let (c, out, _) = verify(&vkey, &f, &["--json"]);
    assert_eq!(c, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"]["verdict"], "compliant");
    assert_eq!(v["optouts_checked"], 2);
}

#[test]
fn a_violation_exits_1_naming_the_optout_the_id_and_the_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(
        tmp.path(),
        "b.json",
        serde_json::to_vec(&bundle(true)).unwrap(),
    );
    let vkey = log_signer().verifier_key().to_string();
    let (c, out, err) = verify_in(&built(true, 4, 5).1, &vkey, &f, &[]);
    assert_eq!(c, 1, "{out}{err}");
    // A violation is a violation offline too, and when the tiles cannot back a completeness
    // check (here: another log's): it stands on the bundle alone.
    assert_eq!(verify(&vkey, &f, &["--offline"]).0, 1);
    let (c, _, err) = verify(&vkey, &f, &[]);
    assert_eq!(c, 1, "{err}");
    assert!(err.contains("completeness not checked"), "{err}");
    let b = ContentId::of(b"doc-b").to_string();
    assert!(out.contains("opt-out at index 2"), "{out}");
    assert!(out.contains(&b), "{out}");
    assert!(out.contains("alice/web@v1"), "{out}");
    assert!(!out.contains(&ContentId::of(b"doc-z").to_string()), "{out}");
}

#[test]
fn bundles_that_do_not_verify_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let vkey = log_signer().verifier_key().to_string();
    let (good, log) = built(true, 4, 5);
    let run = |b: &ComplianceBundle| {
        verify_in(
            &log,
            &vkey,
            &write(t, "b.json", serde_json::to_vec(b).unwrap()),
            &[],
        )
        .0
    };
    assert_eq!(run(&good), 1);

    // Another log's key.
    let other = NoteSigner::new("example.org/prov", SigningKey::from_bytes(&[8; 32])).unwrap();
    let f = write(t, "g.json", serde_json::to_vec(&good).unwrap());
    assert_eq!(verify(&other.verifier_key().to_string(), &f, &[]).0, 2);
    // A missing set proof: no verdict can be reached.
    let mut b = good.clone();
    b.set_proofs.remove(0);
    assert_eq!(run(&b), 2);
    // The violating inclusion proof swapped for the other id's exclusion proof.
    let mut b = good.clone();
    b.set_proofs[0].proof = b.set_proofs[1].proof.clone();
    assert_eq!(run(&b), 2);
    // A dataset entry that the checkpoint does not name.
    let mut b = good.clone();
    b.datasets.push(b.optouts[0].clone());
    assert_eq!(run(&b), 2);
    // The model checkpoint replaced by another entry.
    let mut b = good.clone();
    b.model_checkpoint = b.optouts[1].clone();
    assert_eq!(run(&b), 2);
    // An entry with a tlog-proof of another index.
    let mut b = good.clone();
    b.optouts[0].proof = b.optouts[1].proof.clone();
    assert_eq!(run(&b), 2);
    // Not JSON, not a bundle, not there.
    assert_eq!(verify(&vkey, &write(t, "x", "{"), &[]).0, 2);
    assert_eq!(
        verify(&vkey, &write(t, "y", "{\"checkpoint\": 1}"), &[]).0,
        2
    );
    assert_eq!(verify(&vkey, &t.join("absent.json"), &[]).0, 2);
    // With --json the failure is also said on stdout.
    let f = write(t, "z.json", serde_json::to_vec(&b).unwrap());
    let (c, out, _) = verify(&vkey, &f, &["--json"]);
    assert_eq!(c, 2);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verified"], false);
}

/// A static C2SP tile server on loopback: `GET /<path>` answers the file under `dir`, or 404.
/// Tiles are static files by design; anyone may serve a copy this way.
fn serve_dir(dir: &Path) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let file = dir.join(path.trim_start_matches('/'));
            let resp = match std::fs::read(&file) {
                Ok(body) if !path.contains("..") => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&body);
                    r
                }
                _ => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = conn.write_all(&resp);
        }
    });
    url
}

/// Removes the opt-out at log index 2 (and its set proof) from a bundle: what a publisher that
/// trained on `doc-b` would like to hand out.
fn trim(mut b: ComplianceBundle) -> ComplianceBundle {
    let before = b.optouts.len();
    b.optouts.retain(|o| !o.proof.contains("\nindex 2\n"));
    assert_eq!(b.optouts.len(), before - 1);
    let doc_b = ContentId::of(b"doc-b");
    b.set_proofs.retain(|p| p.proof.id() != doc_b);
    b
}

/// The attack: a bundle with an opt-out removed verifies as far as its own proofs go. The
/// default verification reads the log (a server, or a local copy of its tiles) and fails it as
/// incomplete; `--offline` says it did not check and never exits 0.
#[test]
fn trimmed_bundle_without_complete_is_not_compliant() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (b, log) = built(true, 4, 5);
    let trimmed = write(t, "trimmed.json", serde_json::to_vec(&trim(b)).unwrap());
    let vkey = log_signer().verifier_key().to_string();
    let tiles = t.join("tiles");
    log.write_tiles(&tiles);
    let url = serve_dir(&tiles);

    for source in [
        vec!["--server", url.as_str()],
        vec!["--tiles", tiles.to_str().unwrap()],
        vec!["--complete", "--server", url.as_str()],
    ] {
        let (c, out, err) = run(&vkey, &trimmed, &source);
        assert_eq!(c, 2, "{source:?}: {out}{err}");
        assert!(err.contains("incomplete") && err.contains("[2]"), "{err}");
        assert!(!out.contains("verified: compliant"), "{out}");
        let mut json = source.clone();
        json.push("--json");
        let (c, out, _) = run(&vkey, &trimmed, &json);
        assert_eq!(c, 2);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["complete"], false);
        assert_eq!(v["conclusion"], "incomplete");
        assert_eq!(v["missing_optouts"][0], 2);
    }

    let (c, out, err) = run(&vkey, &trimmed, &["--offline"]);
    assert_eq!(c, 6, "{out}{err}");
    assert!(
        out.contains("verified: compliant (not checked for completeness)"),
        "{out}"
    );
    let (c, out, _) = run(&vkey, &trimmed, &["--offline", "--json"]);
    assert_eq!(c, 6);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["complete"], serde_json::Value::Null);
    assert_eq!(v["conclusion"], "not_checked");
    assert_eq!(v["verified"], false);

    // Neither a source nor --offline: a clear error, never a verdict.
    let (c, out, err) = run(&vkey, &trimmed, &[]);
    assert_eq!(c, 2, "{out}{err}");
    assert!(
        err.contains("--server") && err.contains("--offline"),
        "{err}"
    );
    assert!(out.is_empty(), "{out}");

    // The honest bundle of the same log is compliant with the same sources... and violated.
    let (c, _, err) = run(
        &vkey,
        &write(
            t,
            "b.json",
            serde_json::to_vec(&built(true, 4, 5).0).unwrap(),
        ),
        &["--server", &url],
    );
    assert_eq!(c, 1, "{err}");
    let honest = built(false, 4, 5);
    let dir = t.join("honest");
    honest.1.write_tiles(&dir);
    let f = write(t, "h.json", serde_json::to_vec(&honest.0).unwrap());
    let (c, out, err) = run(&vkey, &f, &["--server", &serve_dir(&dir)]);
    assert_eq!(c, 0, "{out}{err}");
    assert!(out.contains("complete: every opt-out below 4"), "{out}");
}

/// A checkpoint whose horizon is 0 claims nothing: no opt-out can be below it. That is not a
/// plain "compliant".
#[test]
fn vacuous_horizon_zero_is_not_plain_compliant() {
    let tmp = tempfile::tempdir().unwrap();
    let (b, log) = built(false, 0, 5);
    assert!(b.optouts.is_empty());
    let f = write(tmp.path(), "b.json", serde_json::to_vec(&b).unwrap());
    let vkey = log_signer().verifier_key().to_string();
    let (c, out, err) = verify_in(&log, &vkey, &f, &[]);
    assert_eq!(c, 7, "{out}{err}");
    assert!(
        out.contains("vacuous: the horizon is 0, no opt-out was checked"),
        "{out}"
    );
    assert!(
        !out.lines().any(|l| l.trim() == "verified: compliant"),
        "{out}"
    );
    let (c, out, _) = verify_in(&log, &vkey, &f, &["--json"]);
    assert_eq!(c, 7);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["vacuous"], true);
    assert_eq!(v["conclusion"], "vacuous");
    assert_eq!(v["horizon"], 0);
    assert_eq!(v["lag_entries"], 4);
    assert_eq!(v["lag_seconds"], serde_json::Value::Null);
    assert_eq!(verify(&vkey, &f, &["--offline"]).0, 7);

    // Asked for explicitly, it passes, and still says what it is.
    let (c, out, err) = verify_in(&log, &vkey, &f, &["--allow-vacuous"]);
    assert_eq!(c, 0, "{out}{err}");
    assert!(out.contains("vacuous"), "{out}");
}

/// A checkpoint entry logged long after its horizon covers none of the opt-outs in between:
/// `--max-lag` fails it (exit 7), and every verdict states the lag.
#[test]
fn max_lag_fails_an_old_horizon() {
    const DAY: u64 = 86_400;
    let tmp = tempfile::tempdir().unwrap();
    // Entry 3, the last below the horizon, has time 4; the checkpoint entry 40 days later.
    let (b, log) = built(false, 4, 4 + 40 * DAY);
    let f = write(tmp.path(), "b.json", serde_json::to_vec(&b).unwrap());
    let vkey = log_signer().verifier_key().to_string();

    let (c, out, err) = verify_in(&log, &vkey, &f, &["--max-lag", "30d"]);
    assert_eq!(c, 7, "{out}{err}");
    assert!(err.contains("--max-lag"), "{err}");
    assert!(out.contains("40d 0h"), "{out}");
    let (c, out, _) = verify_in(&log, &vkey, &f, &["--max-lag", "30d", "--json"]);
    assert_eq!(c, 7);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["conclusion"], "lag_exceeded");
    assert_eq!(v["lag_seconds"], 40 * DAY);
    assert_eq!(v["lag_entries"], 0);
    assert_eq!(v["max_lag_seconds"], 30 * DAY);

    // Within the limit (or without one) it passes, and still states the lag.
    let (c, out, err) = verify_in(&log, &vkey, &f, &["--max-lag", "960h"]);
    assert_eq!(c, 0, "{out}{err}");
    let (c, out, _) = verify_in(&log, &vkey, &f, &[]);
    assert_eq!(c, 0);
    assert!(out.contains("horizon lag: 0 entries and 40d 0h"), "{out}");

    // Offline, the lag comes from the bundle's horizon entry; without one it is unknown, and an
    // unknown lag does not pass --max-lag.
    assert_eq!(run(&vkey, &f, &["--offline", "--max-lag", "30d"]).0, 7);
    assert_eq!(run(&vkey, &f, &["--offline", "--max-lag", "41d"]).0, 6);
    let mut old = b.clone();
    old.horizon_entry = None;
    let f = write(tmp.path(), "old.json", serde_json::to_vec(&old).unwrap());
    let (c, out, err) = run(&vkey, &f, &["--offline", "--max-lag", "41d"]);
    assert_eq!(c, 7, "{out}{err}");
    assert!(err.contains("unknown"), "{err}");
    // A bad duration is a usage error.
    assert_eq!(
        run(&vkey, &f, &["--offline", "--max-lag", "3 fortnights"]).0,
        2
    );
}

/// A local copy of the tiles made when the log was larger holds a wider tile where the bundle's
/// tree has a partial one: the check reads it, keeps the first entries and hashes, and checks
/// each against the bundle's checkpoint as always.
#[test]
fn a_local_copy_made_at_a_larger_tree_serves_the_check() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (b, log) = built(false, 4, 5);
    let f = write(t, "b.json", serde_json::to_vec(&b).unwrap());
    let vkey = log_signer().verifier_key().to_string();
    // The log grown by one entry, its tiles written at size 6.
    let mut grown = Log {
        entries: log.entries.clone(),
        note: log.note.clone(),
    };
    grown.entries.push(
        Entry::anonymous(
            "example.org/prov",
            OptOut {
                ids: Some(OptOutIds::Inline(vec![ContentId::of(b"later")])),
                sites: vec![],
                scope: vec![Scope::TrainAi],
                passages: None,
            },
            9,
            None,
        )
        .unwrap(),
    );
    let dir = t.join("copy");
    grown.write_tiles(&dir);
    assert!(!dir.join("tile/entries/000.p/5").exists());
    let (c, out, err) = run(&vkey, &f, &["--tiles", dir.to_str().unwrap()]);
    assert_eq!(c, 0, "{out}{err}");
    assert!(out.contains("complete: every opt-out below 4"), "{out}");

    // A copy that does not reach the bundle's checkpoint: a clear error, not a verdict.
    let short = t.join("short");
    let mut small = Log {
        entries: log.entries.clone(),
        note: log.note.clone(),
    };
    small.entries.truncate(3);
    small.write_tiles(&short);
    let (c, out, err) = run(&vkey, &f, &["--tiles", short.to_str().unwrap()]);
    assert_eq!(c, 2, "{out}{err}");
    assert!(err.contains("does not cover"), "{err}");
}

/// A log operator who copies a model publisher's checkpoint entry from another log (where its
/// v2 signature binds it) into its own tree: the sequencer refuses that, and so does every
/// verifier of a bundle holding it, whatever else the bundle proves.
#[test]
fn an_entry_signed_for_another_log_is_refused_in_a_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let (b, _) = built_for("elsewhere.example/log", false, 4, 5);
    let f = write(tmp.path(), "b.json", serde_json::to_vec(&b).unwrap());
    let vkey = log_signer().verifier_key().to_string();
    let (c, out, err) = run(&vkey, &f, &["--offline"]);
    assert_eq!(c, 2, "{out}{err}");
    assert!(
        err.contains("signed for log \"elsewhere.example/log\""),
        "{err}"
    );
}
