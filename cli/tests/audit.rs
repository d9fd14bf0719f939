//! `prov audit` against a real `prov serve` (RocksDB in a temporary directory) on loopback: the
//! demo ledger has no breach; an entry written behind the sequencer's back (straight into the
//! stopped ledger's RocksDB, exactly as `integrate` writes a batch but without the rules) is
//! reported, alone, with its index and evidence that verifies; a second run reads only what is
//! new; a log forked under the same key is caught against the checkpoint the state file holds.
//!
//! Needs the `server` feature (the default), which `prov serve` lives behind; with it `ledger`
//! is built with RocksDB, which the planting helper opens.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(all(feature = "server", unix))]

mod common;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use common::{json, ok, p, prov, Server};
use ledger::entry::{CorpusMode, DatasetVersion, Entry, EntryBody, Name};
use ledger::store::log::{durable_size, entry, StoreHashes};
use ledger::store::{keys, Column, Durability, LogStore, RocksStore, WriteBatch};
use ledger::tree::{stored_hash_count, RightEdge};
use ledger::{Digest, LeafIndex};

fn demo(data: &Path) -> Server {
    Server::start_with(data, false, &["--demo"])
}

/// Stops `prov serve` the way an operator does (SIGTERM) and waits for it.
fn stop(mut server: Server) {
    let pid = server.child.id();
    let kill = std::process::Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}")])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "prov serve exited with {status}");
}

/// `prov audit ... --json`: its exit code and its report.
fn audit(server: &Server, state: &Path) -> (i32, serde_json::Value) {
    let r = prov(&[
        "audit",
        "--vkey",
        &server.vkey,
        "--server",
        &server.url,
        "--state",
        p(state),
        "--json",
    ]);
    assert!(
        r.code == 0 || r.code == 1,
        "prov audit exited {}\nstdout: {}\nstderr: {}",
        r.code,
        r.stdout,
        r.stderr
    );
    (r.code, json(&r.stdout))
}

/// Appends `bytes` to the stopped ledger in `data` as the sequencer's `integrate` does (entry,
/// new tree hashes and tree size in one synced write batch) but without any of its rules, and
/// without signing a checkpoint: the next `prov serve` signs one for it at start-up. Returns the
/// entry's index.
fn plant(data: &Path, bytes: &[u8]) -> u64 {
    let store = RocksStore::open(&data.join("db")).unwrap();
    let size = durable_size(&store).unwrap();
    let mut edge = RightEdge::load(size, &StoreHashes(&store)).unwrap();
    let mut hashes = Vec::new();
    edge.append(ledger::leaf_hash(bytes), &mut hashes);
    let first = stored_hash_count(size);
    let mut wb = WriteBatch::new();
    wb.put(
        Column::Entries,
        keys::entry_key(size.0).to_vec(),
        bytes.to_vec(),
    );
    for (j, h) in hashes.iter().enumerate() {
        wb.put(
            Column::Hashes,
            keys::hash_key(first + j as u64).to_vec(),
            h.0.to_vec(),
        );
    }
    wb.put(
        Column::Meta,
        keys::META_TREE_SIZE.to_vec(),
        edge.size().0.to_be_bytes().to_vec(),
    );
    store.write(wb, Durability::Synced).unwrap();
    size.0
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn cid(text: &str) -> String {
    format!("blake3:{}", blake3::hash(text.as_bytes()).to_hex())
}

fn optout(server: &Server, text: &str) {
    ok(&["optout", "--id", &cid(text), "--server", &server.url], 0);
}

#[test]
fn audit_of_the_demo_ledger_reports_no_breach() {
    let tmp = tempfile::tempdir().unwrap();
    let server = demo(&tmp.path().join("ledger"));
    let state = tmp.path().join("audit.json");
    let (code, report) = audit(&server, &state);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["breaches"], serde_json::json!([]));
    let size = report["tree_size"].as_u64().unwrap();
    assert!(size >= 9, "{report}");
    assert_eq!(report["from"], 0);
    assert_eq!(report["audited"], size);
    // Three manifests and two weights sets.
    assert_eq!(report["sets_read"], 5, "{report}");

    // The text report says the same.
    let r = prov(&[
        "audit",
        "--vkey",
        &server.vkey,
        "--server",
        &server.url,
        "--state",
        p(&tmp.path().join("other.json")),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("no breach"), "{}", r.stdout);
    assert!(!r.stdout.contains("breach "), "{}", r.stdout);
}

/// Registers publisher `mallory` (through the API, by the rules) and returns its key: planted
/// dataset versions signed by it pass every rule but the one they are made to break.
fn register_mallory(server: &Server, dir: &Path) -> ed25519_dalek::SigningKey {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let key_file = dir.join("mallory.key");
    ledger::store::keyfile::write(&key_file, "mallory", &key).unwrap();
    ok(
        &[
            "publisher",
            "register",
            "--key",
            p(&key_file),
            "--server",
            &server.url,
        ],
        0,
    );
    key
}

/// `mallory/<dataset>@1` with the given manifest root and item count, signed by `key`.
fn mallory_version(
    vkey: &str,
    key: &ed25519_dalek::SigningKey,
    dataset: &str,
    root: Digest,
    items: u64,
) -> Entry {
    let body = EntryBody::DatasetVersion(DatasetVersion {
        publisher: Name::new("mallory").unwrap(),
        dataset: Name::new(dataset).unwrap(),
        version: Name::new("1").unwrap(),
        manifest_root: root,
        item_count: items,
        total_bytes: 30,
        corpus_mode: CorpusMode::File,
        licence: "MIT".into(),
        previous: None,
        sources: None,
        passages: None,
    });
    // Bound to the log it is planted in (the origin is the vkey's name).
    let origin = vkey.split('+').next().unwrap();
    Entry::sign(origin, body, now(), None, key).unwrap()
}

#[test]
fn audit_reports_exactly_a_planted_breach() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    let server = demo(&data);
    let key = register_mallory(&server, tmp.path());
    let vkey = server.vkey.clone();
    stop(server);

    // A dataset version whose manifest was never uploaded: nobody can check anything about it.
    let never_stored = Digest(*blake3::hash(b"a set nobody has").as_bytes());
    let planted = mallory_version(&vkey, &key, "ghost", never_stored, 3);
    let index = plant(&data, planted.as_bytes());

    let server = Server::start(&data, false);
    assert_eq!(server.vkey, vkey);
    let state = tmp.path().join("audit.json");
    let (code, report) = audit(&server, &state);
    assert_eq!(code, 1, "{report}");
    let breaches = report["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{report}");
    let b = &breaches[0];
    assert_eq!(b["kind"], "set_not_available", "{b}");
    assert_eq!(b["index"], index, "{b}");
    assert_eq!(b["evidence"]["set"]["root"], never_stored.to_hex(), "{b}");
    assert_eq!(report["tree_size"], index + 1);

    // The evidence stands on its own: the entry's bytes and a tlog-proof that the log signed
    // it, which `prov verify inclusion` checks with the vkey alone.
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b["evidence"]["entry"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, planted.as_bytes());
    let (entry_file, proof_file) = (tmp.path().join("entry"), tmp.path().join("proof"));
    std::fs::write(&entry_file, &bytes).unwrap();
    std::fs::write(&proof_file, b["evidence"]["tlog_proof"].as_str().unwrap()).unwrap();
    ok(
        &[
            "verify",
            "inclusion",
            "--vkey",
            &vkey,
            "--entry",
            p(&entry_file),
            p(&proof_file),
        ],
        0,
    );

    // Found once, reported every run (the log stays in breach), never twice.
    let (code, again) = audit(&server, &state);
    assert_eq!(code, 1);
    assert_eq!(again["audited"], 0);
    let breaches = again["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{again}");
    assert_eq!(breaches[0]["new"], false);
}

#[test]
fn audit_reports_a_stored_set_of_another_size_than_the_entry_says() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    let server = demo(&data);
    let key = register_mallory(&server, tmp.path());
    let vkey = server.vkey.clone();
    stop(server);
    // A stored manifest of the demo, claimed with one item more than it has.
    let (root, items) = {
        let store = RocksStore::open(&data.join("db")).unwrap();
        let size = durable_size(&store).unwrap().0;
        (0..size)
            .find_map(|i| {
                let e = Entry::from_bytes(&entry(&store, LeafIndex(i)).unwrap().unwrap()).unwrap();
                match e.body() {
                    EntryBody::DatasetVersion(d) => Some((d.manifest_root, d.item_count)),
                    _ => None,
                }
            })
            .unwrap()
    };
    let index = plant(
        &data,
        mallory_version(&vkey, &key, "inflated", root, items + 1).as_bytes(),
    );
    let server = Server::start(&data, false);
    let (code, report) = audit(&server, &tmp.path().join("audit.json"));
    assert_eq!(code, 1, "{report}");
    let breaches = report["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{report}");
    assert_eq!(breaches[0]["kind"], "set_size_mismatch");
    assert_eq!(breaches[0]["index"], index);
    let set = &breaches[0]["evidence"]["set"];
    assert_eq!(set["claimed_size"], items + 1, "{set}");
    assert_eq!(set["size"], items, "{set}");
    assert_eq!(set["outcome"], "verified", "{set}");
}

/// The forged verdict of issue 11: a set whose root covers unsorted leaves `[a, c, x]` (a < x <
/// c), under which both an inclusion and an exclusion proof of `x` verify. Written straight into
/// the stopped ledger's set columns (the upload path refuses it), then named by a dataset
/// version.
#[test]
fn audit_reports_a_forged_unsorted_set() {
    use ledger::set::SetLeaf;
    use ledger::ContentId;

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    let server = demo(&data);
    let key = register_mallory(&server, tmp.path());
    let vkey = server.vkey.clone();
    stop(server);

    let mut ids: Vec<ContentId> = (0..3u8).map(|i| ContentId::of(&[i])).collect();
    ids.sort();
    let (a, x, c) = (ids[0], ids[1], ids[2]);
    let leaves: Vec<SetLeaf> = [a, c, x].into_iter().map(SetLeaf::id_only).collect();
    let hashes: Vec<Digest> = leaves.iter().map(SetLeaf::leaf_hash).collect();
    let root = ledger::merkle::root::<ledger::Blake3Set>(&hashes);
    {
        let store = RocksStore::open(&data.join("db")).unwrap();
        let id = 1_000_000u64;
        let mut wb = WriteBatch::new();
        let mut v = id.to_be_bytes().to_vec();
        v.extend_from_slice(&3u64.to_be_bytes());
        wb.put(Column::SetRoots, keys::set_root_key(&root).to_vec(), v);
        let rec: Vec<u8> = leaves.iter().flat_map(|l| l.to_bytes()).collect();
        wb.put(Column::SetLeaves, keys::set_leaves_key(id, 0).to_vec(), rec);
        wb.put(Column::Meta, keys::meta_set_key(id), root.0.to_vec());
        store.write(wb, Durability::Synced).unwrap();
    }
    let index = plant(
        &data,
        mallory_version(&vkey, &key, "forged", root, 3).as_bytes(),
    );
    let server = Server::start(&data, false);
    let (code, report) = audit(&server, &tmp.path().join("audit.json"));
    assert_eq!(code, 1, "{report}");
    let breaches = report["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{report}");
    assert_eq!(breaches[0]["kind"], "set_not_sorted", "{report}");
    assert_eq!(breaches[0]["index"], index);
    assert_eq!(breaches[0]["evidence"]["set"]["position"], 2, "{report}");
}

#[test]
fn audit_reports_a_replayed_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    stop(demo(&data));
    // The demo's first opt-out, logged a second time, byte for byte.
    let replayed = {
        let store = RocksStore::open(&data.join("db")).unwrap();
        let size = durable_size(&store).unwrap().0;
        (0..size)
            .map(|i| entry(&store, LeafIndex(i)).unwrap().unwrap())
            .find(|e| String::from_utf8_lossy(e).contains("\"optout\""))
            .unwrap()
    };
    let index = plant(&data, &replayed);
    let server = Server::start(&data, false);
    let (code, report) = audit(&server, &tmp.path().join("audit.json"));
    assert_eq!(code, 1, "{report}");
    let breaches = report["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{report}");
    assert_eq!(breaches[0]["kind"], "rule_violated");
    assert_eq!(breaches[0]["index"], index);
    let why = breaches[0]["evidence"]["rejection"].as_str().unwrap();
    assert!(why.contains("already in the log"), "{why}");
}

#[test]
fn audit_detects_entries_that_do_not_match_the_signed_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    stop(demo(&data));
    // Entry 3's bytes swapped for entry 4's, its tree hashes left alone: the checkpoint still
    // matches the stored tree (the server starts), but the entry bundle no longer does.
    {
        let store = RocksStore::open(&data.join("db")).unwrap();
        let other = entry(&store, LeafIndex(4)).unwrap().unwrap();
        let mut wb = WriteBatch::new();
        wb.put(Column::Entries, keys::entry_key(3).to_vec(), other);
        store.write(wb, Durability::Synced).unwrap();
    }
    let server = Server::start(&data, false);
    let state = tmp.path().join("audit.json");
    let (code, report) = audit(&server, &state);
    assert_eq!(code, 1, "{report}");
    let breaches = report["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{report}");
    assert_eq!(breaches[0]["kind"], "tree_mismatch", "{report}");
    // Nothing read from entries that are not the signed ones counts: no state to resume from.
    assert_eq!(report["audited"], 0);
    assert!(!state.exists());
}

#[test]
fn audit_resumes_from_its_state_file() {
    let tmp = tempfile::tempdir().unwrap();
    let server = demo(&tmp.path().join("ledger"));
    let state = tmp.path().join("audit.json");
    let (code, first) = audit(&server, &state);
    assert_eq!(code, 0, "{first}");
    let size = first["tree_size"].as_u64().unwrap();
    assert_eq!(first["audited"], size);

    optout(&server, "one more document");
    optout(&server, "and another");
    let (code, second) = audit(&server, &state);
    assert_eq!(code, 0, "{second}");
    assert_eq!(second["from"], size);
    assert_eq!(second["audited"], 2, "{second}");
    assert_eq!(second["tree_size"], size + 2);
    // The sets named before were verified once and are not read again.
    assert_eq!(second["sets_read"], 0, "{second}");

    let (code, third) = audit(&server, &state);
    assert_eq!(code, 0);
    assert_eq!(third["audited"], 0);
    assert_eq!(third["from"], size + 2);
}

#[test]
fn audit_detects_a_rewritten_history() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let server = Server::start(&a, false);
    optout(&server, "shared history");
    stop(server);
    // Ledger B: a copy of A (the same key file, the same entries), then the two diverge.
    let cp = std::process::Command::new("cp")
        .args(["-R", p(&a), p(&b)])
        .status()
        .unwrap();
    assert!(cp.success());

    let server_a = Server::start(&a, false);
    optout(&server_a, "only in A");
    let state = tmp.path().join("audit.json");
    let (code, report) = audit(&server_a, &state);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["tree_size"], 2);
    let seen = std::fs::read(&state).unwrap();
    stop(server_a);

    let server_b = Server::start(&b, false);
    assert_eq!(server_b.vkey, report_vkey(&state));
    optout(&server_b, "only in B");
    optout(&server_b, "also only in B");
    let (code, report) = audit(&server_b, &state);
    assert_eq!(code, 1, "{report}");
    let breaches = report["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{report}");
    assert_eq!(breaches[0]["kind"], "history_rewritten");
    let ev = &breaches[0]["evidence"];
    assert!(
        ev["old_checkpoint"].as_str().unwrap().contains("\n2\n"),
        "{ev}"
    );
    assert!(
        ev["new_checkpoint"].as_str().unwrap().contains("\n3\n"),
        "{ev}"
    );
    assert_eq!(report["audited"], 0);
    // The state still holds the checkpoint that B's history contradicts.
    assert_eq!(std::fs::read(&state).unwrap(), seen);

    // A fork seen at the same size: two checkpoints of size 3 with different roots.
    let fresh = tmp.path().join("fresh.json");
    let (code, _) = audit(&server_b, &fresh);
    assert_eq!(code, 0);
    stop(server_b);
    let server_a = Server::start(&a, false);
    optout(&server_a, "A's third");
    let (code, report) = audit(&server_a, &fresh);
    assert_eq!(code, 1, "{report}");
    let breaches = report["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{report}");
    assert_eq!(breaches[0]["kind"], "history_rewritten");
    assert!(
        breaches[0]["detail"]
            .as_str()
            .unwrap()
            .contains("different roots"),
        "{report}"
    );
}

fn report_vkey(state: &Path) -> String {
    json(&std::fs::read_to_string(state).unwrap())["vkey"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn audit_exit_codes_for_bad_input_and_an_unreachable_server() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("audit.json");
    let server = Server::start(&tmp.path().join("ledger"), false);
    let other = Server::start(&tmp.path().join("other"), false);
    // Not a vkey.
    let r = prov(&[
        "audit",
        "--vkey",
        "nonsense",
        "--server",
        &server.url,
        "--state",
        p(&state),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // Another log's key: its checkpoint does not verify.
    let r = prov(&[
        "audit",
        "--vkey",
        &other.vkey,
        "--server",
        &server.url,
        "--state",
        p(&state),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!state.exists());
    // A state file of another log.
    let (code, _) = audit(&other, &state);
    assert_eq!(code, 0);
    let r = prov(&[
        "audit",
        "--vkey",
        &server.vkey,
        "--server",
        &server.url,
        "--state",
        p(&state),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("belongs to the log"), "{}", r.stderr);
    // Nobody listening.
    let url = server.url.clone();
    stop(server);
    let r = prov(&[
        "audit",
        "--vkey",
        &other.vkey,
        "--server",
        &url,
        "--state",
        p(&tmp.path().join("x.json")),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
}

/// A manifest of `n` items with metadata, each from `https://<host>/<i>` where every third item
/// comes from `news.optedout.example`: (leaves in order, the JSON Lines body, root).
fn manifest_with_sources(n: u64) -> (Vec<(ledger::set::SetLeaf, String)>, String, Digest) {
    let mut items: Vec<(ledger::set::SetLeaf, String)> = (0..n)
        .map(|i| {
            let host = if i % 3 == 0 {
                "news.optedout.example"
            } else {
                "fine.example"
            };
            let meta =
                format!(r#"{{"sources":[{{"path":"f{i}","source":"https://{host}/{i}"}}]}}"#);
            let leaf = ledger::set::SetLeaf {
                cid: ledger::ContentId::of(format!("audit item {i}").as_bytes()),
                size: 10,
                meta: Digest(*blake3::hash(meta.as_bytes()).as_bytes()),
            };
            (leaf, meta)
        })
        .collect();
    items.sort_by_key(|(l, _)| l.cid);
    let set = ledger::set::SortedSet::new(items.iter().map(|(l, _)| *l).collect()).unwrap();
    let mut body = format!(
        "{{\"format\":\"prov-manifest/v1\",\"meta\":\"full\",\"root\":\"{}\"}}\n",
        set.root().to_hex()
    );
    for (l, m) in &items {
        body.push_str(&format!(
            "{{\"leaf\":\"{}\",\"meta\":{m}}}\n",
            hex::encode(l.to_bytes())
        ));
    }
    (items, body, set.root())
}

/// The source tree of those items, leaving out `skip` hosts' items (a forged claim).
fn sources_of(items: &[(ledger::set::SetLeaf, String)], skip: Option<&str>) -> (Digest, u64) {
    let leaves: Vec<ledger::range::RangeLeaf> = items
        .iter()
        .filter(|(_, m)| skip.is_none_or(|s| !m.contains(s)))
        .map(|(l, m)| {
            let v: serde_json::Value = serde_json::from_str(m).unwrap();
            let url = v["sources"][0]["source"].as_str().unwrap();
            ledger::range::RangeLeaf::source(&ledger::source::source_key(url), &l.cid)
        })
        .collect();
    let t = ledger::range::RangeTree::from_unsorted(leaves);
    (t.root(), t.size().0)
}

/// The sources rule replayed (issue 13): a dataset version planted behind the sequencer's back
/// whose `sources` leaves out the items of the domain that opted out is reported, and only it:
/// the audit derives the source tree itself from the served leaves and metadata, so an honest
/// claim (planted the same way) passes.
#[test]
fn audit_reports_a_planted_sources_claim_that_omits_a_domain() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    let server = demo(&data);
    let key = register_mallory(&server, tmp.path());
    let (items, body, root) = manifest_with_sources(30);
    let req = ledger::set::upload::UploadRequest::anonymous(
        root,
        30,
        ledger::set::upload::UploadFormat::Manifest,
        now(),
    )
    .unwrap()
    .to_json()
    .unwrap();
    let created = json(
        &ureq::post(&format!("{}/v1/uploads", server.url))
            .set("content-type", "application/json")
            .send_bytes(&req)
            .unwrap()
            .into_string()
            .unwrap(),
    );
    let id = created["upload_id"].as_str().unwrap();
    let put = ureq::put(&format!("{}/v1/uploads/{id}", server.url))
        .set("content-type", "application/x-ndjson")
        .send_string(&body)
        .unwrap();
    assert_eq!(put.status(), 201);
    let vkey = server.vkey.clone();
    stop(server);

    let with = |dataset: &str, sources: (Digest, u64)| {
        let e = mallory_version(&vkey, &key, dataset, root, 30);
        let EntryBody::DatasetVersion(mut d) = e.body().clone() else {
            unreachable!()
        };
        d.sources = Some(ledger::entry::SetRef {
            root: sources.0,
            size: sources.1,
        });
        let origin = vkey.split('+').next().unwrap();
        Entry::sign(origin, EntryBody::DatasetVersion(d), now(), None, &key).unwrap()
    };
    plant(&data, with("honest", sources_of(&items, None)).as_bytes());
    let forged = plant(
        &data,
        with("forged", sources_of(&items, Some("optedout.example"))).as_bytes(),
    );

    let server = Server::start(&data, false);
    let (code, report) = audit(&server, &tmp.path().join("audit.json"));
    assert_eq!(code, 1, "{report}");
    let breaches = report["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{report}");
    assert_eq!(breaches[0]["index"], forged, "{report}");
    assert_eq!(breaches[0]["kind"], "rule_violated", "{report}");
    let text = breaches[0].to_string();
    assert!(text.contains("sources claims root"), "{text}");
}

/// Entries naming passage trees (issue 14) are replayed against the trees the audit reads back
/// from the server and checks itself: the demo's versions name stored trees and pass; an entry
/// planted behind the sequencer's back naming a passage tree the server does not have (which
/// would jam every compliance bundle of a model trained on it) is a breach.
#[test]
fn audit_reports_a_planted_passages_claim_for_a_tree_the_server_does_not_have() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    let server = demo(&data);
    let key = register_mallory(&server, tmp.path());
    let vkey = server.vkey.clone();
    stop(server);

    // The demo's licences@1 (entry 2): its manifest and its stored passage tree.
    let (manifest, items, tree) = {
        let store = RocksStore::open(&data.join("db")).unwrap();
        let bytes = store
            .get(Column::Entries, &keys::entry_key(2))
            .unwrap()
            .unwrap();
        let e = Entry::from_bytes(&bytes).unwrap();
        let EntryBody::DatasetVersion(d) = e.body() else {
            panic!("entry 2 is licences@1")
        };
        (d.manifest_root, d.item_count, d.passages.unwrap())
    };
    let with = |dataset: &str, passages: ledger::entry::SetRef| {
        let e = mallory_version(&vkey, &key, dataset, manifest, items);
        let EntryBody::DatasetVersion(mut d) = e.body().clone() else {
            unreachable!()
        };
        d.passages = Some(passages);
        let origin = vkey.split('+').next().unwrap();
        Entry::sign(origin, EntryBody::DatasetVersion(d), now(), None, &key).unwrap()
    };
    plant(&data, with("honest", tree).as_bytes());
    let never_stored = ledger::entry::SetRef {
        root: Digest([0x5a; 32]),
        size: 12,
    };
    let forged = plant(&data, with("forged", never_stored).as_bytes());

    let server = Server::start(&data, false);
    let (code, report) = audit(&server, &tmp.path().join("audit.json"));
    assert_eq!(code, 1, "{report}");
    let breaches = report["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{report}");
    assert_eq!(breaches[0]["index"], forged, "{report}");
    assert_eq!(breaches[0]["kind"], "rule_violated", "{report}");
    let text = breaches[0].to_string();
    assert!(text.contains("no passage tree"), "{text}");
}
