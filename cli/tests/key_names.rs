//! The CLI signs under the name the ledger binds to the key, not the key file's own name: the
//! new user's flow (`keygen` without `--name`, `register --name`, then `publish` and `attest`
//! with only `--key`) against a real `prov serve` on loopback.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{json, ok, p, prov, Server};

/// `keygen --out me.key` (its file name: `publisher`), `publisher register --key me.key --name
/// acme-labs`, then `publish --key me.key ...`: the old CLI signed as "publisher" and the server
/// refused it (422 `publisher "publisher" is not registered`); it must find `acme-labs`.
#[test]
fn publish_finds_the_name_its_key_holds() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("ledger"), false);
    let s = server.url.as_str();
    let key = dir.path().join("me.key");
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    std::fs::write(corpus.join("a.txt"), b"a document").unwrap();
    let weights = dir.path().join("weights");
    std::fs::create_dir(&weights).unwrap();
    std::fs::write(weights.join("w.bin"), b"weights").unwrap();

    ok(&["keygen", "--out", p(&key)], 0);
    let reg = prov(&[
        "publisher",
        "register",
        "--key",
        p(&key),
        "--name",
        "acme-labs",
        "--server",
        s,
    ]);
    assert_eq!(reg.code, 0, "{}", reg.stderr);
    assert!(
        !reg.stderr.contains("--publisher"),
        "register no longer tells the user to pass --publisher: {}",
        reg.stderr
    );

    let out = json(&ok(
        &[
            "publish",
            "--key",
            p(&key),
            "--dataset",
            "web",
            "--version",
            "v1",
            "--mode",
            "file",
            p(&corpus),
            "--server",
            s,
            "--json",
        ],
        0,
    ));
    assert_eq!(out["dataset"], "acme-labs/web@v1");

    // attest finds it too, and a dataset without a publisher is the model's.
    let out = json(&ok(
        &[
            "attest",
            "--key",
            p(&key),
            "--model",
            "lm",
            "--checkpoint",
            "c1",
            "--weights",
            p(&weights),
            "--dataset",
            "web@v1",
            "--server",
            s,
            "--json",
        ],
        0,
    ));
    assert_eq!(out["model"], "acme-labs/lm");
    assert_eq!(out["datasets"][0], "acme-labs/web@v1");
}

/// A key that holds no name is refused before anything is hashed or uploaded, with the command
/// that registers one (exit 4), never the server's 422 about the key file's name.
#[test]
fn an_unregistered_key_is_told_to_register() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("ledger"), false);
    let s = server.url.as_str();
    let key = dir.path().join("me.key");
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    std::fs::write(corpus.join("a.txt"), b"a document").unwrap();
    ok(&["keygen", "--out", p(&key)], 0);

    let r = prov(&[
        "publish",
        "--key",
        p(&key),
        "--dataset",
        "web",
        "--version",
        "v1",
        "--mode",
        "file",
        p(&corpus),
        "--server",
        s,
    ]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("holds no publisher name"), "{}", r.stderr);
    assert!(
        r.stderr.contains("prov publisher register --key"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("not registered"), "{}", r.stderr);

    // A key holding two names signs under the key file's name when it is one of them, and
    // otherwise asks which (exit 2).
    for name in ["first", "second"] {
        let args = [
            "publisher",
            "register",
            "--key",
            p(&key),
            "--name",
            name,
            "--server",
            s,
        ];
        ok(&args, 0);
    }
    let r = prov(&[
        "publish",
        "--key",
        p(&key),
        "--dataset",
        "web",
        "--version",
        "v1",
        "--mode",
        "file",
        p(&corpus),
        "--server",
        s,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("first, second"), "{}", r.stderr);
    let out = json(&ok(
        &[
            "publish",
            "--key",
            p(&key),
            "--dataset",
            "web",
            "--version",
            "v1",
            "--mode",
            "file",
            p(&corpus),
            "--publisher",
            "second",
            "--server",
            s,
            "--json",
        ],
        0,
    ));
    assert_eq!(out["dataset"], "second/web@v1");
}

/// `prov proof compliance --vkey V` was documented and refused; now it verifies the bundle with
/// `V` before writing it: the right key writes it, another log's key writes nothing (exit 2).
#[test]
fn proof_compliance_verifies_the_bundle_with_vkey() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("ledger"), false);
    let other = Server::start(&dir.path().join("other"), false);
    let s = server.url.as_str();
    let key = dir.path().join("lab.key");
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    std::fs::write(corpus.join("a.txt"), b"a document").unwrap();
    ok(&["keygen", "--out", p(&key), "--name", "lab"], 0);
    ok(
        &["publisher", "register", "--key", p(&key), "--server", s],
        0,
    );
    ok(
        &[
            "publish",
            "--key",
            p(&key),
            "--dataset",
            "web",
            "--version",
            "v1",
            "--mode",
            "file",
            p(&corpus),
            "--server",
            s,
        ],
        0,
    );
    ok(
        &[
            "attest",
            "--key",
            p(&key),
            "--model",
            "lm",
            "--checkpoint",
            "c1",
            "--weights",
            p(&corpus),
            "--dataset",
            "web@v1",
            "--server",
            s,
        ],
        0,
    );

    let good = dir.path().join("good.json");
    ok(
        &[
            "proof",
            "compliance",
            "--model",
            "lab/lm",
            "--out",
            p(&good),
            "--vkey",
            &server.vkey,
            "--server",
            s,
        ],
        0,
    );
    assert!(json(&std::fs::read_to_string(&good).unwrap())["checkpoint"].is_string());

    let bad = dir.path().join("bad.json");
    let r = prov(&[
        "proof",
        "compliance",
        "--model",
        "lab/lm",
        "--out",
        p(&bad),
        "--vkey",
        &other.vkey,
        "--server",
        s,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("does not verify"), "{}", r.stderr);
    assert!(
        !bad.exists(),
        "a bundle that does not verify is not written"
    );
}
