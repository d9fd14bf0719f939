//! Signed notes, vkeys, checkpoints and tlog-proofs against the C2SP examples in `testdata/`
//! and against notes and proofs we make, including tampered ones.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ledger::checkpoint::{Checkpoint, CheckpointError};
use ledger::merkle::{inclusion_proof, root};
use ledger::note::{sign_note, verify_note, KeyType, NoteError, NoteSigner, VerifierKey};
use ledger::tlog_proof::{TlogProof, TlogProofError};
use ledger::{leaf_hash, Digest, LeafIndex, ProofError, Sha256Log, TreeSize};

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(testdata(rel)).unwrap()
}

fn signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

/// Replaces the byte at `pos` with a different printable ASCII byte.
fn flip(s: &str, pos: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[pos] = if b[pos] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

/// A signature line by `name` with a random-looking key id and 64 bytes: a cosignature from a
/// key the verifier does not know.
fn foreign_sig_line(name: &str, seed: u8) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = (0..68u8)
        .map(|i| i.wrapping_mul(31).wrapping_add(seed))
        .collect();
    format!(
        "— {name} {}\n",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

// ---- signed notes and vkeys ----

#[test]
fn c2sp_spec_example_verifies() {
    let vkey_text = read("signed-note/c2sp-example.vkey");
    let vkey = VerifierKey::parse(vkey_text.trim_end()).unwrap();
    assert_eq!(vkey.name(), "example.com/foo");
    assert_eq!(vkey.key_id(), 0x530d903a);
    assert_eq!(vkey.key_type(), KeyType::Ed25519);
    assert_eq!(
        vkey.to_string(),
        vkey_text.trim_end(),
        "vkey prints as published"
    );

    let note = read("signed-note/c2sp-example.note");
    assert_eq!(
        verify_note(&note, &vkey).unwrap(),
        "This is an example message.\n"
    );
}

#[test]
fn c2sp_spec_example_with_any_flipped_byte_fails() {
    let vkey = VerifierKey::parse(read("signed-note/c2sp-example.vkey").trim_end()).unwrap();
    let note = read("signed-note/c2sp-example.note");
    // Bytes spread over the text and the signature's base64, one at a time (a sample: ed25519
    // in a debug build costs tens of milliseconds per verification).
    let sig_start = note.rfind(' ').unwrap() + 1;
    let positions = (0..27)
        .step_by(3)
        .chain((sig_start..note.len() - 2).step_by(7));
    let mut checked = 0;
    for pos in positions {
        let bad = flip(&note, pos);
        if bad == note {
            continue;
        }
        assert!(verify_note(&bad, &vkey).is_err(), "flip at {pos} verified");
        checked += 1;
    }
    assert!(checked > 20, "checked {checked} positions");
}

#[test]
fn vkey_parse_rejects_malformed_keys() {
    let good = read("signed-note/c2sp-example.vkey").trim_end().to_string();
    let cases = [
        ("example.com/foo", "no plus"),
        ("example.com/foo+530d903a", "one plus"),
        (
            "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "short id",
        ),
        ("example.com/foo+530d903a+!!!!", "bad base64"),
        (
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
            "bad length",
        ),
        (
            "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "empty name",
        ),
    ];
    for (text, why) in cases {
        assert!(VerifierKey::parse(text).is_err(), "{why}: {text}");
    }
    // Same key under another name: the id no longer matches.
    let renamed = good.replacen("example.com/foo", "example.com/bar", 1);
    assert!(matches!(
        VerifierKey::parse(&renamed),
        Err(NoteError::KeyIdMismatch { .. })
    ));
    // Type byte 0x02 (ECDSA) is not supported.
    let ecdsa = "example.com/foo+00000000+AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert!(matches!(
        VerifierKey::parse(ecdsa),
        Err(NoteError::UnsupportedKeyType(0x02))
    ));
}

#[test]
fn malformed_notes_are_rejected() {
    let s = signer("example.com/log", 7);
    let vkey = s.verifier_key();
    let note = s.sign("a\nb\n").unwrap();
    assert!(verify_note(&note, &vkey).is_ok());
    let sig_line = &note[note.find('—').unwrap()..];

    let no_blank = note.replacen("b\n\n", "b\n", 1);
    assert!(matches!(
        verify_note(&no_blank, &vkey),
        Err(NoteError::NoSeparator)
    ));
    let no_newline = note.trim_end_matches('\n');
    assert!(matches!(
        verify_note(no_newline, &vkey),
        Err(NoteError::NoTrailingNewline)
    ));
    let control = note.replacen('a', "\t", 1);
    assert!(matches!(
        verify_note(&control, &vkey),
        Err(NoteError::ControlCharacter)
    ));
    let bad_b64 = note.replacen(" ", " !", 1);
    assert!(verify_note(&bad_b64, &vkey).is_err());
    let no_dash = note.replacen("— ", "- ", 1);
    assert!(verify_note(&no_dash, &vkey).is_err());
    let no_sigs = "a\nb\n\n";
    assert!(verify_note(no_sigs, &vkey).is_err());

    // 101 signature lines: ours plus 100 unknown ones.
    let mut many = note.clone();
    for i in 0..100u8 {
        many.push_str(&foreign_sig_line("witness.example", i));
    }
    assert!(matches!(
        verify_note(&many, &vkey),
        Err(NoteError::TooManySignatures)
    ));
    // 16 signatures must be accepted (the spec's minimum).
    let mut sixteen = note.clone();
    for i in 0..15u8 {
        sixteen.push_str(&foreign_sig_line("witness.example", i));
    }
    assert!(verify_note(&sixteen, &vkey).is_ok());
    assert!(sig_line.ends_with('\n'));
}

#[test]
fn unknown_signatures_are_ignored_but_a_bad_one_by_our_key_rejects() {
    let s = signer("example.com/log", 8);
    let vkey = s.verifier_key();
    let note = s.sign("hello\n").unwrap();

    // A foreign cosignature before and after ours, and one sharing our name but not our id.
    let (text, sig) = note.split_at(note.find('—').unwrap());
    let with_foreign = format!(
        "{text}{}{sig}{}{}",
        foreign_sig_line("witness.example/w1", 1),
        foreign_sig_line("witness.example/w2", 2),
        foreign_sig_line("example.com/log", 3),
    );
    assert_eq!(verify_note(&with_foreign, &vkey).unwrap(), "hello\n");

    // A signature line with our name and key id but a wrong signature: reject the note.
    let other = signer("example.com/log", 9).sign("hello\n").unwrap();
    let other_sig = &other[other.find('—').unwrap()..];
    let forged_b64 = {
        use base64::Engine as _;
        let b64 = other_sig.trim_end().rsplit(' ').next().unwrap();
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        raw[..4].copy_from_slice(&vkey.key_id().to_be_bytes());
        base64::engine::general_purpose::STANDARD.encode(raw)
    };
    // Checked where it stands: alone, or before the good one. (A repeat of a key after its good
    // signature is skipped, as in Go's sumdb/note and the signed_note crate.)
    let forged_line = format!("— example.com/log {forged_b64}\n");
    let forged_alone = format!("{text}{forged_line}");
    let forged_first = format!("{text}{forged_line}{sig}");
    for forged in [forged_alone, forged_first] {
        assert!(matches!(
            verify_note(&forged, &vkey),
            Err(NoteError::BadSignature { .. })
        ));
    }

    // Only unknown signatures: not signed.
    let only_foreign = format!("{text}{}", foreign_sig_line("witness.example/w1", 1));
    assert!(matches!(
        verify_note(&only_foreign, &vkey),
        Err(NoteError::NotSigned { .. })
    ));
}

#[test]
fn sign_note_is_deterministic_and_matches_the_spec_layout() {
    let s = signer("example.com/log", 10);
    let a = sign_note("x\n", &s).unwrap();
    assert_eq!(a, sign_note("x\n", &s).unwrap());
    assert!(a.starts_with("x\n\n— example.com/log "));
    assert!(a.ends_with('\n'));
    assert_eq!(a.lines().count(), 3);
}

// ---- checkpoints ----

fn sample_checkpoint(origin: &str, size: u64) -> Checkpoint {
    let leaves: Vec<Digest> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    Checkpoint {
        origin: origin.to_string(),
        size: TreeSize(size),
        root: root::<Sha256Log>(&leaves),
    }
}

#[test]
fn checkpoint_body_round_trips_and_has_no_extensions() {
    let c = sample_checkpoint("example.com/log", 5);
    let body = c.to_body();
    assert_eq!(body.lines().count(), 3);
    assert_eq!(Checkpoint::parse_body(&body).unwrap(), c);
    let with_ext = format!("{body}ext one\nx\n");
    let (c2, ext) = Checkpoint::parse_body_with_extensions(&with_ext).unwrap();
    assert_eq!((c2, ext), (c.clone(), vec!["ext one", "x"]));

    let bad = [
        ("example.com/log\n5\n", "two lines"),
        ("example.com/log\n05\nAAAA\n", "leading zero"),
        (
            "\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
            "empty origin",
        ),
        (
            "o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "no final newline",
        ),
        ("o\n5\nZG9uJ3QgY2FyZSAx\n", "short root"),
        (
            "o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\next\n",
            "empty extension",
        ),
        (
            "o\n-5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
            "negative size",
        ),
    ];
    for (text, why) in bad {
        assert!(Checkpoint::parse_body(text).is_err(), "{why}");
    }
}

#[test]
fn checkpoint_sign_and_verify() {
    let s = signer("example.com/log", 11);
    let c = sample_checkpoint("example.com/log", 9);
    let note = c.sign(&s).unwrap();
    assert_eq!(Checkpoint::verify(&note, &s.verifier_key()).unwrap(), c);

    // Cosignature lines from unknown witnesses do not matter.
    let cosigned = format!(
        "{note}{}{}",
        foreign_sig_line("witness.example/w1", 1),
        foreign_sig_line("witness.example/w2", 2)
    );
    assert_eq!(Checkpoint::verify(&cosigned, &s.verifier_key()).unwrap(), c);

    // Another size under the same signature fails.
    let tampered = note.replacen("\n9\n", "\n10\n", 1);
    assert!(matches!(
        Checkpoint::verify(&tampered, &s.verifier_key()),
        Err(CheckpointError::Note(NoteError::BadSignature { .. }))
    ));
}

#[test]
fn checkpoint_with_origin_other_than_key_name_is_rejected() {
    let s = signer("example.com/log", 12);
    // A validly signed note whose origin line names another log.
    let body = sample_checkpoint("example.com/other-log", 3).to_body();
    let note = sign_note(&body, &s).unwrap();
    assert!(verify_note(&note, &s.verifier_key()).is_ok());
    assert!(matches!(
        Checkpoint::verify(&note, &s.verifier_key()),
        Err(CheckpointError::OriginMismatch { .. })
    ));
}

#[test]
fn checkpoint_with_extension_lines_verifies() {
    let s = signer("example.com/log", 13);
    let body = format!(
        "{}opaque extension\n",
        sample_checkpoint("example.com/log", 4).to_body()
    );
    let note = sign_note(&body, &s).unwrap();
    let c = Checkpoint::verify(&note, &s.verifier_key()).unwrap();
    assert_eq!(c, sample_checkpoint("example.com/log", 4));
}

/// The real checkpoint of `testdata/tlog-tiles-300` (the one in the hashed folder). It carries
/// one signature: a `cosignature/v1` (type 0x04) by the mirror key in `mirror.v0.json`, not a log
/// signature, so it is checked with `verify_note` and that key; `Checkpoint::verify` refuses it
/// because a witness's name is not the log's origin.
#[test]
fn tlog_tiles_300_checkpoint_is_cosigned_by_the_mirror_key() {
    let dir = "tlog-tiles-300/000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706";
    let note = read(&format!("{dir}/checkpoint"));
    let mirror: serde_json::Value =
        serde_json::from_str(&read("tlog-tiles-300/mirror.v0.json")).unwrap();
    let vkey = VerifierKey::parse(mirror["verifier_keys"][0].as_str().unwrap()).unwrap();
    assert_eq!(vkey.key_type(), KeyType::CosignatureV1);
    assert_eq!(vkey.name(), "mirror.example.org");

    let text = verify_note(&note, &vkey).unwrap();
    let c = Checkpoint::parse_body(&text).unwrap();
    assert_eq!(c.origin, "rome2026h1.example.org");
    assert_eq!(c.size, TreeSize(300));
    assert!(matches!(
        Checkpoint::verify(&note, &vkey),
        Err(CheckpointError::OriginMismatch { .. })
    ));
    let sig_start = note.rfind(' ').unwrap() + 1;
    assert!(verify_note(&flip(&note, sig_start + 20), &vkey).is_err());
    assert!(verify_note(&note.replacen("300", "301", 1), &vkey).is_err());

    // The root agrees with the level-0 hash tiles (256 + 44 leaf hashes).
    let mut tiles = std::fs::read(testdata(&format!("{dir}/tile/0/000"))).unwrap();
    tiles.extend(std::fs::read(testdata(&format!("{dir}/tile/0/001.p/44"))).unwrap());
    let leaves: Vec<Digest> = tiles
        .chunks(32)
        .map(|h| Digest::from_slice(h).unwrap())
        .collect();
    assert_eq!(leaves.len(), 300);
    assert_eq!(root::<Sha256Log>(&leaves), c.root);
}

// ---- tlog-proofs ----

struct Log {
    signer: NoteSigner,
    entries: Vec<Vec<u8>>,
    leaves: Vec<Digest>,
}

impl Log {
    fn new(n: usize) -> Self {
        let entries: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {i}").into_bytes()).collect();
        let leaves = entries.iter().map(|e| leaf_hash(e)).collect();
        Log {
            signer: signer("example.com/proof-log", 20),
            entries,
            leaves,
        }
    }

    fn proof(&self, i: usize, extra: Option<Vec<u8>>) -> TlogProof {
        let checkpoint = Checkpoint {
            origin: self.signer.name().to_string(),
            size: TreeSize(self.leaves.len() as u64),
            root: root::<Sha256Log>(&self.leaves),
        };
        TlogProof {
            extra,
            index: LeafIndex(i as u64),
            proof: inclusion_proof::<Sha256Log>(&self.leaves, LeafIndex(i as u64)).unwrap(),
            checkpoint: checkpoint.sign(&self.signer).unwrap(),
        }
    }
}

#[test]
fn tlog_proof_round_trips_and_verifies_for_every_leaf() {
    let log = Log::new(13);
    let vkey = log.signer.verifier_key();
    for i in 0..13 {
        let p = log.proof(i, None);
        let text = p.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex "));
        let back = TlogProof::parse(&text).unwrap();
        assert_eq!(back, p);
        let c = back.verify(&vkey, &log.entries[i]).unwrap();
        assert_eq!(c.size, TreeSize(13));
        // Another entry's bytes do not verify at this index.
        let other = &log.entries[(i + 1) % 13];
        assert!(matches!(
            back.verify(&vkey, other),
            Err(TlogProofError::Inclusion(ProofError::RootMismatch))
        ));
    }
}

#[test]
fn tlog_proof_extra_line_round_trips_and_is_not_trusted() {
    let log = Log::new(6);
    let p = log.proof(4, Some(b"context hint".to_vec()));
    let text = p.to_text();
    assert_eq!(text.lines().nth(1), Some("extra Y29udGV4dCBoaW50"));
    let back = TlogProof::parse(&text).unwrap();
    assert_eq!(back, p);
    // The extra data is not authenticated: changing it does not change the verdict.
    let changed = text.replacen("extra Y29udGV4dCBoaW50", "extra b3RoZXI=", 1);
    let changed = TlogProof::parse(&changed).unwrap();
    assert_eq!(changed.extra.as_deref(), Some(&b"other"[..]));
    assert!(changed
        .verify(&log.signer.verifier_key(), &log.entries[4])
        .is_ok());
}

#[test]
fn tampered_tlog_proofs_fail() {
    let log = Log::new(21);
    let vkey = log.signer.verifier_key();
    let entry = &log.entries[10];
    let good = log.proof(10, None);
    assert!(good.verify(&vkey, entry).is_ok());

    let mut wrong_index = good.clone();
    wrong_index.index = LeafIndex(11);
    assert!(wrong_index.verify(&vkey, entry).is_err());

    let mut out_of_range = good.clone();
    out_of_range.index = LeafIndex(21);
    assert!(matches!(
        out_of_range.verify(&vkey, entry),
        Err(TlogProofError::Inclusion(
            ProofError::IndexOutOfRange { .. }
        ))
    ));

    for k in 0..good.proof.len() {
        let mut bad = good.clone();
        bad.proof[k].0[7] ^= 1;
        assert!(bad.verify(&vkey, entry).is_err(), "hash {k} flipped");
    }

    let mut short = good.clone();
    short.proof.pop();
    assert!(matches!(
        short.verify(&vkey, entry),
        Err(TlogProofError::Inclusion(ProofError::WrongLength))
    ));
    let mut long = good.clone();
    long.proof.push(Digest([0; 32]));
    assert!(long.verify(&vkey, entry).is_err());

    let mut resized = good.clone();
    resized.checkpoint = resized.checkpoint.replacen("\n21\n", "\n22\n", 1);
    assert!(matches!(
        resized.verify(&vkey, entry),
        Err(TlogProofError::Checkpoint(CheckpointError::Note(
            NoteError::BadSignature { .. }
        )))
    ));

    let stranger = signer("example.com/proof-log", 21).verifier_key();
    assert!(matches!(
        good.verify(&stranger, entry),
        Err(TlogProofError::Checkpoint(CheckpointError::Note(
            NoteError::NotSigned { .. }
        )))
    ));

    // Text-level damage.
    let text = good.to_text();
    let no_blank = text.replacen("\n\nexample.com", "\nexample.com", 1);
    assert!(TlogProof::parse(&no_blank).is_err());
    let bad_hash_line = {
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines[2] = "ZG9uJ3QgY2FyZSAx";
        lines.join("\n")
    };
    assert!(matches!(
        TlogProof::parse(&bad_hash_line),
        Err(TlogProofError::InvalidHash { line: 3 })
    ));
    let no_index = text.replacen("index 10\n", "", 1);
    assert!(matches!(
        TlogProof::parse(&no_index),
        Err(TlogProofError::InvalidIndex)
    ));
}

#[test]
fn tlog_proof_with_cosignatures_and_empty_path_verifies() {
    // A one-entry log: the path is empty and the proof has no hash lines at all.
    let log = Log::new(1);
    let mut p = log.proof(0, None);
    assert!(p.proof.is_empty());
    p.checkpoint
        .push_str(&foreign_sig_line("witness.example/w1", 5));
    let back = TlogProof::parse(&p.to_text()).unwrap();
    assert_eq!(back, p);
    assert!(back
        .verify(&log.signer.verifier_key(), &log.entries[0])
        .is_ok());
}

// ---- properties: round trips, and parsers that never panic ----

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn digest() -> impl Strategy<Value = Digest> {
        any::<[u8; 32]>().prop_map(Digest)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn tlog_proof_text_round_trips(
            extra in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            index in any::<u64>(),
            proof in proptest::collection::vec(digest(), 0..64),
            checkpoint in "[a-z./]{1,20}\n[0-9]{1,5}\n\n— [a-z]{1,8} [A-Za-z0-9+/]{4,8}\n",
        ) {
            let p = TlogProof { extra, index: LeafIndex(index), proof, checkpoint };
            prop_assert_eq!(TlogProof::parse(&p.to_text()).unwrap(), p);
        }

        #[test]
        fn checkpoint_body_round_trips(
            origin in "[a-zA-Z0-9./_-]{1,40}",
            size in any::<u64>(),
            root in digest(),
        ) {
            let c = Checkpoint { origin, size: TreeSize(size), root };
            prop_assert_eq!(Checkpoint::parse_body(&c.to_body()).unwrap(), c);
        }

        #[test]
        fn parsers_never_panic(text in "(?s).{0,300}") {
            let key = fixture().0.signer.verifier_key();
            let _ = TlogProof::parse(&text);
            let _ = Checkpoint::parse_body(&text);
            let _ = Checkpoint::verify(&text, &key);
            let _ = VerifierKey::parse(&text);
        }
    }

    /// One signed proof for all cases: signing in a debug build is slow.
    fn fixture() -> &'static (Log, String) {
        static FIXTURE: std::sync::OnceLock<(Log, String)> = std::sync::OnceLock::new();
        FIXTURE.get_or_init(|| {
            let log = Log::new(5);
            let text = log.proof(3, None).to_text();
            (log, text)
        })
    }

    proptest! {
        // Each case verifies an Ed25519 signature (tens of ms unoptimised).
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any one character of a valid proof file replaced by another: it must not verify.
        #[test]
        fn any_substituted_character_breaks_a_tlog_proof(
            pos in any::<prop::sample::Index>(),
            replacement in prop::char::range('\n', '~'),
        ) {
            let (log, text) = fixture();
            let chars: Vec<char> = text.chars().collect();
            let at = pos.index(chars.len());
            prop_assume!(chars[at] != replacement);
            let mut bad = chars.clone();
            bad[at] = replacement;
            let bad: String = bad.into_iter().collect();
            let verdict = TlogProof::parse(&bad)
                .map_err(|e| e.to_string())
                .and_then(|p| {
                    p.verify(&log.signer.verifier_key(), &log.entries[3])
                        .map_err(|e| e.to_string())
                });
            prop_assert!(verdict.is_err(), "substituting {:?} at {} verified", replacement, at);
        }

    }
}
