//! SIGTERM to a real `prov serve` (its own process, RocksDB in a temporary directory) while
//! clients keep submitting: the server drains and exits 0, and after a restart every write it
//! acknowledged is in the log, at the index and with the leaf hash of its receipt, and the new
//! checkpoint is consistent with every checkpoint handed out before the signal.
//!
//! Needs the `server` feature (the default), which `prov serve` lives behind.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(all(feature = "server", unix))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{json, ok, p, prov, Server};

/// One acknowledged opt-out: what its receipt promised.
#[derive(Debug)]
struct Ack {
    index: u64,
    leaf_hash: String,
    tree_size: u64,
}

#[test]
fn sigterm_drains_and_every_acknowledged_write_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    // Anonymous opt-outs are rate-limited per client IP; every client here is 127.0.0.1.
    let config = tmp.path().join("prov.toml");
    std::fs::write(
        &config,
        "[limits]\nanonymous_optouts_per_minute = 100000\nanonymous_optout_burst = 10000\n",
    )
    .unwrap();
    let config = ["--config", p(&config)];
    let mut server = Server::start_with(&data, false, &config);
    let url = server.url.clone();
    let vkey = server.vkey.clone();

    let acked = AtomicUsize::new(0);
    let mut acked_at_signal = 0;
    let stop = AtomicBool::new(false);
    let clients = 4;
    let acks: Vec<Ack> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (url, acked, stop) = (&url, &acked, &stop);
                s.spawn(move || {
                    let mut mine = Vec::new();
                    // Until the server is gone (the first refused submission) or 200 each.
                    for i in 0..200 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let id = format!(
                            "blake3:{}",
                            blake3::hash(format!("client {c} doc {i}").as_bytes()).to_hex()
                        );
                        let r = prov(&["optout", "--id", &id, "--json", "--server", url]);
                        if r.code != 0 {
                            break;
                        }
                        let v = json(&r.stdout);
                        mine.push(Ack {
                            index: v["receipt"]["index"].as_u64().unwrap(),
                            leaf_hash: v["receipt"]["leaf_hash"].as_str().unwrap().to_string(),
                            tree_size: v["receipt"]["tree_size"].as_u64().unwrap(),
                        });
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    mine
                })
            })
            .collect();
        // Let writes flow, then signal while every client still has submissions in flight.
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.load(Ordering::Relaxed) < 40 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            acked.load(Ordering::Relaxed) >= 40,
            "the server acknowledged too little"
        );
        acked_at_signal = acked.load(Ordering::Relaxed);
        let pid = server.child.id().to_string();
        let kill = std::process::Command::new("sh")
            .args(["-c", &format!("kill -TERM {pid}")])
            .status()
            .unwrap();
        assert!(kill.success());
        // A bounded wait, not a timing assertion: a server that never exits fails here.
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(st) = server.child.try_wait().unwrap() {
                break st;
            }
            assert!(
                Instant::now() < deadline,
                "prov serve did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            status.success(),
            "prov serve exited with {status} after SIGTERM"
        );
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    drop(server);
    assert!(acks.len() >= 40);
    eprintln!(
        "{} opt-outs acknowledged, {} of them after the signal was sent",
        acks.len(),
        acks.len() - acked_at_signal
    );

    // Reopen the same directory: the same log, with every acknowledged write in it.
    let again = Server::start_with(&data, false, &config);
    assert_eq!(again.vkey, vkey, "the restarted server has another key");
    let s = again.url.as_str();
    let vkey_file = tmp.path().join("vkey");
    std::fs::write(&vkey_file, format!("{vkey}\n")).unwrap();
    let vk = p(&vkey_file);
    let mut indexes: Vec<u64> = acks.iter().map(|a| a.index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), acks.len(), "two receipts share an index");
    for a in &acks {
        let proof = tmp.path().join(format!("{}.tlog-proof", a.index));
        let entry = tmp.path().join(format!("{}.entry", a.index));
        let idx = a.index.to_string();
        ok(
            &[
                "proof",
                "inclusion",
                &idx,
                "--out",
                p(&proof),
                "--entry-out",
                p(&entry),
                "--vkey",
                vk,
                "--server",
                s,
            ],
            0,
        );
        let bytes = std::fs::read(&entry).unwrap();
        assert_eq!(
            ledger::leaf_hash(&bytes).to_hex(),
            a.leaf_hash,
            "entry {} is not the one acknowledged",
            a.index
        );
    }
    // History was not rewritten: the checkpoints handed out before the signal are consistent
    // with the one after the restart.
    let mut sizes: Vec<u64> = acks.iter().map(|a| a.tree_size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for old in [sizes[0], sizes[sizes.len() / 2], sizes[sizes.len() - 1]] {
        let out = tmp.path().join(format!("cons-{old}"));
        let r = prov(&[
            "proof",
            "consistency",
            "--old",
            &old.to_string(),
            "--out",
            p(&out),
            "--vkey",
            vk,
            "--server",
            s,
        ]);
        assert_eq!(r.code, 0, "consistency from {old}: {}", r.stderr);
    }
}

/// The service's log goes to stderr: a warning when the log key is readable by others, and the
/// shutdown on SIGTERM. (Regression: `prov serve` installed no log subscriber, so both were lost.)
#[test]
fn serve_logs_a_readable_key_and_its_shutdown_to_stderr() {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt as _;
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ledger");
    drop(Server::start(&data, false)); // creates the ledger (key mode 0600), then is killed
    let key = data.join("ledger.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut child = Command::new(common::PROV)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The announcement on stdout means the server is up (and past its start-up checks).
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("explorer:") {
        line.clear();
        let n = std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        assert!(n > 0, "prov serve exited before announcing itself");
    }
    let pid = child.id().to_string();
    let kill = Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}")])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("readable by other users"), "{err}");
    assert!(err.contains("ledger.key"), "{err}");
    assert!(err.contains("SIGTERM: shutting down"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in a log that is not a terminal: {err}"
    );
}
