//! `prov verify inclusion|consistency|set-inclusion|set-exclusion` on proofs built by hand from
//! the ledger's primitives, for a log that is not ours (any C2SP log with an Ed25519 key): exit 0
//! when the proof holds, 2 when it does not or an input is malformed.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use ed25519_dalek::SigningKey;
use ledger::set::SortedSet;
use ledger::tree::MemoryHashes;
use ledger::{leaf_hash, Checkpoint, ContentId, LeafIndex, NoteSigner, TlogProof, TreeSize};

const PROV: &str = env!("CARGO_BIN_EXE_prov");

fn prov(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(PROV).args(args).output().expect("run prov");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn code(args: &[&str]) -> i32 {
    prov(args).0
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A log of arbitrary entries (not prov entries: any C2SP log), with its tree and signer.
struct Log {
    entries: Vec<Vec<u8>>,
    hashes: MemoryHashes,
    signer: NoteSigner,
}

impl Log {
    fn new(n: usize) -> Log {
        let entries: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("entry number {i}").into_bytes())
            .collect();
        let leaves: Vec<_> = entries.iter().map(|e| leaf_hash(e)).collect();
        Log {
            entries,
            hashes: MemoryHashes::from_leaf_hashes(&leaves),
            signer: NoteSigner::new("example.com/other-log", SigningKey::from_bytes(&[3; 32]))
                .unwrap(),
        }
    }

    fn vkey(&self) -> String {
        self.signer.verifier_key().to_string()
    }

    /// The signed checkpoint of the first `size` entries.
    fn checkpoint(&self, size: u64) -> String {
        let leaves: Vec<_> = self.entries[..size as usize]
            .iter()
            .map(|e| leaf_hash(e))
            .collect();
        let root = MemoryHashes::from_leaf_hashes(&leaves).root();
        Checkpoint {
            origin: self.signer.name().to_string(),
            size: TreeSize(size),
            root,
        }
        .sign(&self.signer)
        .unwrap()
    }

    fn tlog_proof(&self, index: u64, size: u64) -> String {
        TlogProof {
            extra: None,
            index: LeafIndex(index),
            proof: ledger::tree::inclusion_proof(TreeSize(size), LeafIndex(index), &self.hashes)
                .unwrap(),
            checkpoint: self.checkpoint(size),
        }
        .to_text()
    }
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn inclusion_holds_for_every_entry_of_any_c2sp_log() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::new(7);
    let vkey = log.vkey();
    for index in 0..7u64 {
        let entry = write(tmp.path(), "entry", &log.entries[index as usize]);
        let proof = write(tmp.path(), "proof", log.tlog_proof(index, 7));
        let (c, out, err) = prov(&[
            "verify",
            "inclusion",
            "--vkey",
            &vkey,
            "--entry",
            p(&entry),
            p(&proof),
        ]);
        assert_eq!(c, 0, "{out}{err}");
        assert!(out.contains(&format!("index {index}")), "{out}");
    }
}

#[test]
fn inclusion_fails_with_exit_2_on_any_wrong_input() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let log = Log::new(7);
    let vkey = log.vkey();
    let vkey_file = write(t, "vkey", format!("{vkey}\n"));
    let entry = write(t, "entry", &log.entries[2]);
    let text = log.tlog_proof(2, 7);
    let proof = write(t, "proof", &text);
    let args = |v: &str, e: &Path, pr: &Path| -> i32 {
        code(&["verify", "inclusion", "--vkey", v, "--entry", p(e), p(pr)])
    };
    // The key from a file works as well as inline; JSON says verified.
    assert_eq!(args(p(&vkey_file), &entry, &proof), 0);
    let (c, out, _) = prov(&[
        "verify",
        "inclusion",
        "--vkey",
        &vkey,
        "--entry",
        p(&entry),
        p(&proof),
        "--json",
    ]);
    assert_eq!(c, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["tree_size"], 7);

    // Another entry, another key, another log's name, a damaged proof, a missing file.
    let other = write(t, "other", &log.entries[3]);
    assert_eq!(args(&vkey, &other, &proof), 2);
    let stranger =
        NoteSigner::new("example.com/other-log", SigningKey::from_bytes(&[4; 32])).unwrap();
    assert_eq!(
        args(&stranger.verifier_key().to_string(), &entry, &proof),
        2
    );
    assert_eq!(args("not a vkey", &entry, &proof), 2);
    let lines: Vec<&str> = text.lines().collect();
    let flipped_hash = {
        let h = lines[2];
        let c = if h.starts_with('A') { "B" } else { "A" };
        text.replacen(h, &format!("{c}{}", &h[1..]), 1)
    };
    assert_eq!(args(&vkey, &entry, &write(t, "p1", flipped_hash)), 2);
    assert_eq!(
        args(
            &vkey,
            &entry,
            &write(t, "p2", text.replace("index 2", "index 3"))
        ),
        2
    );
    assert_eq!(
        args(
            &vkey,
            &entry,
            &write(t, "p3", text.replace("tlog-proof@v1", "tlog-proof@v9"))
        ),
        2
    );
    assert_eq!(args(&vkey, &entry, &write(t, "p4", "")), 2);
    assert_eq!(args(&vkey, &entry, &t.join("missing")), 2);
    // A proof against a smaller tree does not verify against the bigger one's checkpoint.
    let smaller = TlogProof {
        extra: None,
        index: LeafIndex(2),
        proof: ledger::tree::inclusion_proof(TreeSize(5), LeafIndex(2), &log.hashes).unwrap(),
        checkpoint: log.checkpoint(7),
    };
    assert_eq!(args(&vkey, &entry, &write(t, "p5", smaller.to_text())), 2);
}

#[test]
fn consistency_holds_forward_and_fails_otherwise() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let log = Log::new(11);
    let vkey = log.vkey();
    let old = write(t, "old", log.checkpoint(3));
    let new = write(t, "new", log.checkpoint(11));
    let hashes = ledger::tree::consistency_proof(TreeSize(3), TreeSize(11), &log.hashes).unwrap();
    let b64: String = hashes.iter().map(|h| h.to_base64() + "\n").collect();
    let proof = write(t, "proof", &b64);
    let hex: Vec<String> = hashes.iter().map(|h| h.to_hex()).collect();
    let proof_json = write(
        t,
        "proof.json",
        serde_json::json!({"old_size": 3, "new_size": 11, "hashes": hex}).to_string(),
    );

    let run = |o: &Path, n: &Path, pr: &Path| {
        code(&["verify", "consistency", "--vkey", &vkey, p(o), p(n), p(pr)])
    };
    assert_eq!(run(&old, &new, &proof), 0);
    assert_eq!(run(&old, &new, &proof_json), 0);
    assert_eq!(run(&new, &old, &proof), 2);
    let short: String = hashes[1..].iter().map(|h| h.to_base64() + "\n").collect();
    assert_eq!(run(&old, &new, &write(t, "short", short)), 2);
    let other = write(t, "other", log.checkpoint(4));
    assert_eq!(run(&other, &new, &proof), 2);
    assert_eq!(run(&old, &new, &write(t, "junk", "not base64!\n")), 2);
    let wrong_key =
        NoteSigner::new("example.com/other-log", SigningKey::from_bytes(&[9; 32])).unwrap();
    assert_eq!(
        code(&[
            "verify",
            "consistency",
            "--vkey",
            &wrong_key.verifier_key().to_string(),
            p(&old),
            p(&new),
            p(&proof)
        ]),
        2
    );
}

fn ids(n: u8) -> Vec<ContentId> {
    (0..n).map(|i| ContentId::of(&[i])).collect()
}

#[test]
fn set_inclusion_and_exclusion_in_every_case() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let all = ids(8);
    // Members: every other id in sorted order, so absent ids fall before, between and after.
    let mut sorted = all.clone();
    sorted.sort();
    let members: Vec<ContentId> = sorted.iter().copied().skip(1).step_by(2).collect();
    let absent: Vec<ContentId> = sorted.iter().copied().step_by(2).collect();
    let set = SortedSet::from_ids(members.iter().copied());
    let root = set.root().to_hex();
    let size = set.size().0.to_string();

    for id in &members {
        let proof = write(
            t,
            "inc.json",
            serde_json::to_string(&set.inclusion_proof(id).unwrap()).unwrap(),
        );
        let id = id.to_string();
        let base = ["verify", "set-inclusion", "--set-root", &root, "--id", &id];
        let with_size = |extra: &[&str], file: &Path| {
            let mut a = base.to_vec();
            a.extend_from_slice(extra);
            a.push(p(file));
            code(&a)
        };
        assert_eq!(with_size(&["--set-size", &size], &proof), 0);
        assert_eq!(with_size(&[], &proof), 0);
        assert_eq!(with_size(&["--set-size", "99"], &proof), 2);
        let wrapped = write(
            t,
            "wrapped.json",
            serde_json::json!({"included": set.inclusion_proof(&id.parse().unwrap()).unwrap()})
                .to_string(),
        );
        assert_eq!(with_size(&["--set-size", &size], &wrapped), 0);
    }
    // Exclusion: before the first leaf, between two, after the last; and never as inclusion.
    for id in absent
        .iter()
        .chain([ContentId([0xff; 32]), ContentId([0; 32])].iter())
    {
        let proof = write(
            t,
            "exc.json",
            serde_json::to_string(&set.exclusion_proof(id).unwrap()).unwrap(),
        );
        let id = id.to_string();
        let run = |cmd: &str, r: &str| {
            code(&[
                "verify",
                cmd,
                "--set-root",
                r,
                "--set-size",
                &size,
                "--id",
                &id,
                p(&proof),
            ])
        };
        assert_eq!(run("set-exclusion", &root), 0, "{id}");
        assert_eq!(run("set-inclusion", &root), 2, "{id}");
        assert_eq!(run("set-exclusion", &"00".repeat(32)), 2, "{id}");
    }
    // The empty set excludes everything.
    let empty = SortedSet::from_ids([]);
    let id = all[0].to_string();
    let proof = write(
        t,
        "empty.json",
        serde_json::to_string(&empty.exclusion_proof(&all[0]).unwrap()).unwrap(),
    );
    assert_eq!(
        code(&[
            "verify",
            "set-exclusion",
            "--set-root",
            &empty.root().to_hex(),
            "--set-size",
            "0",
            "--id",
            &id,
            p(&proof)
        ]),
        0
    );
}

#[test]
fn set_proofs_that_lie_do_not_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let set = SortedSet::from_ids(ids(6));
    let root = set.root().to_hex();
    let member = set.leaves()[2].cid;
    let proof = serde_json::to_value(set.inclusion_proof(&member).unwrap()).unwrap();
    let run = |v: &serde_json::Value, id: &ContentId| {
        let f = write(t, "p.json", v.to_string());
        prov(&[
            "verify",
            "set-inclusion",
            "--set-root",
            &root,
            "--set-size",
            "6",
            "--id",
            &id.to_string(),
            p(&f),
        ])
    };
    assert_eq!(run(&proof, &member).0, 0);
    // Another id, a damaged path, a moved index, uppercase hex, an unknown field: all exit 2.
    assert_eq!(run(&proof, &set.leaves()[3].cid).0, 2);
    let mut bad = proof.clone();
    let h = bad["path"][0].as_str().unwrap().to_string();
    let flipped = format!("{}{}", if h.starts_with('0') { '1' } else { '0' }, &h[1..]);
    bad["path"][0] = serde_json::Value::String(flipped);
    assert_eq!(run(&bad, &member).0, 2);
    let mut bad = proof.clone();
    bad["index"] = serde_json::json!(3);
    assert_eq!(run(&bad, &member).0, 2);
    let mut bad = proof.clone();
    bad["path"][0] = serde_json::Value::String(h.to_uppercase());
    let upper_differs = h.to_uppercase() != h;
    if upper_differs {
        assert_eq!(run(&bad, &member).0, 2);
    }
    let mut bad = proof.clone();
    bad["extra"] = serde_json::json!(1);
    assert_eq!(run(&bad, &member).0, 2);
    // Without --set-size the size is the proof's, and the user is told so.
    let f = write(t, "p.json", proof.to_string());
    let (c, _, err) = prov(&[
        "verify",
        "set-inclusion",
        "--set-root",
        &root,
        "--id",
        &member.to_string(),
        p(&f),
    ]);
    assert_eq!(c, 0);
    assert!(err.contains("--set-size"), "{err}");
    // Malformed flags are malformed input too.
    assert_eq!(
        code(&[
            "verify",
            "set-inclusion",
            "--set-root",
            "xyz",
            "--id",
            &member.to_string(),
            p(&f)
        ]),
        2
    );
    assert_eq!(
        code(&[
            "verify",
            "set-inclusion",
            "--set-root",
            &root,
            "--id",
            "sha256:00",
            p(&f)
        ]),
        2
    );
}

/// A closed stdout (`prov verify ... | head -c0`) is success, not an error.
#[test]
fn a_broken_pipe_on_stdout_is_success() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::new(3);
    let entry = write(tmp.path(), "entry", &log.entries[1]);
    let proof = write(tmp.path(), "proof", log.tlog_proof(1, 3));
    let mut child = Command::new(PROV)
        .args([
            "verify",
            "inclusion",
            "--vkey",
            &log.vkey(),
            "--entry",
            p(&entry),
            p(&proof),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
