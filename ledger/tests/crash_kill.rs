//! Process-level crash safety: a child process (`examples/crash_child.rs`) appends to a RocksDB
//! ledger from four threads and is killed with SIGKILL at random moments, 60 times. After each
//! kill the ledger is reopened and checked: every acknowledged entry is present and unchanged,
//! every checkpoint ever handed out verifies and is consistent with the reopened tree (its root
//! is the reopened tree's root at its size), and the ledger accepts a new entry.
#![cfg(all(unix, feature = "rocksdb"))]
#![allow(clippy::unwrap_used)] // the child_binary helper: a failure is a test failure

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use ledger::checkpoint::Checkpoint;
use ledger::ledger::Ledger;
use ledger::sequencer::SequencerConfig;
use ledger::store::log;
use ledger::types::{LeafIndex, TreeSize};
use rand::{Rng as _, SeedableRng as _};

mod common;

const KILLS: u64 = 60;

fn child_binary() -> PathBuf {
    // target/<profile>/deps/crash_kill-<hash> -> target/<profile>/examples/crash_child
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let p = profile_dir.join("examples").join("crash_child");
    if std::env::var_os("CARGO").is_some() {
        // `cargo test --test crash_kill` does not build (or rebuild) examples: make sure the
        // child is current. A no-op when it is.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "-p",
            "ledger",
            "--features",
            "rocksdb",
            "--example",
            "crash_child",
        ]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().unwrap();
        assert!(status.success(), "building the crash_child example failed");
    }
    assert!(
        p.exists(),
        "{} is missing: run `cargo test -p ledger --features rocksdb` (it builds examples)",
        p.display()
    );
    p
}

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let bin = child_binary();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let mut acked: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    // Every checkpoint handed out, by size: its signature is verified once, when received.
    let mut checkpoints: BTreeMap<u64, Checkpoint> = BTreeMap::new();
    let mut unverified: Vec<String> = Vec::new();
    let mut vkey = None;
    let mut established = false;
    let config = || SequencerConfig {
        max_delay: Duration::from_millis(1),
        ..Default::default()
    };
    for run in 0..KILLS {
        eprintln!(
            "run {run}: {} acknowledged, {} checkpoints",
            acked.len(),
            checkpoints.len()
        );
        let mut cmd = Command::new(&bin);
        cmd.arg(&dir).arg(run.to_string());
        if !established {
            cmd.arg("create");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Kill at a random moment: one run in eight during open and recovery, the others while
        // appending (a random time after the child said READY).
        let early = rng.gen_range(0..8) == 0;
        let delay = Duration::from_millis(rng.gen_range(if early { 0..150 } else { 1..150 }));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) if l == "READY" => {
                        let _ = ready_tx.send(());
                    }
                    Ok(l) => lines.push(l),
                    Err(_) => break,
                }
            }
            lines
        });
        if !early {
            let _ = ready_rx.recv_timeout(Duration::from_secs(20));
        }
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "run {run}: child exited by itself: {status:?}"
        );
        let lines = reader.join().unwrap();
        for l in &lines {
            if let Some(rest) = l.strip_prefix("ACK ") {
                let (i, hexed) = rest.split_once(' ').unwrap();
                let prev = acked.insert(i.parse().unwrap(), hex::decode(hexed).unwrap());
                assert!(prev.is_none(), "run {run}: index {i} acknowledged twice");
            } else if let Some(b64) = l.strip_prefix("CP ") {
                let note = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                unverified.push(String::from_utf8(note).unwrap());
            }
        }

        // Reopen and check everything handed out so far.
        let l = match Ledger::open(&dir, config()) {
            Ok(l) => l,
            // Killed during creation, before the ledger existed: start over (creation never
            // reuses a directory with something in it).
            Err(_) if !established => {
                assert!(acked.is_empty());
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).unwrap();
                }
                continue;
            }
            Err(e) => panic!("run {run}: reopen failed: {e}"),
        };
        established = true;
        let vk = vkey.get_or_insert_with(|| l.verifier_key().clone()).clone();
        let store = l.store().clone();
        let size = l.checkpoint().size();
        for (i, e) in &acked {
            assert!(
                *i < size.0,
                "run {run}: acknowledged {i} beyond size {size}"
            );
            assert_eq!(
                l.entry(LeafIndex(*i)).unwrap().as_ref(),
                Some(e),
                "run {run}: entry {i}"
            );
        }
        for note in unverified.drain(..) {
            let cp = Checkpoint::verify(&note, &vk).unwrap();
            if let Some(seen) = checkpoints.insert(cp.size.0, cp.clone()) {
                assert_eq!(seen, cp, "run {run}: two checkpoints of size {}", cp.size);
            }
        }
        for cp in checkpoints.values() {
            assert!(cp.size <= size, "run {run}");
            assert_eq!(
                log::tree_hash(&*store, cp.size).unwrap(),
                cp.root,
                "run {run}"
            );
        }
        let r = l
            .submit(common::entry_for("example.org/crash", 1_000_000_000 + run))
            .unwrap();
        assert_eq!(r.index.0, size.0, "run {run}");
        assert_eq!(r.checkpoint.size(), TreeSize(size.0 + 1));
        unverified.push(r.checkpoint.note.clone());
        acked.insert(
            r.index.0,
            common::entry_for("example.org/crash", 1_000_000_000 + run),
        );
        l.close();
    }
    assert!(
        acked.len() > 300,
        "only {} entries acknowledged in {KILLS} runs",
        acked.len()
    );
}
