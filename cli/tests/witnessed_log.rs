//! The log side of witnessing, end to end over loopback: a `prov serve` whose configuration
//! lists `prov witness serve` witnesses (`[[witness]]`) submits its checkpoints to them by
//! itself, and serves the latest checkpoint k of them cosigned at `/checkpoint.cosigned`, which
//! `prov verify checkpoint --witness --min-witnesses` then checks.
//!
//! A witness needs the log's key and the log needs the witnesses' URLs: each test starts the log
//! once to create it (and learn its key), starts the witnesses, then restarts the log with them.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(all(feature = "server", unix))]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::witness::{witness_key, Witness};
use common::{json, ok, p, prov, Server};

/// A config listing `witnesses` (url, vkey) with policy `k` (anonymous opt-outs unthrottled:
/// every client here is 127.0.0.1).
fn config(dir: &Path, witnesses: &[(&str, &str)], k: Option<usize>) -> PathBuf {
    let mut s = String::new();
    if let Some(k) = k {
        s.push_str(&format!("witness_policy_min = {k}\n"));
    }
    s.push_str("witness_timeout_secs = 2\n");
    s.push_str("[limits]\nanonymous_optouts_per_minute = 100000\nanonymous_optout_burst = 10000\n");
    for (url, vkey) in witnesses {
        s.push_str(&format!(
            "[[witness]]\nurl = \"{url}\"\nvkey = \"{vkey}\"\n"
        ));
    }
    let c = dir.join("prov.toml");
    std::fs::write(&c, s).unwrap();
    c
}

/// Creates the ledger in `data` and returns the log's vkey.
fn create_log(data: &Path) -> String {
    let log = Server::start(data, false);
    log.vkey.clone()
}

fn grow(url: &str, tag: &str, n: usize) {
    for i in 0..n {
        let id = format!(
            "blake3:{}",
            blake3::hash(format!("{tag} {i}").as_bytes()).to_hex()
        );
        ok(&["optout", "--id", &id, "--server", url], 0);
    }
}

fn get(url: &str) -> (u16, String) {
    match ureq::get(url).call() {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap()),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

fn size_of(note: &str) -> u64 {
    note.lines().nth(1).unwrap().parse().unwrap()
}

/// Waits (up to 30 s) until `/checkpoint.cosigned` is of the log's current size.
fn cosigned_at_log_size(url: &str) -> String {
    let (_, log_note) = get(&format!("{url}/checkpoint"));
    let want = size_of(&log_note);
    let start = Instant::now();
    loop {
        let (status, body) = get(&format!("{url}/checkpoint.cosigned"));
        if status == 200 && size_of(&body) == want {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no cosigned checkpoint of size {want}: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn verify(dir: &Path, log_vkey: &str, note: &str, extra: &[&str]) -> common::Run {
    let f = dir.join("cosigned.checkpoint");
    std::fs::write(&f, note).unwrap();
    let mut args = vec!["verify", "checkpoint", "--vkey", log_vkey, p(&f)];
    args.extend_from_slice(extra);
    prov(&args)
}

#[test]
fn log_gets_its_checkpoints_cosigned_by_two_witnesses_and_a_wrong_witness_key_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    let log_vkey = create_log(&data);
    let (k1, _) = witness_key(tmp.path(), "witness.example/w1");
    let (k2, _) = witness_key(tmp.path(), "witness.example/w2");
    let (_, wrong) = witness_key(tmp.path(), "witness.example/w3");
    let w1 = Witness::start(&k1, &[&log_vkey], &tmp.path().join("s1"));
    let w2 = Witness::start(&k2, &[&log_vkey], &tmp.path().join("s2"));
    let cfg = config(
        tmp.path(),
        &[(&w1.url, &w1.vkey), (&w2.url, &w2.vkey)],
        None,
    );
    let log = Server::start_with(&data, false, &["--config", p(&cfg)]);
    grow(&log.url, "a", 3);
    let cosigned = cosigned_at_log_size(&log.url);
    assert!(size_of(&cosigned) >= 3);
    assert!(cosigned.contains("\n— witness.example/w1 "), "{cosigned}");
    assert!(cosigned.contains("\n— witness.example/w2 "), "{cosigned}");

    // /checkpoint is the log-signed checkpoint as before: one signature line, the log's.
    let (_, plain) = get(&format!("{}/checkpoint", log.url));
    assert_eq!(plain.matches("\n— ").count(), 1, "{plain}");

    let both = [
        "--witness",
        &w1.vkey,
        "--witness",
        &w2.vkey,
        "--min-witnesses",
        "2",
    ];
    let r = verify(tmp.path(), &log_vkey, &cosigned, &both);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let with_wrong = [
        "--witness",
        &w1.vkey,
        "--witness",
        &wrong,
        "--min-witnesses",
        "2",
    ];
    let r = verify(tmp.path(), &log_vkey, &cosigned, &with_wrong);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    // The log-signed checkpoint alone does not meet the policy.
    let r = verify(tmp.path(), &log_vkey, &plain, &both);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);

    // `prov proof inclusion --min-witnesses 2` proves an entry against the cosigned checkpoint
    // and embeds it in the tlog-proof, which then verifies offline with the same policy; with a
    // wrong witness key it fetches nothing.
    let (proof, entry) = (tmp.path().join("e.tlog-proof"), tmp.path().join("e.entry"));
    let fetch = |keys: &[&str]| {
        let mut args = vec![
            "proof",
            "inclusion",
            "0",
            "--server",
            &log.url,
            "--vkey",
            &log_vkey,
            "--out",
            p(&proof),
            "--entry-out",
            p(&entry),
            "--min-witnesses",
            "2",
        ];
        for k in keys {
            args.extend(["--witness", k]);
        }
        prov(&args)
    };
    let r = fetch(&[&w1.vkey, &w2.vkey]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let text = std::fs::read_to_string(&proof).unwrap();
    assert!(text.contains("\n— witness.example/w2 "), "{text}");
    let r = prov(&[
        "verify",
        "inclusion",
        "--vkey",
        &log_vkey,
        "--entry",
        p(&entry),
        "--witness",
        &w1.vkey,
        "--witness",
        &w2.vkey,
        "--min-witnesses",
        "2",
        p(&proof),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    std::fs::remove_file(&proof).unwrap();
    let r = fetch(&[&w1.vkey, &wrong]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(!proof.exists());

    // `prov audit` with witness keys audits the cosigned checkpoint and reports who cosigned
    // it; under a policy a wrong key cannot meet, it refuses (exit 2).
    let state = tmp.path().join("audit.json");
    let audit = |keys: &[&str], min: &str| {
        let mut args = vec![
            "audit",
            "--vkey",
            &log_vkey,
            "--server",
            &log.url,
            "--state",
            p(&state),
            "--json",
            "--min-witnesses",
            min,
        ];
        for k in keys {
            args.extend(["--witness", k]);
        }
        prov(&args)
    };
    let r = audit(&[&w1.vkey, &wrong], "2");
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let r = audit(&[&w1.vkey, &w2.vkey], "2");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = json(&r.stdout);
    assert_eq!(v["tree_size"].as_u64(), Some(size_of(&cosigned)));
    let names: Vec<&str> = v["cosignatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["witness"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["witness.example/w1", "witness.example/w2"], "{v}");

    // More entries: the cosigned checkpoint follows, and /metrics says how far each witness is.
    grow(&log.url, "b", 2);
    let later = cosigned_at_log_size(&log.url);
    assert!(size_of(&later) >= size_of(&cosigned) + 2);
    let (_, metrics) = get(&format!("{}/metrics", log.url));
    assert!(
        metrics.contains("prov_witness_cosigned_size{witness=\"witness.example/w1\"}"),
        "{metrics}"
    );
}

#[test]
fn a_witness_that_is_down_blocks_neither_sequencing_nor_the_k_of_1_cosigned_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    let log_vkey = create_log(&data);
    let (k1, _) = witness_key(tmp.path(), "witness.example/up");
    let (k2, _) = witness_key(tmp.path(), "witness.example/down");
    let up = Witness::start(&k1, &[&log_vkey], &tmp.path().join("s1"));
    let down = Witness::start(&k2, &[&log_vkey], &tmp.path().join("s2"));
    let (down_url, down_vkey) = (down.url.clone(), down.vkey.clone());
    drop(down); // killed: its port refuses connections from now on
    let cfg = config(
        tmp.path(),
        &[(&up.url, &up.vkey), (&down_url, &down_vkey)],
        Some(1),
    );
    let log = Server::start_with(&data, false, &["--config", p(&cfg)]);
    grow(&log.url, "a", 2);
    let first = cosigned_at_log_size(&log.url);
    grow(&log.url, "b", 3);
    let later = cosigned_at_log_size(&log.url);
    assert!(size_of(&later) >= size_of(&first) + 3);
    assert!(later.contains("\n— witness.example/up "), "{later}");
    assert!(!later.contains("witness.example/down"), "{later}");
    let r = verify(
        tmp.path(),
        &log_vkey,
        &later,
        &["--witness", &up.vkey, "--min-witnesses", "1"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let (_, metrics) = get(&format!("{}/metrics", log.url));
    assert!(
        metrics.contains("prov_witness_failures_total{witness=\"witness.example/down\"}"),
        "{metrics}"
    );
}

/// After a restart the log believes its witness holds size 0; the witness holds the size it
/// cosigned before and answers 409 with it. The log must retry with a consistency proof from
/// that size, or the witness never cosigns again.
#[test]
fn a_witness_that_answers_409_gets_a_proof_from_its_own_size_on_the_retry() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    let log_vkey = create_log(&data);
    let (k1, _) = witness_key(tmp.path(), "witness.example/w1");
    let w1 = Witness::start(&k1, &[&log_vkey], &tmp.path().join("s1"));
    let cfg = config(tmp.path(), &[(&w1.url, &w1.vkey)], None);
    let log = Server::start_with(&data, false, &["--config", p(&cfg)]);
    grow(&log.url, "a", 3);
    let before = cosigned_at_log_size(&log.url);
    drop(log);

    let log = Server::start_with(&data, false, &["--config", p(&cfg)]);
    grow(&log.url, "b", 5);
    let after = cosigned_at_log_size(&log.url);
    assert!(size_of(&after) >= size_of(&before) + 5);
    let r = verify(
        tmp.path(),
        &log_vkey,
        &after,
        &["--witness", &w1.vkey, "--min-witnesses", "1"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // The witness's own record agrees: it holds the new size.
    let origin_path = api::witness::origin_hash(before.lines().next().unwrap());
    let (status, held) = get(&format!("{}/{origin_path}/checkpoint", w1.url));
    assert_eq!(status, 200, "{held}");
    assert_eq!(size_of(&held), size_of(&after));

    // The other way round: the witness restarts, at the same address, with a fresh state dir
    // after the log has grown. The log believes it holds the last size; it answers 409 with 0,
    // and the retry from 0 (no proof) gets the grown checkpoint cosigned.
    let listen = w1.url.trim_start_matches("http://").to_string();
    drop(w1);
    let w1 = Witness::start_on(&listen, &k1, &[&log_vkey], &tmp.path().join("s1-fresh"));
    grow(&log.url, "c", 2);
    let fresh = cosigned_at_log_size(&log.url);
    assert!(size_of(&fresh) >= size_of(&after) + 2);
    let (status, held) = get(&format!("{}/{origin_path}/checkpoint", w1.url));
    assert_eq!(status, 200, "{held}");
    assert_eq!(size_of(&held), size_of(&fresh));
}

/// A witness that answers with a line its configured key did not make (here: the configured
/// vkey is another witness's) is not counted: with k = 2 nothing is published, and the failure
/// is in /metrics under the configured name.
#[test]
fn a_cosignature_that_does_not_verify_with_the_configured_key_is_not_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    let log_vkey = create_log(&data);
    let (k1, _) = witness_key(tmp.path(), "witness.example/w1");
    let (k2, _) = witness_key(tmp.path(), "witness.example/w2");
    let (_, impostor) = witness_key(tmp.path(), "witness.example/w3");
    let w1 = Witness::start(&k1, &[&log_vkey], &tmp.path().join("s1"));
    let w2 = Witness::start(&k2, &[&log_vkey], &tmp.path().join("s2"));
    let cfg = config(
        tmp.path(),
        &[(&w1.url, &w1.vkey), (&w2.url, &impostor)],
        Some(2),
    );
    let log = Server::start_with(&data, false, &["--config", p(&cfg)]);
    grow(&log.url, "a", 2);
    let start = Instant::now();
    loop {
        let (_, metrics) = get(&format!("{}/metrics", log.url));
        let w1_done = metrics
            .lines()
            .any(|l| l.starts_with("prov_witness_cosigned_size{witness=\"witness.example/w1\"}"));
        if w1_done
            && metrics.contains("prov_witness_failures_total{witness=\"witness.example/w3\"}")
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{metrics}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, body) = get(&format!("{}/checkpoint.cosigned", log.url));
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("witness.example/w2"), "{body}");
}

/// The published cosigned checkpoint is kept in the data directory: after a restart with every
/// witness down, `/checkpoint.cosigned` serves it at once (before: 404 until the witnesses
/// answered again, a step back for any reader); and a restart whose configuration no longer
/// lists a witness serves it without that witness's line.
#[test]
fn the_cosigned_checkpoint_survives_a_restart_with_its_witnesses_down() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    let log_vkey = create_log(&data);
    let (k1, _) = witness_key(tmp.path(), "witness.example/w1");
    let (k2, _) = witness_key(tmp.path(), "witness.example/w2");
    let w1 = Witness::start(&k1, &[&log_vkey], &tmp.path().join("s1"));
    let w2 = Witness::start(&k2, &[&log_vkey], &tmp.path().join("s2"));
    let (w1_url, w1_vkey) = (w1.url.clone(), w1.vkey.clone());
    let (w2_url, w2_vkey) = (w2.url.clone(), w2.vkey.clone());
    let both = config(
        tmp.path(),
        &[(&w1_url, &w1_vkey), (&w2_url, &w2_vkey)],
        None,
    );
    let log = Server::start_with(&data, false, &["--config", p(&both)]);
    grow(&log.url, "a", 3);
    let cosigned = cosigned_at_log_size(&log.url);
    drop(log);
    drop(w1);
    drop(w2);
    assert!(data.join("checkpoint.cosigned").is_file());

    let log = Server::start_with(&data, false, &["--config", p(&both)]);
    let (status, again) = get(&format!("{}/checkpoint.cosigned", log.url));
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, cosigned);
    let r = verify(
        tmp.path(),
        &log_vkey,
        &again,
        &[
            "--witness",
            &w1_vkey,
            "--witness",
            &w2_vkey,
            "--min-witnesses",
            "2",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    drop(log);

    // w2 removed from the configuration (k = 1): its line is dropped at reload.
    let one = config(tmp.path(), &[(&w1_url, &w1_vkey)], Some(1));
    let log = Server::start_with(&data, false, &["--config", p(&one)]);
    let (status, reduced) = get(&format!("{}/checkpoint.cosigned", log.url));
    assert_eq!(status, 200, "{reduced}");
    assert_eq!(size_of(&reduced), size_of(&cosigned));
    assert!(reduced.contains("\n— witness.example/w1 "), "{reduced}");
    assert!(!reduced.contains("witness.example/w2"), "{reduced}");
}

/// A proxy in front of `upstream` that passes every GET through with any `tree_size=` query
/// removed: a service that answers proofs for its latest checkpoint, whatever checkpoint its
/// `/checkpoint.cosigned` names (a split view between what the witnesses saw and what is proven).
fn proofs_for_another_checkpoint(upstream: String) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
            }
            let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
            let path = match path.split_once("?tree_size=") {
                Some((p, _)) => p.to_string(),
                None => path,
            };
            let (code, body) = match ureq::get(&format!("{upstream}{path}")).call() {
                Ok(r) | Err(ureq::Error::Status(_, r)) => {
                    let code = r.status();
                    let mut b = Vec::new();
                    r.into_reader().read_to_end(&mut b).unwrap();
                    (code, b)
                }
                Err(_) => (502, Vec::new()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    base
}

/// `prov check` (file, `--id`, `--site`, `--passages`), `prov report training-summary`, `prov
/// verify training-summary` and `prov verify compliance --server` take `--witness VKEY...
/// --min-witnesses K`: with the log's real witness they answer as without (proving against the
/// cosigned checkpoint); with a wrong witness key they refuse (exit 2). Then the witness stops,
/// the log grows past the cosigned checkpoint, and two split views are refused: a server whose
/// proofs are for its latest checkpoint rather than the cosigned one, and a compliance bundle
/// of a checkpoint no witness has seen.
#[test]
fn readers_prove_against_the_cosigned_checkpoint_and_refuse_a_wrong_witness_key() {
    let common::web::World {
        _tmp,
        dir,
        server,
        bundle,
        alice,
        ..
    } = common::web::world(&[]);
    let log_vkey = server.vkey.clone();
    drop(server);
    let (k1, _) = witness_key(&dir, "witness.example/w1");
    let (_, wrong) = witness_key(&dir, "witness.example/w3");
    let w1 = Witness::start(&k1, &[&log_vkey], &dir.join("s1"));
    let cfg = config(&dir, &[(&w1.url, &w1.vkey)], Some(1));
    let log = Server::start_with(&dir.join("ledger"), false, &["--config", p(&cfg)]);
    let s = log.url.clone();
    // The log grows past the saved bundle's checkpoint: the bundle is linked to the cosigned
    // checkpoint by a consistency proof, not by equality.
    grow(&s, "a", 2);
    let cosigned = cosigned_at_log_size(&s);
    let saved: ledger::compliance::ComplianceBundle =
        serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert!(size_of(&saved.checkpoint) < size_of(&cosigned));
    let keys = common::web::key_server(Vec::new());
    let page = dir.join("page.txt");
    std::fs::write(&page, "page one about cats").unwrap();
    // A work for --passages: long enough to have passages (the version has no passage tree).
    let work = dir.join("work.txt");
    std::fs::write(
        &work,
        "The witnesses of a transparency log each keep the largest checkpoint they have seen \
         and cosign only consistent extensions of it, so that a log cannot show two histories.\n\n\
         A reader who asks for k cosignatures believes a checkpoint only when k of the witnesses \
         it trusts have seen it, and proves every entry against that checkpoint alone.\n",
    )
    .unwrap();
    let summary = dir.join("summary.json");
    let cid = common::web::cid("page one about cats");
    let model = ["--model", "alice/lm@c1"];
    let base = ["--vkey", log_vkey.as_str(), "--server", s.as_str()];
    // (command, the exit code it answers with without witnesses)
    let commands: Vec<(Vec<&str>, i32)> = vec![
        ([&["check", p(&page)][..], &model, &base].concat(), 0),
        ([&["check", "--id", &cid][..], &model, &base].concat(), 0),
        (
            [&["check", "--site", "www.example.com"][..], &model, &base].concat(),
            0,
        ),
        (
            [&["check", p(&work), "--passages"][..], &model, &base].concat(),
            10,
        ),
        (
            [
                &[
                    "report",
                    "training-summary",
                    "--format",
                    "json",
                    "--out",
                    p(&summary),
                ][..],
                &["--site-keys-base", &keys],
                &model,
                &base,
            ]
            .concat(),
            0,
        ),
        (
            [
                &[
                    "verify",
                    "compliance",
                    p(&bundle),
                    "--site-keys-base",
                    &keys,
                ][..],
                &base,
            ]
            .concat(),
            0,
        ),
    ];
    for (cmd, code) in &commands {
        let r = prov(cmd);
        assert_eq!(r.code, *code, "{cmd:?} {}{}", r.stdout, r.stderr);
        let mut with = cmd.clone();
        with.extend(["--witness", &w1.vkey, "--min-witnesses", "1"]);
        let r = prov(&with);
        assert_eq!(r.code, *code, "{with:?} {}{}", r.stdout, r.stderr);
        let mut wrong_key = cmd.clone();
        wrong_key.extend(["--witness", &wrong, "--min-witnesses", "1"]);
        let r = prov(&wrong_key);
        assert_eq!(r.code, 2, "{wrong_key:?} {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("cosignature"),
            "{wrong_key:?} {}",
            r.stderr
        );
    }
    // A static copy of the log (as `--publish` mirrors it): checkpoint, checkpoint.cosigned and
    // the tiles of the cosigned size; `verify compliance --tiles` reads the cosigned checkpoint
    // there. Without checkpoint.cosigned in the copy, a policy cannot be met.
    let mirror = dir.join("mirror");
    let n = size_of(&cosigned);
    for path in [
        "checkpoint".to_string(),
        "checkpoint.cosigned".to_string(),
        format!("tile/0/000.p/{n}"),
        format!("tile/entries/000.p/{n}"),
    ] {
        let bytes = {
            let mut b = Vec::new();
            std::io::Read::read_to_end(
                &mut ureq::get(&format!("{s}/{path}"))
                    .call()
                    .unwrap()
                    .into_reader(),
                &mut b,
            )
            .unwrap();
            b
        };
        let f = mirror.join(&path);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, bytes).unwrap();
    }
    let tiles = ["--vkey", log_vkey.as_str(), "--tiles", p(&mirror)];
    let compliance = [
        &[
            "verify",
            "compliance",
            p(&bundle),
            "--site-keys-base",
            &keys,
        ][..],
        &tiles,
    ]
    .concat();
    let r = prov(
        &[
            &compliance[..],
            &["--witness", &w1.vkey, "--min-witnesses", "1"],
        ]
        .concat(),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = prov(
        &[
            &compliance[..],
            &["--witness", &wrong, "--min-witnesses", "1"],
        ]
        .concat(),
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    std::fs::remove_file(mirror.join("checkpoint.cosigned")).unwrap();
    let r = prov(
        &[
            &compliance[..],
            &["--witness", &w1.vkey, "--min-witnesses", "1"],
        ]
        .concat(),
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("checkpoint.cosigned"), "{}", r.stderr);

    // The summary made under the witness policy verifies under it.
    let r = prov(
        &[
            &[
                "verify",
                "training-summary",
                p(&summary),
                "--site-keys-base",
                &keys,
            ][..],
            &base,
            &["--witness", &w1.vkey, "--min-witnesses", "1"],
        ]
        .concat(),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // The witness stops; the log grows past the checkpoint it cosigned.
    let w1_vkey = w1.vkey.clone();
    drop(w1);
    grow(&s, "later", 3);
    let (_, cosigned_now) = get(&format!("{s}/checkpoint.cosigned"));
    assert_eq!(cosigned_now, cosigned);
    let (_, latest) = get(&format!("{s}/checkpoint"));
    assert!(size_of(&latest) > size_of(&cosigned));
    let policy = ["--witness", w1_vkey.as_str(), "--min-witnesses", "1"];
    // Honest: still proven against the (older) cosigned checkpoint.
    let r = prov(&[&["check", "--id", &cid][..], &model, &base, &policy].concat());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Split view: the proofs are for the latest checkpoint, not the cosigned one.
    let liar = proofs_for_another_checkpoint(s.clone());
    let r = prov(
        &[
            &["check", "--id", &cid][..],
            &model,
            &["--vkey", &log_vkey, "--server", &liar],
            &policy,
        ]
        .concat(),
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("not for its cosigned checkpoint"),
        "{}",
        r.stderr
    );
    // A compliance bundle of a new model checkpoint, logged after the witness stopped: its
    // checkpoint is one no witness has cosigned.
    ok(
        &[
            "attest",
            "--key",
            p(&alice),
            "--model",
            "lm",
            "--checkpoint",
            "c2",
            "--weights",
            p(&dir.join("weights")),
            "--dataset",
            "web@v1",
            "--backend",
            "cpu",
            "--server",
            &s,
        ],
        0,
    );
    let fresh = dir.join("fresh-bundle.json");
    ok(
        &[
            &[
                "proof",
                "compliance",
                "--model",
                "alice/lm",
                "--out",
                p(&fresh),
            ][..],
            &base,
        ]
        .concat(),
        0,
    );
    let r = prov(
        &[
            &["verify", "compliance", p(&fresh), "--site-keys-base", &keys][..],
            &base,
            &policy,
        ]
        .concat(),
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("not covered by the cosigned checkpoint"),
        "{}",
        r.stderr
    );
    // Without the policy the same bundle is fine.
    let r = prov(
        &[
            &["verify", "compliance", p(&fresh), "--site-keys-base", &keys][..],
            &base,
        ]
        .concat(),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}
