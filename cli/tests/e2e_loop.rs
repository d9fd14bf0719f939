//! The whole loop of issue #6 over real HTTP on loopback, with a real `prov serve` (RocksDB in a
//! temporary directory) and nothing but the `prov` binary as the client:
//!
//! two publishers; three dataset versions, one of them version 2 of another with an opted-out
//! document removed; opt-outs before and after the checkpoints; a compliant checkpoint and one
//! trained on a version that still holds an opted-out document. The compliant bundle verifies
//! (exit 0); the violating one exits 1 naming the opt-out; a bundle with one flipped bit exits 2;
//! a bundle from which an opt-out was removed is "not checked for completeness" offline (exit 6)
//! and fails the default check against the server's tiles. A publisher cannot publish under
//! another's name (4xx, exit 4) and replays are refused. Independently, a tlog-proof from the
//! JSON API verifies with `prov verify inclusion`.
//!
//! The loop is one test, because each step builds on the log the steps before it wrote; each
//! step is a named function over the shared [`World`], so a failure names its step.
//!
//! Needs the `server` feature (the default), which `prov serve` lives behind.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(feature = "server")]

mod common;

use std::path::{Path, PathBuf};

use common::{json, ok, p, prov, Server};

fn write_docs(dir: &Path, docs: &[(&str, &str)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in docs {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir.to_path_buf()
}

fn cid_of(text: &str) -> String {
    format!("blake3:{}", blake3::hash(text.as_bytes()).to_hex())
}

/// The documents of the loop: `D2` is opted out before the checkpoints, `D5` after them.
const D1: &str = "the first page";
const D2: &str = "a poem, opted out";
const D3: &str = "notes";
const D4: &str = "a recipe";
const D5: &str = "chapter one";
const D6: &str = "chapter two";

#[test]
fn publish_optout_attest_and_prove_compliance_over_http() {
    let w = World::start();
    register_two_publishers(&w);
    let logged = publish_datasets_and_optouts(&w);
    refuse_foreign_names_and_republication(&w);
    let (good, bad) = attest_two_checkpoints(&w);
    optout_after_the_checkpoints(&w);
    let bundles = fetch_bundles(&w, good);

    compliant_bundle_verifies(&w, &bundles);
    violating_bundle_names_the_optout(&w, &bundles, logged.optout_d2, bad);
    a_flipped_bit_never_verifies(&w, &bundles);
    a_removed_optout_is_caught_by_the_completeness_check(&w, &bundles, logged.optout_d2);
    replays_are_refused(&w, logged.optout_d2);
    check_answers_per_model(&w, &logged.doc2);
    set_proof_verifies_offline(&w, &logged);
    entry_tlog_proof_verifies(&w, bad, &logged.doc2);
    check_without_a_model_lists_each_appearance(&w, &logged.doc2);
    consistency_between_checkpoints_verifies(&w);
}

/// The server, its verifier key (in a file, `vk`), and the two publishers' key files.
struct World {
    tmp: tempfile::TempDir,
    server: Server,
    vkey_file: PathBuf,
    alice: PathBuf,
    bob: PathBuf,
}

/// What later steps need from the published log.
struct Logged {
    web1_root: String,
    /// `D2`, in a file.
    doc2: PathBuf,
    /// The index of the anonymous opt-out of `D2`.
    optout_d2: u64,
}

/// The two compliance bundles: `c1` (compliant) and `c2` (trained on `alice/web@v1`, which
/// holds `D2`).
struct Bundles {
    good: PathBuf,
    bad: PathBuf,
}

impl World {
    fn start() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let server = Server::start(&t.join("ledger"), false);
        let vkey_file = t.join("vkey");
        std::fs::write(&vkey_file, format!("{}\n", server.vkey)).unwrap();
        let (alice, bob) = (t.join("alice.key"), t.join("bob.key"));
        World {
            server,
            vkey_file,
            alice,
            bob,
            tmp,
        }
    }

    fn t(&self) -> &Path {
        self.tmp.path()
    }

    /// The server's URL.
    fn s(&self) -> &str {
        self.server.url.as_str()
    }

    /// The verifier key file.
    fn vk(&self) -> &str {
        p(&self.vkey_file)
    }

    fn publish(
        &self,
        key: &Path,
        dataset: &str,
        version: &str,
        dir: &Path,
        extra: &[&str],
    ) -> common::Run {
        let mut args = vec![
            "publish",
            "--key",
            p(key),
            "--dataset",
            dataset,
            "--version",
            version,
            "--mode",
            "file",
            "--backend",
            "cpu",
            "--json",
            "--server",
            self.s(),
        ];
        args.extend_from_slice(extra);
        args.push(p(dir));
        prov(&args)
    }

    /// Alice attests a checkpoint of `lm` trained on `datasets`; its entry's index.
    fn attest(&self, checkpoint: &str, datasets: &[&str]) -> u64 {
        let weights = self.t().join("weights");
        let mut args = vec![
            "attest",
            "--key",
            p(&self.alice),
            "--model",
            "lm",
            "--checkpoint",
            checkpoint,
            "--weights",
            p(&weights),
            "--backend",
            "cpu",
            "--json",
            "--server",
            self.s(),
        ];
        for d in datasets {
            args.extend_from_slice(&["--dataset", d]);
        }
        let out = ok(&args, 0);
        json(&out)["index"].as_u64().unwrap()
    }
}

/// Two publishers; first come, first served: bob cannot take alice's name.
fn register_two_publishers(w: &World) {
    let s = w.s();
    let (alice, bob) = (&w.alice, &w.bob);
    let out = ok(
        &["keygen", "--out", p(alice), "--name", "alice", "--json"],
        0,
    );
    assert!(json(&out)["public_key"].as_str().is_some());
    ok(&["keygen", "--out", p(bob), "--name", "bob"], 0);
    ok(
        &[
            "publisher",
            "register",
            "--key",
            p(alice),
            "--name",
            "alice",
            "--server",
            s,
        ],
        0,
    );
    ok(
        &["publisher", "register", "--key", p(bob), "--server", s],
        0,
    );
    let r = prov(&[
        "publisher",
        "register",
        "--key",
        p(bob),
        "--name",
        "alice",
        "--server",
        s,
    ]);
    assert_eq!(r.code, 4, "{}", r.stderr);
}

/// Three dataset versions; web@v2 is web@v1 without the document opted out (anonymously)
/// before any checkpoint; and an opt-out of ids in no dataset.
fn publish_datasets_and_optouts(w: &World) -> Logged {
    let (t, s) = (w.t(), w.s());
    let web1 = write_docs(
        &t.join("web1"),
        &[("1", D1), ("2", D2), ("3", D3), ("4", D4)],
    );
    let web2 = write_docs(&t.join("web2"), &[("1", D1), ("3", D3), ("4", D4)]);
    let books = write_docs(&t.join("books"), &[("5", D5), ("6", D6)]);
    let r = w.publish(&w.alice, "web", "v1", &web1, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let web1_root = json(&r.stdout)["manifest_root"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(json(&r.stdout)["item_count"], 4);

    let doc2 = t.join("doc2.txt");
    std::fs::write(&doc2, D2).unwrap();
    let out = ok(
        &[
            "optout",
            p(&doc2),
            "--scope",
            "train-ai",
            "--json",
            "--server",
            s,
        ],
        0,
    );
    let optout_d2 = json(&out)["index"].as_u64().unwrap();
    let other = cid_of("never published anywhere");
    ok(
        &[
            "optout",
            "--id",
            &other,
            "--id",
            &cid_of("nor this"),
            "--key",
            p(&w.bob),
            "--server",
            s,
        ],
        0,
    );

    let r = w.publish(&w.alice, "alice/web", "v2", &web2, &["--previous", "v1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout)["item_count"], 3);
    let r = w.publish(&w.bob, "books", "v1", &books, &["--licence", "CC-BY-4.0"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    Logged {
        web1_root,
        doc2,
        optout_d2,
    }
}

/// A publisher cannot publish under another's name; a version cannot be published twice.
fn refuse_foreign_names_and_republication(w: &World) {
    let t = w.t();
    let r = w.publish(&w.bob, "alice/evil", "v1", &t.join("books"), &[]);
    assert_eq!(r.code, 4, "bob published as alice: {}", r.stderr);
    assert!(r.stderr.contains("403"), "{}", r.stderr);
    let r = w.publish(&w.alice, "web", "v1", &t.join("web1"), &[]);
    assert_eq!(r.code, 4, "web@v1 published twice: {}", r.stderr);
}

/// Two checkpoints with every opt-out so far below their horizon: `c1` on web@v2 (compliant),
/// `c2` on web@v1 (holds `D2`). Their entries' indexes.
fn attest_two_checkpoints(w: &World) -> (u64, u64) {
    write_docs(&w.t().join("weights"), &[("model.bin", "weights")]);
    let good = w.attest("c1", &["web@v2", "bob/books@v1"]);
    let bad = w.attest("c2", &["alice/web@v1", "bob/books@v1"]);
    (good, bad)
}

/// An opt-out after both checkpoints: outside their claims, though books@v1 holds `D5`.
fn optout_after_the_checkpoints(w: &World) {
    let doc5 = w.t().join("doc5.txt");
    std::fs::write(&doc5, D5).unwrap();
    ok(
        &["optout", p(&doc5), "--key", p(&w.bob), "--server", w.s()],
        0,
    );
}

/// The bundles, one by index and one by model and checkpoint name.
fn fetch_bundles(w: &World, good: u64) -> Bundles {
    let (t, s) = (w.t(), w.s());
    let (good_b, bad_b) = (t.join("good.json"), t.join("bad.json"));
    ok(
        &[
            "proof",
            "compliance",
            &good.to_string(),
            "--out",
            p(&good_b),
            "--server",
            s,
        ],
        0,
    );
    ok(
        &[
            "proof",
            "compliance",
            "--model",
            "alice/lm",
            "--checkpoint",
            "c2",
            "--out",
            p(&bad_b),
            "--server",
            s,
        ],
        0,
    );
    Bundles {
        good: good_b,
        bad: bad_b,
    }
}

/// The compliant bundle verifies (completeness checked against the server), states its
/// horizon lag, and offline says what it did not check (exit 6).
fn compliant_bundle_verifies(w: &World, b: &Bundles) {
    let (s, vk, good_b) = (w.s(), w.vk(), &b.good);
    let out = ok(
        &[
            "verify",
            "compliance",
            "--vkey",
            vk,
            "--server",
            s,
            p(good_b),
        ],
        0,
    );
    assert!(out.contains("verified: compliant"), "{out}");
    assert!(out.contains("horizon lag:"), "{out}");
    // The service builds one multi-proof per dataset version, and carries the horizon entry.
    let gb = json(&std::fs::read_to_string(good_b).unwrap());
    assert_eq!(gb["set_proofs"].as_array().unwrap().len(), 0);
    assert_eq!(gb["multi_proofs"].as_array().unwrap().len(), 2);
    assert!(gb["horizon_entry"]["proof"].is_string());
    // Offline, the same bundle says what it did not check.
    let out = ok(
        &["verify", "compliance", "--vkey", vk, "--offline", p(good_b)],
        6,
    );
    assert!(
        out.contains("verified: compliant (not checked for completeness)"),
        "{out}"
    );
    ok(
        &[
            "verify",
            "compliance",
            "--vkey",
            &w.server.vkey,
            "--complete",
            "--server",
            s,
            p(good_b),
        ],
        0,
    );
}

/// The violation: exit 1, naming the opt-out, the id and the dataset version.
fn violating_bundle_names_the_optout(w: &World, b: &Bundles, optout_d2: u64, bad: u64) {
    let (s, vk, bad_b) = (w.s(), w.vk(), &b.bad);
    let out = ok(
        &[
            "verify",
            "compliance",
            "--vkey",
            vk,
            "--server",
            s,
            p(bad_b),
        ],
        1,
    );
    assert!(out.contains(&format!("index {optout_d2}")), "{out}");
    assert!(out.contains(&cid_of(D2)), "{out}");
    assert!(out.contains("alice/web@v1"), "{out}");
    let out = ok(
        &[
            "verify",
            "compliance",
            "--vkey",
            vk,
            "--json",
            "--server",
            s,
            p(bad_b),
        ],
        1,
    );
    let v = json(&out);
    assert_eq!(v["verdict"]["verdict"], "violated");
    assert_eq!(v["verdict"]["violations"][0]["optout_index"], optout_d2);
    assert_eq!(v["verdict"]["violations"][0]["dataset"], "alice/web@v1");
    assert_eq!(v["index"], bad);
}

/// One flipped bit anywhere in a bundle: never verified (sampled across the whole file).
fn a_flipped_bit_never_verifies(w: &World, b: &Bundles) {
    let vk = w.vk();
    let bytes = std::fs::read(&b.good).unwrap();
    let flipped = w.t().join("flipped.json");
    let step = (bytes.len() / 40).max(1);
    for (n, at) in (0..bytes.len()).step_by(step).enumerate() {
        let mut b = bytes.clone();
        b[at] ^= 1 << (n % 7);
        std::fs::write(&flipped, &b).unwrap();
        let r = prov(&[
            "verify",
            "compliance",
            "--vkey",
            vk,
            "--offline",
            p(&flipped),
        ]);
        assert_eq!(
            r.code,
            2,
            "bit {} of byte {at} flipped: {}{}",
            n % 7,
            r.stdout,
            r.stderr
        );
    }
}

/// An opt-out removed from the violating bundle hides the violation from an offline check,
/// which says so (exit 6, never 0), not from the default check, which reads every entry
/// below the horizon from the tiles.
fn a_removed_optout_is_caught_by_the_completeness_check(w: &World, b: &Bundles, optout_d2: u64) {
    let (s, vk) = (w.s(), w.vk());
    let mut b = json(&std::fs::read_to_string(&b.bad).unwrap());
    let optouts = b["optouts"].as_array_mut().unwrap();
    let before = optouts.len();
    optouts.retain(|o| {
        !o["proof"]
            .as_str()
            .unwrap()
            .contains(&format!("\nindex {optout_d2}\n"))
    });
    assert_eq!(optouts.len(), before - 1);
    let trimmed = w.t().join("trimmed.json");
    std::fs::write(&trimmed, serde_json::to_vec(&b).unwrap()).unwrap();
    let out = ok(
        &[
            "verify",
            "compliance",
            "--vkey",
            vk,
            "--offline",
            p(&trimmed),
        ],
        6,
    );
    assert!(out.contains("not checked for completeness"), "{out}");
    let r = prov(&[
        "verify",
        "compliance",
        "--vkey",
        vk,
        "--server",
        s,
        p(&trimmed),
    ]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let r = prov(&[
        "verify",
        "compliance",
        "--vkey",
        vk,
        "--complete",
        "--server",
        s,
        p(&trimmed),
    ]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains(&format!("[{optout_d2}]")), "{}", r.stderr);
}

/// Replays: the exact bytes of a logged entry are refused (409), so exit 4 via the CLI's
/// client and 409 over plain HTTP.
fn replays_are_refused(w: &World, optout_d2: u64) {
    let s = w.s();
    let entry = ureq::get(&format!("{s}/v1/entries/{optout_d2}"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let entry = json(&entry);
    let canonical = entry["canonical"].as_str().unwrap();
    match ureq::post(&format!("{s}/v1/entries"))
        .set("Content-Type", "application/json")
        .send_string(canonical)
    {
        Err(ureq::Error::Status(code, _)) => assert_eq!(code, 409),
        other => panic!("a replay was not refused: {other:?}"),
    }
}

/// `prov check`: `D2` is in c2's training data (yes, exit 0), not in c1's (no, exit 1).
fn check_answers_per_model(w: &World, doc2: &Path) {
    let (s, vk) = (w.s(), w.vk());
    let out = ok(
        &[
            "check",
            p(doc2),
            "--model",
            "alice/lm@c2",
            "--vkey",
            vk,
            "--server",
            s,
        ],
        0,
    );
    assert!(out.starts_with("yes"), "{out}");
    let evidence = w.t().join("evidence.json");
    let out = ok(
        &[
            "check",
            "--id",
            &cid_of(D2),
            "--model",
            "alice/lm@c1",
            "--vkey",
            vk,
            "--json",
            "--save",
            p(&evidence),
            "--server",
            s,
        ],
        1,
    );
    assert_eq!(json(&out)["included"], false);
    assert_eq!(json(&out)["datasets"].as_array().unwrap().len(), 2);
    assert!(evidence.exists());
}

/// A set proof fetched and checked offline: inclusion holds, exclusion does not.
fn set_proof_verifies_offline(w: &World, logged: &Logged) {
    let (s, vk) = (w.s(), w.vk());
    let set_proof = w.t().join("set.json");
    ok(
        &[
            "proof",
            "set",
            "--dataset",
            "alice/web@v1",
            p(&logged.doc2),
            "--out",
            p(&set_proof),
            "--vkey",
            vk,
            "--server",
            s,
        ],
        0,
    );
    let id2 = cid_of(D2);
    let set_args = [
        "--set-root",
        logged.web1_root.as_str(),
        "--set-size",
        "4",
        "--id",
        id2.as_str(),
    ];
    let mut args = vec!["verify", "set-inclusion"];
    args.extend_from_slice(&set_args);
    args.push(p(&set_proof));
    ok(&args, 0);
    args[1] = "set-exclusion";
    ok(&args, 2);
}

/// An entry's tlog-proof and bytes fetched by `prov proof`, checked by `prov verify`; other
/// bytes do not verify against it.
fn entry_tlog_proof_verifies(w: &World, bad: u64, doc2: &Path) {
    let (t, s, vk) = (w.t(), w.s(), w.vk());
    let (tp, te) = (t.join("bad.tlog-proof"), t.join("bad.entry"));
    let idx = bad.to_string();
    ok(
        &[
            "proof",
            "inclusion",
            &idx,
            "--out",
            p(&tp),
            "--entry-out",
            p(&te),
            "--vkey",
            vk,
            "--server",
            s,
        ],
        0,
    );
    ok(
        &[
            "verify",
            "inclusion",
            "--vkey",
            vk,
            "--entry",
            p(&te),
            p(&tp),
        ],
        0,
    );
    ok(
        &[
            "verify",
            "inclusion",
            "--vkey",
            vk,
            "--entry",
            p(doc2),
            p(&tp),
        ],
        2,
    );
}

/// Without --model: where the document appears, each appearance verified.
fn check_without_a_model_lists_each_appearance(w: &World, doc2: &Path) {
    let (s, vk) = (w.s(), w.vk());
    let out = ok(&["check", p(doc2), "--vkey", vk, "--server", s], 0);
    assert!(
        out.contains("alice/web@v1") && !out.contains("alice/web@v2"),
        "{out}"
    );
    assert!(
        out.contains("alice/lm@c2") && !out.contains("alice/lm@c1"),
        "{out}"
    );
    let nowhere = w.t().join("nowhere.txt");
    std::fs::write(&nowhere, "in no dataset").unwrap();
    ok(&["check", p(&nowhere), "--vkey", vk, "--server", s], 1);
}

/// Consistency between an old and the latest checkpoint verifies; swapped, it does not.
fn consistency_between_checkpoints_verifies(w: &World) {
    let (t, s, vk) = (w.t(), w.s(), w.vk());
    let (old_cp, new_cp, cons) = (t.join("old.cp"), t.join("new.cp"), t.join("cons.proof"));
    ok(
        &[
            "proof",
            "consistency",
            "--old",
            "3",
            "--out",
            p(&cons),
            "--old-checkpoint",
            p(&old_cp),
            "--new-checkpoint",
            p(&new_cp),
            "--vkey",
            vk,
            "--server",
            s,
        ],
        0,
    );
    ok(
        &[
            "verify",
            "consistency",
            "--vkey",
            vk,
            p(&old_cp),
            p(&new_cp),
            p(&cons),
        ],
        0,
    );
    ok(
        &[
            "verify",
            "consistency",
            "--vkey",
            vk,
            p(&new_cp),
            p(&old_cp),
            p(&cons),
        ],
        2,
    );
}

/// An independent check of the JSON API: a tlog-proof fetched with a plain HTTP client (not
/// `prov proof`) verifies with `prov verify inclusion`, and the wrong entry does not.
#[test]
fn tlog_proof_from_the_json_api_verifies_with_prov_verify_inclusion() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let server = Server::start(&t.join("ledger"), true);
    let s = server.url.as_str();
    for i in 0..5 {
        ok(
            &[
                "optout",
                "--id",
                &cid_of(&format!("doc {i}")),
                "--server",
                s,
            ],
            0,
        );
    }
    for index in [0u64, 3, 4] {
        let view = ureq::get(&format!("{s}/v1/entries/{index}"))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        let view = json(&view);
        let proof = ureq::get(&format!("{s}/v1/entries/{index}/inclusion"))
            .set("Accept", "text/plain")
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        let (entry_f, proof_f) = (t.join("entry"), t.join("proof"));
        std::fs::write(&entry_f, view["canonical"].as_str().unwrap()).unwrap();
        std::fs::write(&proof_f, &proof).unwrap();
        let args = [
            "verify",
            "inclusion",
            "--vkey",
            server.vkey.as_str(),
            "--entry",
            p(&entry_f),
            p(&proof_f),
        ];
        let out = ok(&args, 0);
        assert!(out.contains(&format!("index {index}")), "{out}");
        std::fs::write(
            &entry_f,
            format!("{} ", view["canonical"].as_str().unwrap()),
        )
        .unwrap();
        ok(&args, 2);
    }
}

/// `prov serve` never turns a directory that is not a ledger into one.
#[test]
fn serve_refuses_a_directory_that_is_not_a_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    let r = prov(&["serve", "--listen", "127.0.0.1:0", "--data", p(tmp.path())]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(!r.stderr.is_empty());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

/// More than 64 ids travel as a signed opt-out set: uploaded, named by its root in the entry,
/// carried whole in the bundle, and still found by the compliance check.
#[test]
fn an_optout_set_of_many_ids_is_honoured_through_the_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let server = Server::start(&t.join("ledger"), false);
    let s = server.url.as_str();
    let key = t.join("carol.key");
    ok(&["keygen", "--out", p(&key), "--name", "carol"], 0);
    ok(
        &["publisher", "register", "--key", p(&key), "--server", s],
        0,
    );
    let corpus = write_docs(
        &t.join("c"),
        &[("a", "alpha"), ("b", "beta"), ("g", "gamma")],
    );
    let out = ok(
        &[
            "publish",
            "--key",
            p(&key),
            "--dataset",
            "greek",
            "--version",
            "v1",
            "--mode",
            "file",
            "--backend",
            "cpu",
            "--server",
            s,
            p(&corpus),
        ],
        0,
    );
    assert!(out.contains("carol/greek@v1"), "{out}");
    let mut ids: Vec<String> = (0..70).map(|i| cid_of(&format!("unrelated {i}"))).collect();
    ids.push(cid_of("beta"));
    let mut args = vec!["optout", "--json", "--server", s];
    for id in &ids {
        args.extend_from_slice(&["--id", id.as_str()]);
    }
    // Anonymous opt-outs carry inline ids only: a set must be signed.
    let r = prov(&args);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--key"), "{}", r.stderr);
    let requester = t.join("dave.key");
    ok(&["keygen", "--out", p(&requester), "--name", "dave"], 0);
    args.extend_from_slice(&["--key", p(&requester)]);
    let v = json(&ok(&args, 0));
    assert!(v["set_root"].as_str().is_some(), "{v}");
    let optout = v["index"].as_u64().unwrap();

    let weights = write_docs(&t.join("w"), &[("w.bin", "w")]);
    ok(
        &[
            "attest",
            "--key",
            p(&key),
            "--model",
            "carol/lm",
            "--checkpoint",
            "c1",
            "--weights",
            p(&weights),
            "--dataset",
            "greek@v1",
            "--backend",
            "cpu",
            "--server",
            s,
        ],
        0,
    );
    let bundle = t.join("b.json");
    ok(
        &[
            "proof",
            "compliance",
            "--model",
            "carol/lm",
            "--out",
            p(&bundle),
            "--server",
            s,
        ],
        0,
    );
    let b = json(&std::fs::read_to_string(&bundle).unwrap());
    assert_eq!(b["optout_sets"][0]["leaves"].as_array().unwrap().len(), 71);
    let out = ok(
        &[
            "verify",
            "compliance",
            "--vkey",
            &server.vkey,
            "--complete",
            "--server",
            s,
            p(&bundle),
        ],
        1,
    );
    assert!(out.contains(&format!("index {optout}")), "{out}");
    assert!(out.contains(&cid_of("beta")), "{out}");
    assert!(out.contains("carol/greek@v1"), "{out}");
}

/// Every subcommand parses its own definition (clap's debug assertions run on use).
#[test]
fn every_subcommand_has_help() {
    for c in [
        &["keygen"][..],
        &["publisher", "register"],
        &["publish"],
        &["optout"],
        &["attest"],
        &["check"],
        &["proof", "inclusion"],
        &["proof", "consistency"],
        &["proof", "set"],
        &["proof", "compliance"],
        &["verify", "inclusion"],
        &["verify", "consistency"],
        &["verify", "set-inclusion"],
        &["verify", "set-exclusion"],
        &["verify", "compliance"],
        &["serve"],
    ] {
        let mut args = c.to_vec();
        args.push("--help");
        let out = ok(&args, 0);
        assert!(out.contains("--json"), "prov {c:?} has no --json: {out}");
    }
}
