//! The worked examples of `docs/format-log.md`, recomputed: every value is asserted against the
//! code, and every value must appear verbatim in the document, so the two cannot drift.
//!
//! The example log key is derived from the fixed seed 0x00 0x01 .. 0x1f. It is public: never
//! use it for anything but examples.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use ledger::merkle::inclusion_proof;
use ledger::note::{key_id, KeyType};
use ledger::{
    leaf_hash, node_hash, Checkpoint, LeafIndex, NoteSigner, Sha256Log, TlogProof, TreeSize,
};
use sha2::{Digest as _, Sha256};

const ORIGIN: &str = "example.com/prov-log";

fn example_signer() -> NoteSigner {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&seed)).unwrap()
}

/// Each worked example: a label, and the value the document shows.
fn examples() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let b64 = base64::engine::general_purpose::STANDARD;

    // Log leaf hash: SHA-256(0x00 || entry).
    let entry0 = b"hello";
    let entry1 = b"world";
    out.push(("leaf0 input", hex::encode([&[0u8][..], entry0].concat())));
    let leaf0 = leaf_hash(entry0);
    let leaf1 = leaf_hash(entry1);
    out.push(("leaf0 hash", leaf0.to_hex()));
    out.push(("leaf1 hash", leaf1.to_hex()));

    // Node hash: SHA-256(0x01 || left || right); the root of the two-entry log.
    let node_input = [&[1u8][..], &leaf0.0, &leaf1.0].concat();
    out.push(("node input", hex::encode(&node_input)));
    let root = node_hash(&leaf0, &leaf1);
    assert_eq!(root.0, <[u8; 32]>::from(Sha256::digest(&node_input)));
    out.push(("node hash", root.to_hex()));
    out.push(("root base64", root.to_base64()));

    // Checkpoint body.
    let checkpoint = Checkpoint {
        origin: ORIGIN.to_string(),
        size: TreeSize(2),
        root,
    };
    let body = checkpoint.to_body();
    out.push(("checkpoint body hex", hex::encode(body.as_bytes())));

    // Key id and vkey.
    let signer = example_signer();
    let vkey = signer.verifier_key();
    let public = vkey.verifying_key().to_bytes();
    out.push(("public key", hex::encode(public)));
    let id_input = [ORIGIN.as_bytes(), &[0x0a, 0x01], &public].concat();
    out.push(("key id input", hex::encode(&id_input)));
    let id_hash = Sha256::digest(&id_input);
    out.push(("key id hash", hex::encode(id_hash)));
    assert_eq!(&id_hash[..4], &vkey.key_id().to_be_bytes());
    assert_eq!(
        vkey.key_id(),
        key_id(ORIGIN, KeyType::Ed25519, vkey.verifying_key())
    );
    out.push(("key id", format!("{:08x}", vkey.key_id())));
    out.push(("vkey", vkey.to_string()));

    // Signature line of the checkpoint note.
    let note = checkpoint.sign(&signer).unwrap();
    let sig_line = note.lines().last().unwrap().to_string();
    let sig_b64 = sig_line.rsplit(' ').next().unwrap();
    let sig_raw = b64.decode(sig_b64).unwrap();
    assert_eq!(sig_raw.len(), 68);
    out.push(("signature bytes", hex::encode(&sig_raw[4..])));
    out.push(("signature line", sig_line));

    // tlog-proof of entry 1 ("world").
    let proof = TlogProof {
        extra: None,
        index: LeafIndex(1),
        proof: inclusion_proof::<Sha256Log>(&[leaf0, leaf1], LeafIndex(1)).unwrap(),
        checkpoint: note,
    };
    assert_eq!(proof.verify(&vkey, entry1).unwrap(), checkpoint);
    out.push(("tlog-proof", proof.to_text()));
    out
}

#[test]
fn worked_examples_match_the_code_and_the_document() {
    // Values checked independently (Python hashlib and pyca/cryptography's Ed25519).
    let expected: &[(&str, &str)] = &[
        (
            "leaf0 hash",
            "8a2a5c9b768827de5a9552c38a044c66959c68f6d2f21b5260af54d2f87db827",
        ),
        (
            "node hash",
            "24233339aadcedf287d262413f03c028eb8db397edd32a2878091151b99bf20f",
        ),
        ("key id", "6a10e5ef"),
        (
            "vkey",
            "example.com/prov-log+6a10e5ef+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
        ),
        (
            "signature bytes",
            "d363d47503687d76f56d26400d411bada5e44e5d6882ae6b01d5ca9adb4d3cd0\
             3ddbab21e1579b96843ba40a4d74554b02180e7d02b718e9996bbafac2d16808",
        ),
    ];
    let got = examples();
    for (label, want) in expected {
        let value = &got.iter().find(|(l, _)| l == label).unwrap().1;
        assert_eq!(value, want, "{label}");
    }
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/format-log.md"),
    )
    .unwrap();
    for (label, value) in &got {
        assert!(
            contains_whole(&doc, value),
            "docs/format-log.md lacks {label}: {value}"
        );
    }
}

/// Whether `value` occurs in `doc` as a whole word (not as part of a longer hash or vkey), so a
/// short value such as a key id cannot be "found" inside another one.
fn contains_whole(doc: &str, value: &str) -> bool {
    let is_edge = |c: Option<char>| c.is_none_or(|c| " `\n()|,".contains(c));
    doc.match_indices(value).any(|(at, _)| {
        is_edge(doc[..at].chars().next_back()) && is_edge(doc[at + value.len()..].chars().next())
    })
}

#[test]
fn contains_whole_needs_word_edges() {
    assert!(contains_whole("id: `6a10e5ef`", "6a10e5ef"));
    assert!(!contains_whole("x+6a10e5ef+y 6a10e5ef0d", "6a10e5ef"));
}
