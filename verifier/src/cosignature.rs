//! C2SP tlog-cosignature v1 (<https://c2sp.org/tlog-cosignature>): a witness's timestamped
//! Ed25519 statement that a checkpoint is the largest consistent tree it has seen of a log, and
//! the k-of-n policy a verifier applies to a checkpoint's cosignatures.
//!
//! A cosignature is one signed-note signature line on the checkpoint:
//!
//! ```text
//! — <witness name> base64(key id (4) || timestamp (u64 BE, 8) || Ed25519 signature (64))
//! ```
//!
//! where the key id is `SHA-256(name || "\n" || 0x04 || public key)[:4]` and the signature is
//! over `"cosignature/v1\ntime <timestamp>\n" || checkpoint body` (the note text with its final
//! newline, without any signature line). The witness's public key is published as a vkey with
//! signature type 0x04: `name+keyid+base64(0x04 || public key)` ([`WitnessKey`]).
//!
//! Deliberately not here: the ML-DSA-44 (0x06) cosignatures and subtree signing, which this
//! project's witnesses do not make; and any I/O: the witness server (its state and HTTP) is
//! `prov witness serve` in crate `cli`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::note::{self, KeyType, NoteError, VerifierKey};

/// The domain-separation header line of a v1 cosignature's signed message.
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1";

/// Why a cosignature, a witness key or a cosigned checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    #[error("{0} is not a witness key (signature type 0x04, cosignature/v1)")]
    NotWitnessKey(String),
    #[error("cosignature timestamp {0} is over 2^63 - 1")]
    TimestampOutOfRange(u64),
    #[error("malformed cosignature line")]
    MalformedLine,
    #[error("cosignature by {name}+{id:08x} does not verify")]
    BadCosignature { name: String, id: u32 },
    #[error("{got} valid cosignature(s) from distinct listed witnesses, {need} required")]
    TooFewCosignatures { got: usize, need: usize },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A witness's public key: a vkey of signature type 0x04 (`cosignature/v1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessKey(VerifierKey);

impl WitnessKey {
    /// Parses a witness vkey (`name+keyid+base64(0x04 || key)`); a log key (type 0x01) is refused,
    /// so a log's own signature can never be counted as a witness's.
    pub fn parse(vkey: &str) -> Result<Self, CosignatureError> {
        Self::try_from(VerifierKey::parse(vkey)?)
    }

    pub fn name(&self) -> &str {
        self.0.name()
    }

    pub fn key_id(&self) -> u32 {
        self.0.key_id()
    }

    /// The verifier key, which verifies this witness's signature lines in a note.
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.0
    }
}

impl TryFrom<VerifierKey> for WitnessKey {
    type Error = CosignatureError;
    fn try_from(key: VerifierKey) -> Result<Self, Self::Error> {
        match key.key_type() {
            KeyType::CosignatureV1 => Ok(WitnessKey(key)),
            _ => Err(CosignatureError::NotWitnessKey(key.to_string())),
        }
    }
}

impl fmt::Display for WitnessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for WitnessKey {
    type Err = CosignatureError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A witness's signing key with its name: what `prov witness serve` cosigns with.
#[derive(Clone)]
pub struct WitnessSigner {
    public: WitnessKey,
    key: SigningKey,
}

impl fmt::Debug for WitnessSigner {
    /// Never prints the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WitnessSigner({}+{:08x})", self.name(), self.key_id())
    }
}

impl WitnessSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, CosignatureError> {
        let public = VerifierKey::new(name, KeyType::CosignatureV1, key.verifying_key())?;
        Ok(WitnessSigner {
            public: WitnessKey(public),
            key,
        })
    }

    pub fn name(&self) -> &str {
        self.public.name()
    }

    pub fn key_id(&self) -> u32 {
        self.public.key_id()
    }

    /// The public half, to publish as a vkey.
    pub fn witness_key(&self) -> WitnessKey {
        self.public.clone()
    }

    /// The cosignature of `body` (a checkpoint's note text, ending in a newline, without its
    /// signatures) at `timestamp` (POSIX seconds): one signature line ending in a newline.
    pub fn cosign(&self, body: &str, timestamp: u64) -> Result<String, CosignatureError> {
        if timestamp > i64::MAX as u64 {
            return Err(CosignatureError::TimestampOutOfRange(timestamp));
        }
        if !body.ends_with('\n') {
            return Err(NoteError::NoTrailingNewline.into());
        }
        let sig = self.key.sign(&signed_message(body, timestamp));
        let mut raw = Vec::with_capacity(4 + 8 + 64);
        raw.extend_from_slice(&self.key_id().to_be_bytes());
        raw.extend_from_slice(&timestamp.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "— {} {}\n",
            self.name(),
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }
}

/// The message a v1 cosignature signs: `cosignature/v1\ntime <t>\n` and the checkpoint body.
pub fn signed_message(body: &str, timestamp: u64) -> Vec<u8> {
    let mut msg = format!("{COSIGNATURE_V1_HEADER}\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(body.as_bytes());
    msg
}

/// One valid cosignature: which witness, and when it says it saw the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's name (its key name).
    pub witness: String,
    pub key_id: u32,
    /// POSIX seconds.
    pub timestamp: u64,
}

/// Which witnesses a verifier trusts, and how many of them must have cosigned a checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WitnessPolicy {
    pub witnesses: Vec<WitnessKey>,
    /// The least number of distinct listed witnesses with a valid cosignature. 0 asks for none.
    pub min: usize,
}

/// Verifies a checkpoint note with the log's key and the policy's witnesses: the log's signature
/// must verify (as [`Checkpoint::verify`]), and at least `policy.min` distinct listed witness
/// keys must have a valid cosignature on it. Returns the valid cosignatures of listed witnesses
/// (each key once).
///
/// Signature lines of keys that are not listed are ignored, as the signed-note spec requires; a
/// line that names a listed witness key (same name and key id) but does not verify rejects the
/// note, as a signed note with a bad signature from a known key is malformed. A witness listed
/// twice counts once.
pub fn verify_cosigned(
    note_text: &str,
    log_key: &VerifierKey,
    policy: &WitnessPolicy,
) -> Result<Vec<Cosignature>, CosignatureError> {
    Checkpoint::verify(note_text, log_key)?;
    let cosignatures = cosignatures(note_text, &policy.witnesses)?;
    if cosignatures.len() < policy.min {
        return Err(CosignatureError::TooFewCosignatures {
            got: cosignatures.len(),
            need: policy.min,
        });
    }
    Ok(cosignatures)
}

/// The valid cosignatures in `note_text` by keys in `witnesses`, each key once, in the order of
/// the note's lines. Does not check the log's signature (see [`verify_cosigned`]).
pub fn cosignatures(
    note_text: &str,
    witnesses: &[WitnessKey],
) -> Result<Vec<Cosignature>, CosignatureError> {
    let (text, _) = note::split_note(note_text)?;
    // The structural checks of the signed-note spec (every signature line well formed, at most
    // 100 of them), by the same parser the log's signature is checked with.
    signed_note::Note::from_bytes(note_text.as_bytes())
        .map_err(|_| CosignatureError::Note(NoteError::Malformed))?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for line in note_text[text.len() + 1..].lines() {
        let sig = signed_note::Signature::from_bytes(line.as_bytes())
            .map_err(|_| CosignatureError::MalformedLine)?;
        let Some(w) = witnesses
            .iter()
            .find(|w| w.name() == sig.name() && w.key_id() == sig.id())
        else {
            continue;
        };
        if !seen.insert((sig.name().to_string(), sig.id())) {
            continue;
        }
        let timestamp = verify_one(w, text, sig.signature()).ok_or_else(|| {
            CosignatureError::BadCosignature {
                name: sig.name().to_string(),
                id: sig.id(),
            }
        })?;
        out.push(Cosignature {
            witness: w.name().to_string(),
            key_id: w.key_id(),
            timestamp,
        });
    }
    Ok(out)
}

/// Appends signature lines (a witness's `add-checkpoint` answer) to a signed note.
pub fn add_signature_lines(note_text: &str, lines: &str) -> String {
    let mut out = String::with_capacity(note_text.len() + lines.len());
    out.push_str(note_text);
    out.push_str(lines);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The timestamp of a valid cosignature of `text` by `w`, or None.
fn verify_one(w: &WitnessKey, text: &str, sig: &[u8]) -> Option<u64> {
    let (ts, sig) = sig.split_first_chunk::<8>()?;
    let timestamp = u64::from_be_bytes(*ts);
    if timestamp > i64::MAX as u64 {
        return None;
    }
    let sig = ed25519_dalek::Signature::from_slice(sig).ok()?;
    w.0.verifying_key()
        .verify(&signed_message(text, timestamp), &sig)
        .ok()?;
    Some(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::NoteSigner;
    use crate::types::{Digest, TreeSize};

    fn log() -> NoteSigner {
        NoteSigner::new("example.com/log", SigningKey::from_bytes(&[1; 32])).unwrap()
    }

    fn witness(name: &str, seed: u8) -> WitnessSigner {
        WitnessSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    fn checkpoint_note() -> String {
        Checkpoint {
            origin: "example.com/log".into(),
            size: TreeSize(5),
            root: Digest([7; 32]),
        }
        .sign(&log())
        .unwrap()
    }

    fn body(note: &str) -> &str {
        note::split_note(note).unwrap().0
    }

    fn policy(ws: &[&WitnessSigner], min: usize) -> WitnessPolicy {
        WitnessPolicy {
            witnesses: ws.iter().map(|w| w.witness_key()).collect(),
            min,
        }
    }

    #[test]
    fn witness_key_round_trips_with_type_0x04_and_the_spec_key_id() {
        let w = witness("witness.example/w1", 9);
        let vkey = w.witness_key().to_string();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(vkey.rsplit('+').next().unwrap())
            .unwrap();
        assert_eq!(raw[0], 0x04);
        // SHA-256(name || "\n" || 0x04 || key)[:4], computed here from the spec's text.
        let mut h = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut h, b"witness.example/w1\n\x04");
        sha2::Digest::update(&mut h, &raw[1..]);
        let d = sha2::Digest::finalize(h);
        assert_eq!(w.key_id(), u32::from_be_bytes([d[0], d[1], d[2], d[3]]));
        assert_eq!(WitnessKey::parse(&vkey).unwrap(), w.witness_key());
        // A log key is not a witness key.
        assert!(matches!(
            WitnessKey::parse(&log().verifier_key().to_string()),
            Err(CosignatureError::NotWitnessKey(_))
        ));
    }

    #[test]
    fn cosign_then_verify_with_many_signature_lines() {
        let (w1, w2, other) = (
            witness("w1.example", 2),
            witness("w2.example", 3),
            witness("x", 4),
        );
        let mut note = checkpoint_note();
        for (w, t) in [(&other, 10), (&w1, 1_700_000_000), (&w2, 1_700_000_001)] {
            let line = w.cosign(body(&note), t).unwrap();
            note = add_signature_lines(&note, &line);
        }
        let got = verify_cosigned(&note, &log().verifier_key(), &policy(&[&w1, &w2], 2)).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].timestamp, 1_700_000_000);
        assert_eq!(got[1].witness, "w2.example");
        // The log's signature still verifies with the cosignatures in the note.
        assert!(Checkpoint::verify(&note, &log().verifier_key()).is_ok());
        // An unlisted witness is ignored, never counted.
        assert!(matches!(
            verify_cosigned(&note, &log().verifier_key(), &policy(&[&w1], 2)),
            Err(CosignatureError::TooFewCosignatures { got: 1, need: 2 })
        ));
    }

    #[test]
    fn one_witness_signing_twice_counts_once() {
        let w1 = witness("w1.example", 2);
        let mut note = checkpoint_note();
        let a = w1.cosign(body(&note), 1).unwrap();
        let b = w1.cosign(body(&note), 2).unwrap();
        note = add_signature_lines(&note, &(a + &b));
        let mut p = policy(&[&w1, &w1], 2);
        assert!(matches!(
            verify_cosigned(&note, &log().verifier_key(), &p),
            Err(CosignatureError::TooFewCosignatures { got: 1, need: 2 })
        ));
        p.min = 1;
        assert_eq!(
            verify_cosigned(&note, &log().verifier_key(), &p)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_cosignature_of_another_checkpoint_is_refused() {
        let w1 = witness("w1.example", 2);
        let note = checkpoint_note();
        let other_body = "example.com/log\n6\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n";
        let line = w1.cosign(other_body, 1).unwrap();
        let note = add_signature_lines(&note, &line);
        assert!(matches!(
            verify_cosigned(&note, &log().verifier_key(), &policy(&[&w1], 1)),
            Err(CosignatureError::BadCosignature { .. })
        ));
    }

    #[test]
    fn a_cosignature_with_a_changed_timestamp_is_refused() {
        let w1 = witness("w1.example", 2);
        let note = checkpoint_note();
        let line = w1.cosign(body(&note), 100).unwrap();
        let (head, b64) = line.trim_end().rsplit_once(' ').unwrap();
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        raw[11] ^= 1; // the last byte of the timestamp
        let forged = format!(
            "{head} {}\n",
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        let note = add_signature_lines(&note, &forged);
        assert!(matches!(
            verify_cosigned(&note, &log().verifier_key(), &policy(&[&w1], 1)),
            Err(CosignatureError::BadCosignature { .. })
        ));
    }

    #[test]
    fn the_log_signature_is_still_required() {
        let w1 = witness("w1.example", 2);
        let note = checkpoint_note();
        let note = add_signature_lines(&note, &w1.cosign(body(&note), 1).unwrap());
        let wrong_log = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[8; 32]))
            .unwrap()
            .verifier_key();
        assert!(matches!(
            verify_cosigned(&note, &wrong_log, &policy(&[&w1], 1)),
            Err(CosignatureError::Checkpoint(_))
        ));
    }

    #[test]
    fn timestamps_over_2_63_are_refused() {
        assert!(matches!(
            witness("w", 1).cosign("a\n", u64::MAX),
            Err(CosignatureError::TimestampOutOfRange(_))
        ));
    }

    /// The worked example of docs/formats.md ("Witness cosignatures"), kept true here.
    #[test]
    fn docs_formats_worked_example() {
        let w = witness("witness.example/w1", 0x42);
        let body = "example.com/log\n5\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n";
        let line = w.cosign(body, 1_700_000_000).unwrap();
        let docs = include_str!("../../docs/formats.md");
        assert!(
            docs.contains(&w.witness_key().to_string()),
            "docs/formats.md lacks the vkey {}",
            w.witness_key()
        );
        assert!(
            docs.contains(line.trim_end()),
            "docs/formats.md lacks the line {line}"
        );
        assert_eq!(
            String::from_utf8(signed_message(body, 1_700_000_000)).unwrap(),
            "cosignature/v1\ntime 1700000000\nexample.com/log\n5\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n"
        );
    }
}
