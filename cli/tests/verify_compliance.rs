//! `prov verify compliance` on bundles built by hand from the ledger's primitives (no server):
//! exit 0 for a compliant checkpoint, 1 for a verified violation (naming the opt-out, the id and
//! the dataset version), 2 for anything that does not verify.
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

/// A five-entry log (publisher, dataset version, two opt-outs, model checkpoint) and the bundle
/// of its checkpoint. The dataset holds `doc-b`, which the first opt-out names, when `violate`.
fn bundle(violate: bool) -> ComplianceBundle {
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
            }),
            2,
            None,
            &publisher_key,
        )
        .unwrap(),
        Entry::anonymous(
            "example.org/prov",
            OptOut {
                ids: OptOutIds::Inline(vec![id("doc-b")]),
                scope: vec![Scope::TrainAi],
            },
            3,
            None,
        )
        .unwrap(),
        Entry::anonymous(
            "example.org/prov",
            OptOut {
                ids: OptOutIds::Inline(vec![id("doc-z")]),
                scope: vec![Scope::TrainAi],
            },
            4,
            None,
        )
        .unwrap(),
        Entry::sign(
            "example.org/prov",
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
                optout_horizon: 4,
            }),
            5,
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
    ComplianceBundle {
        checkpoint: note.clone(),
        model_checkpoint: at(4),
        datasets: vec![at(1)],
        optouts: vec![at(2), at(3)],
        optout_sets: vec![],
        set_proofs: ["doc-b", "doc-z"]
            .iter()
            .map(|d| BundleSetProof {
                dataset: label.into(),
                proof: set.membership_proof(&id(d)).unwrap(),
            })
            .collect(),
    }
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn verify(vkey: &str, file: &Path, extra: &[&str]) -> (i32, String, String) {
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
    let (c, out, err) = verify(&vkey, &f, &[]);
    assert_eq!(c, 1, "{out}{err}");
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
    let good = bundle(true);
    let run = |b: &ComplianceBundle| {
        verify(
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
