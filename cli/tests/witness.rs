//! `prov witness serve` (C2SP tlog-witness v1) against real `prov serve` logs, over loopback:
//! the test plays the log's submitter (the ledger does not submit by itself yet), reading the
//! log's `/checkpoint` and `/v1/proofs/consistency` and posting `add-checkpoint` requests; the
//! cosigned checkpoints are then checked by `prov verify checkpoint --witness --min-witnesses`.
//!
//! Needs the `server` feature (the default), which both commands live behind.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(all(feature = "server", unix))]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use common::witness::{witness_key, Witness};
use common::{json, ok, p, prov, Server};

/// Anonymous opt-outs are rate-limited per client IP, and every client here is 127.0.0.1.
fn config(dir: &Path) -> PathBuf {
    let c = dir.join("prov.toml");
    std::fs::write(
        &c,
        "[limits]\nanonymous_optouts_per_minute = 100000\nanonymous_optout_burst = 10000\n",
    )
    .unwrap();
    c
}

/// Grows the log by `n` anonymous opt-outs (`tag` makes their ids distinct).
fn grow(url: &str, tag: &str, n: usize) {
    for i in 0..n {
        let id = format!(
            "blake3:{}",
            blake3::hash(format!("{tag} {i}").as_bytes()).to_hex()
        );
        ok(&["optout", "--id", &id, "--server", url], 0);
    }
}

fn log_checkpoint(url: &str) -> String {
    ureq::get(&format!("{url}/checkpoint"))
        .call()
        .unwrap()
        .into_string()
        .unwrap()
}

fn size_of(note: &str) -> u64 {
    note.lines().nth(1).unwrap().parse().unwrap()
}

/// The consistency proof from `old` to `new`, as add-checkpoint's base64 lines.
fn proof_lines(url: &str, old: u64, new: u64) -> String {
    let v = json(
        &ureq::get(&format!("{url}/v1/proofs/consistency?old={old}&new={new}"))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    );
    v["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let raw = hex::decode(h.as_str().unwrap()).unwrap();
            format!(
                "{}\n",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        })
        .collect()
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

fn add_checkpoint(witness: &str, old: u64, proof: &str, note: &str) -> Answer {
    let body = format!("old {old}\n{proof}\n{note}");
    let r = match ureq::post(&format!("{witness}/add-checkpoint")).send_string(&body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("add-checkpoint: {e}"),
    };
    Answer {
        status: r.status(),
        content_type: r.content_type().to_string(),
        body: r.into_string().unwrap(),
    }
}

fn verify_checkpoint(dir: &Path, log_vkey: &str, note: &str, extra: &[&str]) -> common::Run {
    let f = dir.join("cosigned.checkpoint");
    std::fs::write(&f, note).unwrap();
    let mut args = vec!["verify", "checkpoint", "--vkey", log_vkey, p(&f)];
    args.extend_from_slice(extra);
    prov(&args)
}

#[test]
fn witness_cosigns_then_cosigns_the_grown_log_answers_409_and_keeps_its_state_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let log = Server::start_with(&tmp.path().join("ledger"), false, &["--config", p(&cfg)]);
    grow(&log.url, "first", 3);
    let (key, wvkey) = witness_key(tmp.path(), "witness.example/w1");
    let (_, other_wvkey) = witness_key(tmp.path(), "witness.example/w2");
    let state = tmp.path().join("witness-state");
    let mut w = Witness::start(&key, &[&log.vkey], &state);
    assert_eq!(w.vkey, wvkey);

    // A fresh checkpoint: old 0, no proof.
    let note = log_checkpoint(&log.url);
    let n1 = size_of(&note);
    assert!(n1 >= 3);
    let a = add_checkpoint(&w.url, 0, "", &note);
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.starts_with("— witness.example/w1 "), "{}", a.body);
    let cosigned = format!("{note}{}", a.body);

    // --min-witnesses 1 accepts it with the witness's key, refuses it with another witness's,
    // and without the cosignature.
    let r = verify_checkpoint(
        tmp.path(),
        &log.vkey,
        &cosigned,
        &["--witness", &wvkey, "--min-witnesses", "1", "--json"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        json(&r.stdout)["cosignatures"][0]["witness"],
        "witness.example/w1"
    );
    let r = verify_checkpoint(
        tmp.path(),
        &log.vkey,
        &cosigned,
        &["--witness", &other_wvkey, "--min-witnesses", "1"],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let r = verify_checkpoint(
        tmp.path(),
        &log.vkey,
        &note,
        &["--witness", &wvkey, "--min-witnesses", "1"],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    // The default (0) is today's behaviour: the log's signature only.
    assert_eq!(verify_checkpoint(tmp.path(), &log.vkey, &note, &[]).code, 0);

    // The log grows: a wrong old size gets 409 with the witness's size; the right one and a
    // consistency proof get a cosignature.
    grow(&log.url, "second", 2);
    let note2 = log_checkpoint(&log.url);
    let n2 = size_of(&note2);
    assert!(n2 > n1);
    let a = add_checkpoint(&w.url, 0, "", &note2);
    assert_eq!(a.status, 409, "{}", a.body);
    assert_eq!(a.content_type, "text/x.tlog.size");
    assert_eq!(a.body, format!("{n1}\n"));
    let a = add_checkpoint(&w.url, n1, &proof_lines(&log.url, n1, n2), &note2);
    assert_eq!(a.status, 200, "{}", a.body);
    let r = verify_checkpoint(
        tmp.path(),
        &log.vkey,
        &format!("{note2}{}", a.body),
        &["--witness", &wvkey, "--min-witnesses", "1"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // An inclusion proof at the cosigned size: its checkpoint carries the cosignature once the
    // witness's line is appended (the tlog-proof ends with the checkpoint note).
    let proof_file = tmp.path().join("e0.tlog-proof");
    let entry_file = tmp.path().join("e0.entry");
    ok(
        &[
            "proof",
            "inclusion",
            "0",
            "--out",
            p(&proof_file),
            "--entry-out",
            p(&entry_file),
            "--tree-size",
            &n2.to_string(),
            "--vkey",
            &log.vkey,
            "--server",
            &log.url,
        ],
        0,
    );
    let inclusion = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "inclusion",
            "--vkey",
            &log.vkey,
            "--entry",
            p(&entry_file),
            p(&proof_file),
        ];
        args.extend_from_slice(extra);
        prov(&args)
    };
    let r = inclusion(&["--witness", &wvkey, "--min-witnesses", "1"]);
    assert_eq!(r.code, 2, "not cosigned yet: {}{}", r.stdout, r.stderr);
    let mut text = std::fs::read_to_string(&proof_file).unwrap();
    text.push_str(&a.body);
    std::fs::write(&proof_file, text).unwrap();
    let r = inclusion(&["--witness", &wvkey, "--min-witnesses", "1"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = inclusion(&["--witness", &other_wvkey, "--min-witnesses", "1"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    // Asking for more witnesses than were listed is refused, not silently lowered.
    let r = inclusion(&["--witness", &wvkey, "--min-witnesses", "2"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--min-witnesses 2"), "{}", r.stderr);

    // Never back: the old checkpoint again, from the new size, is refused.
    let a = add_checkpoint(&w.url, n2, "", &note);
    assert_eq!(a.status, 400, "{}", a.body);

    // A restarted witness keeps its state: it still answers with size n2.
    drop(w);
    w = Witness::start(&key, &[&log.vkey], &state);
    let a = add_checkpoint(&w.url, 0, "", &note2);
    assert_eq!(a.status, 409, "{}", a.body);
    assert_eq!(a.body, format!("{n2}\n"));

    // A log it is not configured for: 404. One with the same origin but another key: 403.
    let other = Server::start_with(
        &tmp.path().join("other-ledger"),
        false,
        &["--origin", "example.org/other-log"],
    );
    let a = add_checkpoint(&w.url, 0, "", &log_checkpoint(&other.url));
    assert_eq!(a.status, 404, "{}", a.body);
    let impostor = Server::start(&tmp.path().join("impostor-ledger"), false);
    let a = add_checkpoint(&w.url, n2, "", &log_checkpoint(&impostor.url));
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(!a.body.contains('—'), "{}", a.body);
}

/// Two ledgers with the same key and the same first entries, then different ones: a split view.
/// The witness cosigns one of them and refuses the other, whatever proof comes with it.
#[test]
fn witness_refuses_to_cosign_a_fork() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let a_dir = tmp.path().join("ledger-a");
    let b_dir = tmp.path().join("ledger-b");
    let log_a = Server::start_with(&a_dir, false, &["--config", p(&cfg)]);
    grow(&log_a.url, "shared", 2);
    let vkey = log_a.vkey.clone();
    drop(log_a);
    let cp = Command::new("cp")
        .arg("-a")
        .arg(&a_dir)
        .arg(&b_dir)
        .status()
        .unwrap();
    assert!(cp.success());
    let log_a = Server::start_with(&a_dir, false, &["--config", p(&cfg)]);
    let log_b = Server::start_with(&b_dir, false, &["--config", p(&cfg)]);
    assert_eq!(log_b.vkey, vkey, "the copy must sign with the same key");

    let (key, _) = witness_key(tmp.path(), "witness.example/w1");
    let w = Witness::start(&key, &[&vkey], &tmp.path().join("state"));
    let shared = log_checkpoint(&log_a.url);
    let n0 = size_of(&shared);
    assert_eq!(add_checkpoint(&w.url, 0, "", &shared).status, 200);

    grow(&log_a.url, "history a", 1);
    grow(&log_b.url, "history b", 2);
    let note_a = log_checkpoint(&log_a.url);
    let note_b = log_checkpoint(&log_b.url);
    let (na, nb) = (size_of(&note_a), size_of(&note_b));
    assert!(nb > na);
    let a = add_checkpoint(&w.url, n0, &proof_lines(&log_a.url, n0, na), &note_a);
    assert_eq!(a.status, 200, "{}", a.body);

    // B's checkpoint, with B's own (valid for B) proof from the witness's size: a fork.
    let b = add_checkpoint(&w.url, na, &proof_lines(&log_b.url, na, nb), &note_b);
    assert_eq!(b.status, 422, "{}", b.body);
    assert!(
        !b.body.contains('—'),
        "no cosignature in a refusal: {}",
        b.body
    );
    // Nor with any other proof (here A's, from the shared size).
    let b2 = add_checkpoint(&w.url, na, &proof_lines(&log_a.url, n0, na), &note_b);
    assert_eq!(b2.status, 422, "{}", b2.body);
    // The witness's state is still A's.
    let still = add_checkpoint(&w.url, 0, "", &note_a);
    assert_eq!(still.status, 409);
    assert_eq!(still.body, format!("{na}\n"));
}
