//! Our witness cosignatures (C2SP tlog-cosignature v1) and our witness (C2SP tlog-witness v1)
//! against an implementation that is not ours: Cloudflare's published `signed_note` and
//! `tlog_tiles` crates (cloudflare/azul). Neither can make or check a cosignature itself (their
//! verifiers know signature type 0x01 only), but both let a caller plug in a signer or verifier:
//! here those are written from the spec's text with nothing but Ed25519, while the note format,
//! the key ids, the signature matching, the checkpoint bodies, the Merkle trees and the
//! consistency proofs are all theirs.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::tlog::{self, Hash, HashReader};
use verifier::cosignature::{verify_cosigned, CosignatureError, WitnessKey, WitnessPolicy};
use verifier::VerifierKey;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const ORIGIN: &str = "example.com/interop-log";

/// A log built entirely with `tlog_tiles`: its stored hashes.
#[derive(Default)]
struct Tree(Vec<Hash>);

impl HashReader for Tree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
        Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
    }
}

impl Tree {
    fn of(records: &[String]) -> Tree {
        let mut t = Tree::default();
        for (n, r) in records.iter().enumerate() {
            let hs = tlog::stored_hashes(n as u64, r.as_bytes(), &t).unwrap();
            t.0.extend(hs);
        }
        t
    }
}

fn records(prefix: &str, from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("{prefix} record {i}")).collect()
}

/// The log's key, as `signed_note` reads and writes it: (signer, vkey).
fn log_key() -> (StandardSigner, String) {
    let sk = SigningKey::from_bytes(&[11; 32]);
    let pubkey = [&[1u8][..], sk.verifying_key().as_bytes()].concat();
    let id = signed_note::key_id(ORIGIN, &pubkey);
    let skey = format!(
        "PRIVATE+KEY+{ORIGIN}+{id:08x}+{}",
        B64.encode([&[1u8][..], &sk.to_bytes()].concat())
    );
    let vkey = signed_note::new_ed25519_verifier_key(ORIGIN, &sk.verifying_key());
    (StandardSigner::new(&skey).unwrap(), vkey)
}

/// A checkpoint of `tree` at `size`, its body by `tlog_tiles`, signed by `signed_note`.
fn their_checkpoint(tree: &Tree, size: u64) -> String {
    let root = tlog::tree_hash(size, tree).unwrap();
    let body = tlog_tiles::Checkpoint::new(ORIGIN, size, root, "")
        .unwrap()
        .to_bytes();
    let mut note = Note::new(&body, &[]).unwrap();
    note.add_sigs(&[&log_key().0]).unwrap();
    String::from_utf8(note.to_bytes()).unwrap()
}

/// `prove_tree` of `tlog_tiles`, as add-checkpoint's base64 lines.
fn their_proof(tree: &Tree, new: u64, old: u64) -> String {
    tlog::prove_tree(new, old, tree)
        .unwrap()
        .iter()
        .map(|h| format!("{}\n", B64.encode(h.0)))
        .collect()
}

/// A cosignature/v1 verifier for `signed_note`, written from the spec: key id by
/// `signed_note::key_id` over `0x04 || key`, signature `timestamp || Ed25519(message)`.
struct SpecCosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl SpecCosignatureVerifier {
    /// From a witness vkey, parsed by hand: `name+id+base64(0x04 || key)`.
    fn from_vkey(vkey: &str) -> Self {
        let mut parts = vkey.splitn(3, '+');
        let (name, id, key) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let raw = B64.decode(key).unwrap();
        assert_eq!(raw[0], 0x04, "a witness vkey has signature type 0x04");
        let id = u32::from_str_radix(id, 16).unwrap();
        assert_eq!(id, signed_note::key_id(name, &raw), "the vkey's key id");
        SpecCosignatureVerifier {
            name: name.to_string(),
            id,
            key: VerifyingKey::from_bytes(&raw[1..].try_into().unwrap()).unwrap(),
        }
    }
}

impl signed_note::Verifier for SpecCosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != 72 {
            return false;
        }
        let t = u64::from_be_bytes(sig[..8].try_into().unwrap());
        let mut m = format!("cosignature/v1\ntime {t}\n").into_bytes();
        m.extend_from_slice(msg);
        let s = ed25519_dalek::Signature::from_slice(&sig[8..]).unwrap();
        self.key.verify(&m, &s).is_ok()
    }
}

/// A cosignature/v1 signer for `signed_note`, written from the spec.
struct SpecCosignatureSigner {
    name: String,
    key: SigningKey,
    timestamp: u64,
}

impl SpecCosignatureSigner {
    fn vkey(&self) -> String {
        let raw = [&[4u8][..], self.key.verifying_key().as_bytes()].concat();
        format!(
            "{}+{:08x}+{}",
            self.name,
            signed_note::key_id(&self.name, &raw),
            B64.encode(&raw)
        )
    }
}

impl signed_note::Signer for SpecCosignatureSigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        let raw = [&[4u8][..], self.key.verifying_key().as_bytes()].concat();
        signed_note::key_id(&self.name, &raw)
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let mut m = format!("cosignature/v1\ntime {}\n", self.timestamp).into_bytes();
        m.extend_from_slice(msg);
        let sig = self.key.sign(&m);
        Ok([&self.timestamp.to_be_bytes()[..], &sig.to_bytes()].concat())
    }
}

fn our_witness(dir: &std::path::Path, seed: u8) -> api::Witness {
    let signer =
        verifier::WitnessSigner::new("witness.example/ours", SigningKey::from_bytes(&[seed; 32]))
            .unwrap();
    let log = VerifierKey::parse(&log_key().1).unwrap();
    api::Witness::new(signer, vec![log], dir.to_path_buf()).unwrap()
}

/// Our witness, fed checkpoints, trees and proofs made by `tlog_tiles` and `signed_note`: it
/// cosigns them, and `signed_note` (with the spec's cosignature verifier) accepts its
/// cosignatures next to the log's signature; a fork built by `tlog_tiles` is refused.
#[test]
fn our_witness_cosigns_cloudflare_built_checkpoints_and_signed_note_verifies_the_cosignatures() {
    let dir = tempfile::tempdir().unwrap();
    let w = our_witness(dir.path(), 21);
    let wvkey = w.signer().witness_key().to_string();
    let history = records("shared", 0, 9);
    let tree = Tree::of(&history);

    let note5 = their_checkpoint(&tree, 5);
    let line = w
        .add_checkpoint(format!("old 0\n\n{note5}").as_bytes(), 1_700_000_000)
        .unwrap();
    let note9 = their_checkpoint(&tree, 9);
    let proof = their_proof(&tree, 9, 5);
    let line9 = w
        .add_checkpoint(format!("old 5\n{proof}\n{note9}").as_bytes(), 1_700_000_001)
        .unwrap();

    for (note, line) in [(&note5, &line), (&note9, &line9)] {
        let cosigned = format!("{note}{line}");
        let parsed = Note::from_bytes(cosigned.as_bytes()).unwrap();
        let known = VerifierList::new(vec![
            Box::new(StandardVerifier::new(&log_key().1).unwrap()),
            Box::new(SpecCosignatureVerifier::from_vkey(&wvkey)),
        ]);
        let (verified, unverified) = parsed.verify(&known).unwrap();
        assert_eq!(verified.len(), 2, "the log's signature and the cosignature");
        assert!(unverified.is_empty());
        assert_eq!(verified[1].name(), "witness.example/ours");
        // Their checkpoint parser reads the cosigned note's text as it was.
        let cp = tlog_tiles::Checkpoint::from_bytes(parsed.text()).unwrap();
        assert_eq!(cp.origin(), ORIGIN);
    }

    // A fork built by tlog_tiles: the same first 7 records, then others; a valid proof within
    // the forked tree from the witness's size 9 to 12. Refused, never cosigned.
    let mut forked = history[..7].to_vec();
    forked.extend(records("fork", 7, 12));
    let fork = Tree::of(&forked);
    let r = w.add_checkpoint(
        format!(
            "old 9\n{}\n{}",
            their_proof(&fork, 12, 9),
            their_checkpoint(&fork, 12)
        )
        .as_bytes(),
        1_700_000_002,
    );
    assert!(
        matches!(r, Err(api::witness::AddCheckpointError::Inconsistent(_))),
        "{r:?}"
    );
}

/// Cosignatures made with `signed_note` (its `Note::add_sigs`, a spec-written cosignature signer)
/// on a checkpoint made by `tlog_tiles`: our `verify_cosigned` accepts them, counts distinct
/// witnesses, and refuses a wrong witness key and a tampered line.
#[test]
fn cosignatures_made_with_signed_note_verify_here() {
    let tree = Tree::of(&records("r", 0, 6));
    let note = their_checkpoint(&tree, 6);
    let w1 = SpecCosignatureSigner {
        name: "witness.example/a".into(),
        key: SigningKey::from_bytes(&[31; 32]),
        timestamp: 1_700_000_100,
    };
    let w2 = SpecCosignatureSigner {
        name: "witness.example/b".into(),
        key: SigningKey::from_bytes(&[32; 32]),
        timestamp: 1_700_000_200,
    };
    let mut parsed = Note::from_bytes(note.as_bytes()).unwrap();
    parsed.add_sigs(&[&w1, &w2]).unwrap();
    let cosigned = String::from_utf8(parsed.to_bytes()).unwrap();

    let log = VerifierKey::parse(&log_key().1).unwrap();
    let policy = |keys: &[&str], min| WitnessPolicy {
        witnesses: keys.iter().map(|k| WitnessKey::parse(k).unwrap()).collect(),
        min,
    };
    let got = verify_cosigned(&cosigned, &log, &policy(&[&w1.vkey(), &w2.vkey()], 2)).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].timestamp, 1_700_000_100);
    assert_eq!(got[1].witness, "witness.example/b");

    let wrong = SpecCosignatureSigner {
        name: "witness.example/a".into(),
        key: SigningKey::from_bytes(&[33; 32]),
        timestamp: 0,
    };
    assert!(matches!(
        verify_cosigned(&cosigned, &log, &policy(&[&wrong.vkey()], 1)),
        Err(CosignatureError::TooFewCosignatures { got: 0, need: 1 })
    ));

    // The same cosignature lines on another checkpoint of the log (size 5): they do not verify.
    let other = their_checkpoint(&tree, 5);
    let lines: String = cosigned
        .lines()
        .filter(|l| l.starts_with("— witness.example/"))
        .map(|l| format!("{l}\n"))
        .collect();
    let moved = format!("{other}{lines}");
    assert!(matches!(
        verify_cosigned(&moved, &log, &policy(&[&w1.vkey()], 1)),
        Err(CosignatureError::BadCosignature { .. })
    ));
}
