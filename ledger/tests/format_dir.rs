//! Format compatibility: `testdata/ledger-dir-v1/` is a ledger directory (`ledger.key` and a
//! RocksDB `db/`) written by format 1 of this code, checked in, and opened here by the current
//! code, which must find exactly what `EXPECTED.json` and `EXPECTED.checkpoint` (written with it)
//! say: the same checkpoints byte for byte, the same entries, proofs, sets, indexes and
//! compliance answers, and it must keep accepting entries.
//!
//! **If a test here fails, you changed the on-disk format** (a key layout, a column family, a
//! value encoding, the entry or checkpoint encoding, the key file) or broke reading it. Either
//! keep reading v1 directories as they are, or bump `FORMAT_VERSION` and write a migration that
//! this test then runs first. Do not regenerate the fixture to make this pass: a directory a
//! user wrote yesterday would then stop opening, and this test would no longer say so.
//!
//! The fixture is never opened in place (RocksDB writes on open): every test copies it to a
//! temporary directory first. `regenerate_ledger_dir_v1` (ignored) is how it was made; see its
//! docs before running it. Layout: `docs/storage.md`; the fixture's note: `testdata/README.md`.
#![cfg(feature = "rocksdb")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use ledger::checkpoint::Checkpoint;
use ledger::compliance::{
    dataset_label, verify_bundle, BundleEntry, BundleSetProof, ComplianceBundle, OptOutSetLeaves,
    Verdict,
};
use ledger::entry::{
    CorpusMode, DatasetRef, DatasetVersion, Entry, EntryBody, ModelCheckpoint, Name, OptOut,
    OptOutIds, Publisher, Scope,
};
use ledger::ledger::Ledger;
use ledger::note::{NoteSigner, VerifierKey};
use ledger::sequencer::SubmitError;
use ledger::set::{Membership, SetLeaf, SortedSet};
use ledger::store::index::Rejection;
use ledger::store::{keys, Column, RocksStore};
use ledger::tlog_proof::TlogProof;
use ledger::{merkle, ContentId, Digest, LeafIndex, Sha256Log, TreeSize};
use serde_json::{json, Value};

/// What a failure means; the message of every assertion about the fixture starts with it.
const CHANGED: &str = "testdata/ledger-dir-v1 (format 1) no longer reads back as written: you \
    changed the on-disk format; keep reading v1 or write a migration, do not regenerate the \
    fixture (see the header of ledger/tests/format_dir.rs)";

/// The fixture's name and what it was written as.
const FIXTURE: &str = "ledger-dir-v1";
const FORMAT: u32 = 1;

fn fixture_dir() -> PathBuf {
    let ledger_crate = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = ledger_crate.parent().expect("ledger/ is in the workspace");
    workspace.join("testdata").join(FIXTURE)
}

// ---------------------------------------------------------------------------------------------
// Reading the checked-in directory.
// ---------------------------------------------------------------------------------------------

/// Everything `EXPECTED.json` and `EXPECTED.checkpoint` say, with the directory copied (never
/// opened in place) and opened with the current code.
struct Opened {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    ledger: Ledger,
    expected: Value,
    checkpoint: String,
    vkey: VerifierKey,
}

fn open_copy(fixture: &Path) -> Opened {
    assert!(
        fixture.join("db/CURRENT").is_file(),
        "{} is missing (or incomplete); it is checked in: restore it with git, do not regenerate",
        fixture.display()
    );
    let expected: Value =
        serde_json::from_slice(&std::fs::read(fixture.join("EXPECTED.json")).unwrap()).unwrap();
    let checkpoint = std::fs::read_to_string(fixture.join("EXPECTED.checkpoint")).unwrap();
    let vkey = VerifierKey::parse(expected["vkey"].as_str().unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(FIXTURE);
    copy_tree(fixture, &dir, &|_| true);
    let ledger = Ledger::open(&dir, Default::default())
        .unwrap_or_else(|e| panic!("{CHANGED}: Ledger::open refused the v1 directory: {e}"));
    Opened {
        _tmp: tmp,
        dir,
        ledger,
        expected,
        checkpoint,
        vkey,
    }
}

/// A read of the fixture that must succeed: its error is a format change too.
trait OrChanged<T> {
    fn or_changed(self, what: &str) -> T;
}

impl<T, E: std::fmt::Display> OrChanged<T> for Result<T, E> {
    fn or_changed(self, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{CHANGED}: {what}: {e}"))
    }
}

fn digest(v: &Value) -> Digest {
    Digest::from_hex(v.as_str().unwrap()).unwrap()
}

fn cid(v: &Value) -> ContentId {
    v.as_str().unwrap().parse().unwrap()
}

fn indexes(v: &Value) -> Vec<LeafIndex> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| LeafIndex(i.as_u64().unwrap()))
        .collect()
}

#[test]
fn ledger_dir_v1_opens_and_reads_back_exactly() {
    check_fixture(&fixture_dir());
}

/// Every read the fixture's `EXPECTED` files describe, one named step each.
fn check_fixture(fixture: &Path) {
    let o = open_copy(fixture);
    check_identity(&o);
    let (size, root) = check_latest_checkpoint(&o);
    let (leaves, bytes_all) = check_entries(&o, size);
    check_roots_and_stored_checkpoints(&o, &leaves, size, root);
    check_inclusion_proofs(&o, &leaves, size);
    check_tiles(&o, &leaves, &bytes_all, size);
    check_stored_sets(&o);
    check_query_indexes(&o);
    check_compliance(&o);

    // Opening signed nothing new: a reader's checkpoint is still the latest.
    let l = &o.ledger;
    assert_eq!(l.checkpoint().note, o.checkpoint);
    l.close();
}

/// The directory's identity: format record, origin, key.
fn check_identity(o: &Opened) {
    let (l, x) = (&o.ledger, &o.expected);
    assert_eq!(x["format"], FORMAT, "{CHANGED}: EXPECTED.json format");
    let format = l
        .store()
        .get(Column::Meta, keys::META_FORMAT)
        .or_changed("meta/format");
    assert_eq!(
        format,
        Some(FORMAT.to_be_bytes().to_vec()),
        "{CHANGED}: meta/format"
    );
    assert_eq!(l.origin(), x["origin"], "{CHANGED}: origin");
    assert_eq!(
        l.verifier_key().to_string(),
        x["vkey"],
        "{CHANGED}: the verifier key read from ledger.key and meta/vkey"
    );
}

/// The latest checkpoint: byte for byte, signed by the checked-in key, over the stored tree.
fn check_latest_checkpoint(o: &Opened) -> (TreeSize, Digest) {
    let (l, x) = (&o.ledger, &o.expected);
    let size = TreeSize(x["tree_size"].as_u64().unwrap());
    let root = digest(&x["root"]);
    let latest = l.checkpoint();
    assert_eq!(
        latest.note, o.checkpoint,
        "{CHANGED}: latest checkpoint text"
    );
    let cp = Checkpoint::verify(&latest.note, &o.vkey)
        .unwrap_or_else(|e| panic!("{CHANGED}: checkpoint does not verify: {e}"));
    assert_eq!(
        (cp.origin.as_str(), cp.size, cp.root),
        (l.origin(), size, root),
        "{CHANGED}: checkpoint contents"
    );
    assert_eq!(latest.checkpoint, cp, "{CHANGED}: parsed checkpoint");
    (size, root)
}

/// Every entry: its bytes hash to the expected leaf hash and decode to the expected facts.
fn check_entries(o: &Opened, size: TreeSize) -> (Vec<Digest>, Vec<Vec<u8>>) {
    let (l, x) = (&o.ledger, &o.expected);
    let entries = x["entries"].as_array().unwrap();
    assert_eq!(entries.len() as u64, size.0, "{CHANGED}: entry count");
    let mut leaves = Vec::new();
    let mut bytes_all = Vec::new();
    for (i, want) in entries.iter().enumerate() {
        let i = i as u64;
        assert_eq!(want["index"], i);
        let bytes = l
            .entry(LeafIndex(i))
            .or_changed("reading an entry")
            .unwrap_or_else(|| panic!("{CHANGED}: entry {i} is missing"));
        let leaf = ledger::leaf_hash(&bytes);
        assert_eq!(leaf, digest(&want["leaf_hash"]), "{CHANGED}: entry {i}");
        assert_eq!(facts(&bytes), want["facts"], "{CHANGED}: entry {i} facts");
        leaves.push(leaf);
        bytes_all.push(bytes);
    }
    assert_eq!(
        l.entry(LeafIndex(size.0)).or_changed("reading an entry"),
        None,
        "{CHANGED}: an entry beyond the checkpoint"
    );
    (leaves, bytes_all)
}

/// The root recomputed from the leaf hashes alone, and every stored checkpoint.
fn check_roots_and_stored_checkpoints(o: &Opened, leaves: &[Digest], size: TreeSize, root: Digest) {
    let (l, x) = (&o.ledger, &o.expected);
    assert_eq!(
        merkle::root::<Sha256Log>(leaves),
        root,
        "{CHANGED}: root from the leaf hashes"
    );
    let checkpoints = x["checkpoints"].as_array().unwrap();
    for c in checkpoints {
        let s = TreeSize(c["size"].as_u64().unwrap());
        let note = l
            .checkpoint_at(s)
            .or_changed("reading a checkpoint")
            .unwrap_or_else(|| panic!("{CHANGED}: no checkpoint stored at size {s}"));
        let got = Checkpoint::verify(&note, &o.vkey)
            .unwrap_or_else(|e| panic!("{CHANGED}: checkpoint {s} does not verify: {e}"));
        let want_root = digest(&c["root"]);
        assert_eq!(
            (got.size, got.root),
            (s, want_root),
            "{CHANGED}: checkpoint {s}"
        );
        let n = s.0 as usize;
        assert_eq!(
            merkle::root::<Sha256Log>(&leaves[..n]),
            want_root,
            "{CHANGED}: root of the first {n} leaf hashes"
        );
        // Every earlier tree is a prefix of the latest: the stored hashes serve the proof.
        if s.0 > 0 {
            let proof = l.consistency_proof(s, size).or_changed("consistency proof");
            merkle::verify_consistency::<Sha256Log>(s, size, &want_root, &root, &proof)
                .unwrap_or_else(|e| panic!("{CHANGED}: consistency {s} -> {size}: {e}"));
        }
    }
    assert_eq!(
        checkpoints.last().unwrap()["size"],
        size.0,
        "EXPECTED.json lists the latest checkpoint last"
    );
    assert_eq!(
        l.checkpoint_at(size)
            .or_changed("reading a checkpoint")
            .as_deref(),
        Some(o.checkpoint.as_str()),
        "{CHANGED}: the latest checkpoint as stored under its size"
    );
}

/// Inclusion proofs of every entry, in the latest tree and in the first one holding it.
fn check_inclusion_proofs(o: &Opened, leaves: &[Digest], size: TreeSize) {
    let l = &o.ledger;
    for (i, leaf) in leaves.iter().enumerate() {
        let i = LeafIndex(i as u64);
        for s in [size, TreeSize(i.0 + 1)] {
            let proof = l.inclusion_proof(i, s).or_changed("inclusion proof");
            let r = merkle::root::<Sha256Log>(&leaves[..s.0 as usize]);
            merkle::verify_inclusion::<Sha256Log>(leaf, i, s, &proof, &r)
                .unwrap_or_else(|e| panic!("{CHANGED}: inclusion of {i} in {s}: {e}"));
        }
    }
}

/// Tiles are read straight from the stored hashes and entries.
fn check_tiles(o: &Opened, leaves: &[Digest], bytes_all: &[Vec<u8>], size: TreeSize) {
    let l = &o.ledger;
    let n = size.0;
    let tile = l.tile(&format!("tile/0/000.p/{n}")).or_changed("hash tile");
    let want: Vec<u8> = leaves.iter().flat_map(|d| d.0).collect();
    assert_eq!(tile, want, "{CHANGED}: tile/0/000.p/{n}");
    let bundle = l
        .tile(&format!("tile/entries/000.p/{n}"))
        .or_changed("entry bundle");
    let mut want = Vec::new();
    for b in bytes_all {
        want.extend_from_slice(&(b.len() as u16).to_be_bytes());
        want.extend_from_slice(b);
    }
    assert_eq!(bundle, want, "{CHANGED}: tile/entries/000.p/{n}");
}

/// Stored sets: size, first and last leaves, membership and absence with verifying proofs.
fn check_stored_sets(o: &Opened) {
    let (l, x) = (&o.ledger, &o.expected);
    for s in x["sets"].as_array().unwrap() {
        let what = s["what"].as_str().unwrap();
        let root = digest(&s["root"]);
        let size = TreeSize(s["size"].as_u64().unwrap());
        let info = l
            .sets()
            .info(&root)
            .or_changed("set info")
            .unwrap_or_else(|| panic!("{CHANGED}: set {what} ({root}) is not stored"));
        assert_eq!(info.size, size, "{CHANGED}: size of set {what}");
        let first = l.sets().leaves(&root, 0, 1).or_changed("set leaves");
        let last = l
            .sets()
            .leaves(&root, size.0 - 1, 1)
            .or_changed("set leaves");
        assert_eq!(
            serde_json::to_value((first, last)).unwrap(),
            json!([[s["first_leaf"]], [s["last_leaf"]]]),
            "{CHANGED}: first and last leaves of set {what}"
        );
        assert_eq!(
            l.sets()
                .source(&root)
                .or_changed("set")
                .root()
                .or_changed("set root"),
            root,
            "{CHANGED}: root of set {what} recomputed from its stored records"
        );
        for (list, want) in [
            (&s["present"], Membership::Included),
            (&s["absent"], Membership::Excluded),
        ] {
            for id in list.as_array().unwrap() {
                let id = cid(id);
                let proof = l.set_proof(&root, &id).or_changed("set proof");
                let got = proof
                    .verify(&id, &root, size)
                    .unwrap_or_else(|e| panic!("{CHANGED}: {id} in set {what}: {e}"));
                assert_eq!(got, want, "{CHANGED}: {id} in set {what}");
                assert_eq!(
                    l.sets().contains(&root, &id).or_changed("set lookup"),
                    want == Membership::Included
                );
            }
        }
    }
}

/// The query indexes.
fn check_query_indexes(o: &Opened) {
    let (l, x) = (&o.ledger, &o.expected);
    for c in x["containing"].as_array().unwrap() {
        let id = cid(&c["cid"]);
        assert_eq!(
            l.dataset_versions_containing(&id)
                .or_changed("dataset versions containing"),
            indexes(&c["dataset_versions"]),
            "{CHANGED}: dataset versions containing {id}"
        );
    }
    let optouts = indexes(&x["optouts"]);
    assert_eq!(
        l.optouts(None, 1000).or_changed("optouts"),
        optouts,
        "{CHANGED}: optouts"
    );
    assert_eq!(
        l.optouts(Some(optouts[0]), 1).or_changed("optouts"),
        optouts[1..2]
    );
    for (name, p) in x["publishers"].as_object().unwrap() {
        let (key, at) = l
            .publisher(name)
            .or_changed("publisher")
            .unwrap_or_else(|| panic!("{CHANGED}: publisher {name} is not found"));
        assert_eq!(b64(&key), p["key"], "{CHANGED}: key of publisher {name}");
        assert_eq!(
            at.0, p["index"],
            "{CHANGED}: binding entry of publisher {name}"
        );
    }
    assert_eq!(l.publisher("nobody").or_changed("publisher"), None);
    for (publisher, versions) in x["dataset_versions"].as_object().unwrap() {
        let got: Vec<Value> = l
            .dataset_versions(publisher)
            .or_changed("dataset versions")
            .into_iter()
            .map(|(d, v, i)| json!([d, v, i.0]))
            .collect();
        assert_eq!(
            Value::Array(got),
            *versions,
            "{CHANGED}: dataset versions of {publisher}"
        );
        for v in versions.as_array().unwrap() {
            let (d, ver) = (v[0].as_str().unwrap(), v[1].as_str().unwrap());
            let at = l
                .dataset_version(publisher, d, ver)
                .or_changed("dataset version");
            assert_eq!(
                at.map(|i| i.0),
                v[2].as_u64(),
                "{CHANGED}: {publisher}/{d}@{ver}"
            );
        }
    }
    for m in x["model_checkpoints"].as_array().unwrap() {
        let (p, model) = (
            m["publisher"].as_str().unwrap(),
            m["model"].as_str().unwrap(),
        );
        assert_eq!(
            l.model_checkpoints(p, model)
                .or_changed("model checkpoints"),
            indexes(&m["indexes"]),
            "{CHANGED}: checkpoints of {p}/{model}"
        );
    }
}

/// Compliance: the bundle the service would serve, verified offline with the key alone.
fn check_compliance(o: &Opened) {
    let (l, x) = (&o.ledger, &o.expected);
    for c in x["compliance"].as_array().unwrap() {
        let index = LeafIndex(c["index"].as_u64().unwrap());
        let verdict = compliance(l, index, &o.vkey);
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            c["verdict"],
            "{CHANGED}: compliance of entry {index}"
        );
    }
}

/// The key file is part of the format too: what `keyfile::write` makes of the fixture's key is
/// the checked-in `ledger.key`, byte for byte.
#[test]
fn ledger_dir_v1_key_file_is_what_this_version_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("ledger.key");
    ledger::store::keyfile::write(&p, ORIGIN, &SigningKey::from_bytes(&[0x4c; 32])).unwrap();
    let checked_in = std::fs::read(fixture_dir().join(ledger::ledger::KEY_FILE)).unwrap();
    assert_eq!(
        std::fs::read(&p).unwrap(),
        checked_in,
        "{CHANGED}: the key file format"
    );
}

#[test]
fn ledger_dir_v1_stays_writable() {
    let o = open_copy(&fixture_dir());
    let (l, x) = (&o.ledger, &o.expected);
    let old_size = TreeSize(x["tree_size"].as_u64().unwrap());
    let old_root = digest(&x["root"]);

    // The cross-entry rules read the v1 indexes: a replay names its index, the old key of a
    // rotated publisher is refused, a dataset version cannot be logged twice.
    let first_optout = indexes(&x["optouts"])[0];
    let replay = l.entry(first_optout).unwrap().unwrap();
    match l.submit(replay) {
        Err(SubmitError::Rejected(Rejection::Replay(at))) => assert_eq!(at, first_optout.0),
        other => panic!("{CHANGED}: a replay of entry {first_optout} got {other:?}"),
    }
    // New entries are v2 entries, bound to the fixture's origin and stamped now.
    let s = Scenario::bound();
    let appended = s.model_checkpoint("step-4000", &[1, 6], old_size.0, &s.acme_k2);
    let weights = Scenario::weights("step-4000");
    let mut w = l.set_writer();
    for leaf in weights.leaves() {
        w.push(leaf).unwrap();
    }
    w.commit(&weights.root()).unwrap();
    match l.submit(s.model_checkpoint("step-4000", &[1, 6], old_size.0, &s.acme_k1)) {
        Err(SubmitError::Rejected(Rejection::NotPublisherKey(p))) => assert_eq!(p, "acme"),
        other => panic!("{CHANGED}: acme's replaced key got {other:?}"),
    }
    let dup = s.dataset_version("v1", &s.manifest_v1, None, CorpusMode::File, &s.acme_k2);
    match l.submit(dup) {
        Err(SubmitError::Rejected(Rejection::DuplicateVersion(k))) => {
            assert_eq!(k, "acme/web@v1")
        }
        other => panic!("{CHANGED}: a second acme/web@v1 got {other:?}"),
    }
    // The horizon rule reads a v1 ledger's last checkpoint of the model (entry 9, horizon 9),
    // which has no horizon record.
    match l.submit(s.model_checkpoint("step-3500", &[6], 8, &s.acme_k2)) {
        Err(SubmitError::Rejected(Rejection::HorizonBackwards { previous, horizon })) => {
            assert_eq!((previous, horizon), (9, 8))
        }
        other => panic!("{CHANGED}: a backwards horizon got {other:?}"),
    }
    // A new v1 entry is refused; the v1 entries already logged were read back above.
    match l.submit(Scenario::new().publisher(&s.acme_k2, &s.acme_k2, 900)) {
        Err(SubmitError::Rejected(Rejection::UnboundEntry)) => {}
        other => panic!("a new v1 entry got {other:?}"),
    }
    assert_eq!(l.checkpoint().size(), old_size, "refusals change nothing");

    // One more entry: the tree grows consistently from the v1 checkpoint.
    let r = l
        .submit(appended.clone())
        .unwrap_or_else(|e| panic!("{CHANGED}: the v1 directory refused a valid entry: {e}"));
    let new_size = TreeSize(old_size.0 + 1);
    assert_eq!(r.index, LeafIndex(old_size.0), "{CHANGED}: appended index");
    assert_eq!(r.checkpoint.size(), new_size, "{CHANGED}: appended size");
    let new_cp = Checkpoint::verify(&r.checkpoint.note, &o.vkey)
        .unwrap_or_else(|e| panic!("{CHANGED}: the new checkpoint does not verify: {e}"));
    let proof = l.consistency_proof(old_size, new_size).unwrap();
    merkle::verify_consistency::<Sha256Log>(old_size, new_size, &old_root, &new_cp.root, &proof)
        .unwrap_or_else(|e| panic!("{CHANGED}: the appended tree does not extend v1: {e}"));
    let leaf = ledger::leaf_hash(&appended);
    let proof = l.inclusion_proof(r.index, new_size).unwrap();
    merkle::verify_inclusion::<Sha256Log>(&leaf, r.index, new_size, &proof, &new_cp.root)
        .unwrap_or_else(|e| panic!("{CHANGED}: inclusion of the appended entry: {e}"));
    let mut leaves: Vec<Digest> = x["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| digest(&e["leaf_hash"]))
        .collect();
    leaves.push(leaf);
    assert_eq!(
        merkle::root::<Sha256Log>(&leaves),
        new_cp.root,
        "{CHANGED}: root after the append"
    );
    assert_eq!(
        l.checkpoint_at(old_size).unwrap().as_deref(),
        Some(o.checkpoint.as_str()),
        "{CHANGED}: the v1 checkpoint is still served at its size"
    );
    let mut models = indexes(&x["model_checkpoints"][0]["indexes"]);
    models.push(r.index);
    assert_eq!(
        l.model_checkpoints("acme", "lm").unwrap(),
        models,
        "{CHANGED}: the model index after the append"
    );
    assert_eq!(
        serde_json::to_value(compliance(l, r.index, &o.vkey)).unwrap(),
        x["compliance"][1]["verdict"],
        "{CHANGED}: web@v1 still holds the ids opted out before step-2000"
    );
    let note = r.checkpoint.note.clone();

    // And it reopens as it was left.
    l.close();
    drop(o.ledger);
    let l = Ledger::open(&o.dir, Default::default())
        .unwrap_or_else(|e| panic!("{CHANGED}: the appended directory does not reopen: {e}"));
    assert_eq!(
        l.checkpoint().note,
        note,
        "{CHANGED}: checkpoint after reopening"
    );
    assert_eq!(l.entry(r.index).unwrap(), Some(appended));
}

// ---------------------------------------------------------------------------------------------
// What the fixture's entries say, for EXPECTED.json: the same function writes and checks it.
// ---------------------------------------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An entry's decoded facts: its type and the fields the ledger's indexes and checks use.
fn facts(bytes: &[u8]) -> Value {
    let e = Entry::from_bytes(bytes)
        .unwrap_or_else(|err| panic!("{CHANGED}: a stored entry no longer decodes: {err}"));
    let mut f = match e.body() {
        EntryBody::Publisher(p) => json!({"name": p.name, "key": b64(p.key.as_bytes())}),
        EntryBody::DatasetVersion(d) => json!({
            "dataset": d.key().to_string(),
            "manifest_root": d.manifest_root.to_hex(),
            "item_count": d.item_count,
            "total_bytes": d.total_bytes,
            "corpus_mode": d.corpus_mode.to_string(),
            "licence": d.licence,
            "previous": d.previous,
        }),
        EntryBody::OptOut(o) => {
            let scope: Vec<&str> = o.scope.iter().map(|s| s.label()).collect();
            match &o.ids {
                Some(OptOutIds::Inline(ids)) => json!({"ids": ids, "scope": scope}),
                Some(OptOutIds::Set { root, size }) => {
                    json!({"set": {"root": root.to_hex(), "size": size}, "scope": scope})
                }
                None => json!({"sites": o.sites, "scope": scope}),
            }
        }
        EntryBody::ModelCheckpoint(c) => json!({
            "model": format!("{}/{}@{}", c.publisher, c.model, c.checkpoint),
            "weights_root": c.weights_root.to_hex(),
            "weights_count": c.weights_count,
            "datasets": c.datasets.iter()
                .map(|d| json!({"dataset": d.key().to_string(), "index": d.index.0,
                                "manifest_root": d.manifest_root.to_hex()}))
                .collect::<Vec<_>>(),
            "optout_horizon": c.optout_horizon,
        }),
    };
    let m = f.as_object_mut().unwrap();
    m.insert("type".into(), json!(e.kind().as_str()));
    m.insert("time".into(), json!(e.time()));
    m.insert("nonce".into(), json!(e.nonce()));
    m.insert(
        "signer".into(),
        json!(e.signer().map(|k| b64(k.as_bytes()))),
    );
    f
}

/// The compliance bundle of the `model_checkpoint` at `index`, assembled from the ledger's
/// reads as `GET /v1/compliance/{index}` does, then verified with the log's key alone.
fn compliance(l: &Ledger, index: LeafIndex, vkey: &VerifierKey) -> Verdict {
    let cp = l.checkpoint();
    let bundle_entry = |i: LeafIndex| {
        let bytes = l.entry(i).or_changed("reading an entry").unwrap();
        let proof = TlogProof {
            extra: None,
            index: i,
            proof: l
                .inclusion_proof(i, cp.size())
                .or_changed("inclusion proof"),
            checkpoint: cp.note.clone(),
        };
        let entry = Entry::from_bytes(&bytes).or_changed("decoding an entry");
        (entry.clone(), BundleEntry::new(&entry, &proof))
    };
    let (model, model_checkpoint) = bundle_entry(index);
    let EntryBody::ModelCheckpoint(c) = model.body() else {
        panic!("entry {index} is not a model_checkpoint");
    };
    let datasets = c.datasets.iter().map(|d| bundle_entry(d.index).1).collect();
    let mut optouts = Vec::new();
    let mut optout_sets = Vec::new();
    let mut ids = BTreeSet::new();
    for i in l.optouts(None, usize::MAX).or_changed("optouts") {
        if i.0 >= c.optout_horizon {
            break;
        }
        let (e, b) = bundle_entry(i);
        optouts.push(b);
        let EntryBody::OptOut(o) = e.body() else {
            panic!("{CHANGED}: the opt-out index names entry {i}, not an optout");
        };
        let these = match &o.ids {
            None => Vec::new(),
            Some(OptOutIds::Inline(v)) => v.clone(),
            Some(OptOutIds::Set { root, size }) => {
                let leaves = l
                    .sets()
                    .leaves(root, 0, *size as usize)
                    .or_changed("opt-out set");
                let cids = leaves.iter().map(|leaf| leaf.cid).collect();
                optout_sets.push(OptOutSetLeaves { leaves });
                cids
            }
        };
        if o.covers_training() {
            ids.extend(these);
        }
    }
    let mut set_proofs = Vec::new();
    for d in &c.datasets {
        for id in &ids {
            set_proofs.push(BundleSetProof {
                dataset: dataset_label(&d.key()),
                proof: l.set_proof(&d.manifest_root, id).or_changed("set proof"),
            });
        }
    }
    let bundle = ComplianceBundle {
        checkpoint: cp.note.clone(),
        model_checkpoint,
        datasets,
        optouts,
        optout_sets,
        set_proofs,
        multi_proofs: Vec::new(),
        horizon_entry: None,
        source_proofs: Vec::new(),
        passage_optouts: Vec::new(),
        passage_proofs: Vec::new(),
    };
    verify_bundle(&bundle, vkey).unwrap_or_else(|e| panic!("{CHANGED}: compliance bundle: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The generator: how testdata/ledger-dir-v1 was made. Fixed seeds and times throughout.
// ---------------------------------------------------------------------------------------------

const ORIGIN: &str = "example.test/ledger-v1";
const TIME: u64 = 1_780_000_000;

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

/// Item `n` of acme's corpus.
fn item(n: u64) -> ContentId {
    ContentId::of(format!("acme web item {n}").as_bytes())
}

fn leaf(n: u64) -> SetLeaf {
    SetLeaf {
        cid: item(n),
        size: 1000 + n,
        meta: Digest(*blake3::hash(format!("{{\"n\":{n}}}").as_bytes()).as_bytes()),
    }
}

fn set_of(leaves: impl IntoIterator<Item = SetLeaf>) -> SortedSet {
    let mut v: Vec<SetLeaf> = leaves.into_iter().collect();
    v.sort_by_key(|l| l.cid);
    SortedSet::new(v).unwrap()
}

/// The fixture's keys and sets, all from fixed seeds.
struct Scenario {
    /// Whether entries are v2 (bound to [`ORIGIN`], stamped now), for appending to a copy of
    /// the fixture; the fixture itself holds v1 entries at fixed times.
    bound: bool,
    log: NoteSigner,
    acme_k1: SigningKey,
    acme_k2: SigningKey,
    requester: SigningKey,
    /// acme/web@v1: items 0..300 (a full 256-leaf record, a partial one, a level-8 hash).
    manifest_v1: SortedSet,
    /// acme/web@v2: v1 without the opted-out items 3 and 5, plus items 300..310.
    manifest_v2: SortedSet,
    /// An opt-out set: item 5 and two ids in no corpus.
    optout_set: SortedSet,
    /// Inline opt-out ids: item 3 and one id in no corpus.
    inline_ids: Vec<ContentId>,
}

impl Scenario {
    fn new() -> Self {
        let mut inline_ids = vec![item(3), ContentId::of(b"never published")];
        inline_ids.sort();
        Scenario {
            bound: false,
            log: NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[0x4c; 32])).unwrap(),
            acme_k1: SigningKey::from_bytes(&[0xa1; 32]),
            acme_k2: SigningKey::from_bytes(&[0xa2; 32]),
            requester: SigningKey::from_bytes(&[0x0e; 32]),
            manifest_v1: set_of((0..300).map(leaf)),
            manifest_v2: set_of((0..310).filter(|n| *n != 3 && *n != 5).map(leaf)),
            optout_set: SortedSet::from_ids([
                item(5),
                ContentId::of(b"opted out, not in the corpus 1"),
                ContentId::of(b"opted out, not in the corpus 2"),
            ]),
            inline_ids,
        }
    }

    /// The scenario whose entries are v2, for appending today.
    fn bound() -> Self {
        Scenario {
            bound: true,
            ..Scenario::new()
        }
    }

    /// The weights set of a checkpoint appended by [`Scenario::bound`] (the sequencer now
    /// wants it stored).
    fn weights(checkpoint: &str) -> SortedSet {
        SortedSet::from_ids((0..4).map(|i| ContentId::of(format!("{checkpoint}/{i}").as_bytes())))
    }

    /// `body` signed by `by`: a v1 entry at `TIME + t`, or a v2 entry now.
    fn sign(&self, body: EntryBody, t: u64, by: &SigningKey) -> Vec<u8> {
        let e = if self.bound {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            Entry::sign(ORIGIN, body, now, None, by)
        } else {
            Entry::sign_v1(body, TIME + t, None, by)
        };
        e.unwrap().as_bytes().to_vec()
    }

    fn manifest(&self, index: u64) -> (&'static str, &SortedSet) {
        match index {
            1 => ("v1", &self.manifest_v1),
            6 => ("v2", &self.manifest_v2),
            _ => unreachable!("dataset versions are entries 1 and 6"),
        }
    }

    fn publisher(&self, key: &SigningKey, by: &SigningKey, t: u64) -> Vec<u8> {
        let body = EntryBody::Publisher(Publisher {
            name: name("acme"),
            key: key.verifying_key(),
        });
        self.sign(body, t, by)
    }

    fn dataset_version(
        &self,
        version: &str,
        set: &SortedSet,
        previous: Option<&str>,
        corpus_mode: CorpusMode,
        by: &SigningKey,
    ) -> Vec<u8> {
        let body = EntryBody::DatasetVersion(DatasetVersion {
            publisher: name("acme"),
            dataset: name("web"),
            version: name(version),
            manifest_root: set.root(),
            item_count: set.size().0,
            total_bytes: set.leaves().iter().map(|l| l.size).sum(),
            corpus_mode,
            licence: "CC-BY-4.0 AND MIT".into(),
            previous: previous.map(name),
            sources: None,
            passages: None,
        });
        self.sign(body, 60, by)
    }

    fn model_checkpoint(
        &self,
        checkpoint: &str,
        datasets: &[u64],
        horizon: u64,
        by: &SigningKey,
    ) -> Vec<u8> {
        let body = EntryBody::ModelCheckpoint(ModelCheckpoint {
            publisher: name("acme"),
            model: name("lm"),
            checkpoint: name(checkpoint),
            weights_root: if self.bound {
                Scenario::weights(checkpoint).root()
            } else {
                Digest(*blake3::hash(checkpoint.as_bytes()).as_bytes())
            },
            weights_count: 4,
            datasets: datasets
                .iter()
                .map(|&i| {
                    let (version, set) = self.manifest(i);
                    DatasetRef {
                        publisher: name("acme"),
                        dataset: name("web"),
                        version: name(version),
                        index: LeafIndex(i),
                        manifest_root: set.root(),
                    }
                })
                .collect(),
            optout_horizon: horizon,
        });
        self.sign(body, 600, by)
    }

    /// The fixture's entries, in log order; each is submitted alone, so a checkpoint is signed
    /// at every size.
    fn entries(&self) -> Vec<Vec<u8>> {
        let optout = |ids: OptOutIds, scope: Vec<Scope>| OptOut {
            ids: Some(ids),
            sites: vec![],
            scope,
            passages: None,
        };
        vec![
            // 0: acme binds its first key.
            self.publisher(&self.acme_k1, &self.acme_k1, 0),
            // 1: acme/web@v1 (manifest_v1, stored).
            self.dataset_version(
                "v1",
                &self.manifest_v1,
                None,
                CorpusMode::File,
                &self.acme_k1,
            ),
            // 2: an anonymous opt-out of item 3 from training.
            Entry::anonymous_v1(
                optout(
                    OptOutIds::Inline(self.inline_ids.clone()),
                    vec![Scope::TrainAi],
                ),
                TIME + 120,
                Some(1),
            )
            .unwrap()
            .as_bytes()
            .to_vec(),
            // 3: a signed opt-out by set (item 5 and two others) from ai-use and training.
            Entry::sign_v1(
                EntryBody::OptOut(optout(
                    OptOutIds::Set {
                        root: self.optout_set.root(),
                        size: self.optout_set.size().0,
                    },
                    vec![Scope::AiUse, Scope::TrainAi],
                )),
                TIME + 180,
                None,
                &self.requester,
            )
            .unwrap()
            .as_bytes()
            .to_vec(),
            // 4: an anonymous opt-out of item 7 from search only: no training claim.
            Entry::anonymous_v1(
                optout(OptOutIds::Inline(vec![item(7)]), vec![Scope::Search]),
                TIME + 240,
                None,
            )
            .unwrap()
            .as_bytes()
            .to_vec(),
            // 5: acme rotates to its second key, signed by the first.
            self.publisher(&self.acme_k2, &self.acme_k1, 300),
            // 6: acme/web@v2 without the opted-out items, signed by the new key.
            self.dataset_version(
                "v2",
                &self.manifest_v2,
                Some("v1"),
                CorpusMode::JsonLines {
                    field: "text".into(),
                },
                &self.acme_k2,
            ),
            // 7: trained on v1 before any opt-out (horizon 2): compliant.
            self.model_checkpoint("step-1000", &[1], 2, &self.acme_k2),
            // 8: trained on v1 after the opt-outs (horizon 8): violates opt-outs 2 and 3.
            self.model_checkpoint("step-2000", &[1], 8, &self.acme_k2),
            // 9: trained on v2 (horizon 9): compliant.
            self.model_checkpoint("step-3000", &[6], 9, &self.acme_k2),
        ]
    }
}

/// Rebuilds `testdata/ledger-dir-v1/` and its `EXPECTED` files from scratch:
///
/// ```text
/// PROV_REGENERATE=1 cargo test -p ledger --features rocksdb --test format_dir -- --ignored regenerate
/// ```
///
/// Since entries are bound to their log (issue 11), today's sequencer refuses the fixture's v1
/// entries at their fixed times, so this no longer runs as is: it stays as the record of how v1
/// was made, and the starting point of a `ledger-dir-v2` generator.
///
/// **Regenerating is a format change.** Once v1 is released, never overwrite it: a changed format
/// gets a new fixture (`ledger-dir-v2`, a copy of this generator) while v1 stays and keeps being
/// read (or migrated). Without `PROV_REGENERATE=1` this refuses to touch an existing fixture.
#[test]
#[ignore = "writes testdata/ledger-dir-v1; see the docs"]
fn regenerate_ledger_dir_v1() {
    let target = fixture_dir();
    if target.exists() && std::env::var("PROV_REGENERATE").as_deref() != Ok("1") {
        panic!(
            "{} exists; regenerating it is a format change (see this test's docs). \
             Set PROV_REGENERATE=1 to overwrite it anyway.",
            target.display()
        );
    }
    let s = Scenario::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(FIXTURE);
    std::fs::create_dir(&dir).unwrap();

    // Ledger::create with a fixed key: the key file as Ledger::create writes it (mode 0600 does
    // not survive git; the service only warns about it), then the same store and metadata.
    let signer = ledger::store::keyfile::write(
        &dir.join(ledger::ledger::KEY_FILE),
        ORIGIN,
        &SigningKey::from_bytes(&[0x4c; 32]),
    )
    .unwrap();
    assert_eq!(signer.key_id(), s.log.key_id());
    let store = RocksStore::create(&dir.join(ledger::ledger::DB_DIR)).unwrap();
    let l = Ledger::create_with_store(Arc::new(store), signer, Default::default()).unwrap();

    for set in [&s.manifest_v1, &s.manifest_v2, &s.optout_set] {
        let mut w = l.set_writer();
        for leaf in set.leaves() {
            w.push(leaf).unwrap();
        }
        w.commit(&set.root()).unwrap();
    }
    // Entries 0..7, then a reopen, which replays RocksDB's write-ahead log into table files
    // (and reads the hand-written key file), then the rest: the fixture holds both.
    let entries = s.entries();
    let mut l = l;
    for (i, e) in entries.iter().enumerate() {
        if i == 7 {
            l.close();
            drop(l);
            l = Ledger::open(&dir, Default::default()).unwrap();
        }
        let r = l.submit(e.clone()).unwrap();
        assert_eq!(r.index, LeafIndex(i as u64));
    }
    let latest = l.checkpoint();
    let size = latest.size();
    let leaves: Vec<Digest> = entries.iter().map(|e| ledger::leaf_hash(e)).collect();

    let set_facts = |what: &str, set: &SortedSet, present: &[ContentId], absent: &[ContentId]| {
        let leaves = set.leaves();
        json!({
            "what": what,
            "root": set.root().to_hex(),
            "size": set.size().0,
            "first_leaf": leaves[0],
            "last_leaf": leaves[leaves.len() - 1],
            "present": present,
            "absent": absent,
        })
    };
    let nowhere = ContentId::of(b"in no set at all");
    let opted_in_set = s.optout_set.leaves()[0].cid;
    let containing = [item(0), item(3), item(5), item(305), nowhere]
        .into_iter()
        .map(|id| json!({"cid": id, "dataset_versions": l.dataset_versions_containing(&id).unwrap()}))
        .collect::<Vec<_>>();
    let compliance_of = |i: u64| json!({"index": i, "verdict": compliance(&l, LeafIndex(i), &s.log.verifier_key())});
    let (acme_key, acme_at) = l.publisher("acme").unwrap().unwrap();
    let expected = json!({
        "about": "testdata/ledger-dir-v1: what format 1 of the ledger directory holds; written \
                  with it by regenerate_ledger_dir_v1 (ledger/tests/format_dir.rs), checked by \
                  the other tests there",
        "format": FORMAT,
        "origin": ORIGIN,
        "vkey": l.verifier_key().to_string(),
        "tree_size": size.0,
        "root": latest.checkpoint.root.to_hex(),
        "checkpoints": (0..=size.0).map(|n| json!({
            "size": n,
            "root": merkle::root::<Sha256Log>(&leaves[..n as usize]).to_hex(),
        })).collect::<Vec<_>>(),
        "entries": entries.iter().zip(&leaves).enumerate().map(|(i, (e, h))| json!({
            "index": i,
            "leaf_hash": h.to_hex(),
            "facts": facts(e),
        })).collect::<Vec<_>>(),
        "sets": [
            set_facts("manifest of acme/web@v1", &s.manifest_v1,
                      &[item(0), item(3), item(5), item(299)], &[item(300), nowhere]),
            set_facts("manifest of acme/web@v2", &s.manifest_v2,
                      &[item(0), item(309)], &[item(3), item(5), nowhere]),
            set_facts("opt-out set of entry 3", &s.optout_set, &[opted_in_set], &[item(3)]),
        ],
        "containing": containing,
        "optouts": l.optouts(None, usize::MAX).unwrap(),
        "publishers": {"acme": {"key": b64(&acme_key), "index": acme_at.0}},
        "dataset_versions": {
            "acme": l.dataset_versions("acme").unwrap().into_iter()
                .map(|(d, v, i)| json!([d, v, i.0])).collect::<Vec<_>>(),
        },
        "model_checkpoints": [
            {"publisher": "acme", "model": "lm", "indexes": l.model_checkpoints("acme", "lm").unwrap()},
        ],
        "compliance": [compliance_of(7), compliance_of(8), compliance_of(9)],
    });
    // What the scenario is meant to show, so a generator change cannot quietly lose it.
    assert!(size.0 >= 2 && expected["optouts"] == json!([2, 3, 4]));
    assert_eq!(expected["compliance"][0]["verdict"]["verdict"], "compliant");
    assert_eq!(expected["compliance"][1]["verdict"]["verdict"], "violated");
    assert_eq!(expected["compliance"][2]["verdict"]["verdict"], "compliant");
    assert_eq!(acme_key, s.acme_k2.verifying_key().to_bytes());
    l.close();
    drop(l);

    // The database without RocksDB's info logs and lock file (recreated on open).
    let keep = |p: &Path| {
        let n = p.file_name().unwrap().to_string_lossy();
        !(n == "LOCK" || n == "LOG" || n.starts_with("LOG.old"))
    };
    if target.exists() {
        std::fs::remove_dir_all(&target).unwrap();
    }
    copy_tree(&dir, &target, &keep);
    let mut text = serde_json::to_string_pretty(&expected).unwrap();
    text.push('\n');
    std::fs::write(target.join("EXPECTED.json"), text).unwrap();
    std::fs::write(target.join("EXPECTED.checkpoint"), &latest.note).unwrap();
    // Byte-exact files (the checkpoint note, the key file's single line): no CRLF on checkout.
    std::fs::write(
        target.join(".gitattributes"),
        "# A byte-exact fixture (ledger/tests/format_dir.rs): no end-of-line conversion.\n* -text\n",
    )
    .unwrap();

    // What was written reads back.
    check_fixture(&target);
}

/// Copies the directory tree `from` to `to` (created), files for which `keep` holds.
fn copy_tree(from: &Path, to: &Path, keep: &dyn Fn(&Path) -> bool) {
    std::fs::create_dir_all(to).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &dest, keep);
        } else if keep(&p) {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}
