//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys, and the C2SP verifier
//! key text form ("vkey", `name+keyid+base64(type || public key)`).
//!
//! Parsing and the signature-matching rules come from the `signed_note` crate (cloudflare/azul, a
//! port of Go's `sumdb/note`): signatures are matched to a key by name *and* key id, unknown
//! signatures are ignored, a signature from the known key that fails to verify rejects the whole
//! note. This module adds the key types the ledger needs, precise errors for the common ways a
//! note is malformed, and Ed25519 witness cosignatures (`cosignature/v1`, signature type 0x04,
//! <https://c2sp.org/tlog-cosignature>) so a verifier can also check a witness's view of a log.
//!
//! Deliberately not here: other signature types (ECDSA, ML-DSA) and trust policies (quorums of
//! witnesses); a caller verifies with one key at a time.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// The most signature lines accepted in one note. The spec requires at least 16; the
/// `signed_note` crate, like Go, refuses more than 100, and so do we.
pub const MAX_SIGNATURES: usize = 100;

/// The largest note accepted, in bytes (the `signed_note` crate's limit).
pub const MAX_NOTE_BYTES: usize = 1_000_000;

/// Why a key or a note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    #[error("malformed verifier key: {0}")]
    MalformedKey(&'static str),
    #[error("unsupported signature type {0:#04x}")]
    UnsupportedKeyType(u8),
    #[error("key id {got:08x} does not match the key (expected {want:08x})")]
    KeyIdMismatch { got: u32, want: u32 },
    #[error("invalid key name {0:?}: must be non-empty, without spaces or '+'")]
    InvalidName(String),
    #[error("note is larger than {MAX_NOTE_BYTES} bytes")]
    TooLarge,
    #[error("note contains a control character other than newline")]
    ControlCharacter,
    #[error("note does not end with a newline")]
    NoTrailingNewline,
    #[error("note has no blank line before its signatures")]
    NoSeparator,
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("malformed signature line or note text")]
    Malformed,
    #[error("signature by {name}+{id:08x} does not verify")]
    BadSignature { name: String, id: u32 },
    #[error("note has no signature by {name}+{id:08x}")]
    NotSigned { name: String, id: u32 },
    #[error("signing failed")]
    Signing,
}

/// What a key signs, by its C2SP signature type byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// 0x01: Ed25519 over the note text. Logs sign checkpoints with this.
    Ed25519,
    /// 0x04: timestamped Ed25519 witness cosignature over `cosignature/v1\ntime T\n` + text.
    CosignatureV1,
}

impl KeyType {
    /// The signature type identifier byte of the signed-note spec.
    pub fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::CosignatureV1 => 0x04,
        }
    }

    fn from_byte(b: u8) -> Result<Self, NoteError> {
        match b {
            0x01 => Ok(KeyType::Ed25519),
            0x04 => Ok(KeyType::CosignatureV1),
            other => Err(NoteError::UnsupportedKeyType(other)),
        }
    }
}

/// A public key that verifies note signatures, as published in vkey form
/// (`example.com/log+1a2b3c4d+AX...`). Parsing checks the key id against the key, so a vkey with
/// a mistyped id is refused instead of silently never matching any signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_type: KeyType,
    key: VerifyingKey,
    key_id: u32,
}

impl VerifierKey {
    /// The verifier key of an Ed25519 log key named `name`.
    pub fn ed25519(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        Self::new(name, KeyType::Ed25519, key)
    }

    pub(crate) fn new(name: &str, key_type: KeyType, key: VerifyingKey) -> Result<Self, NoteError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(NoteError::InvalidName(name.to_string()));
        }
        Ok(VerifierKey {
            key_id: key_id(name, key_type, &key),
            name: name.to_string(),
            key_type,
            key,
        })
    }

    /// Parses `name+keyid+base64(type || public key)`.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, rest) = vkey
            .split_once('+')
            .ok_or(NoteError::MalformedKey("expected name+keyid+key"))?;
        let (id_hex, key_b64) = rest
            .split_once('+')
            .ok_or(NoteError::MalformedKey("expected name+keyid+key"))?;
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NoteError::MalformedKey("key id must be 8 hex digits"));
        }
        let got = u32::from_str_radix(id_hex, 16)
            .map_err(|_| NoteError::MalformedKey("key id must be 8 hex digits"))?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(key_b64)
            .map_err(|_| NoteError::MalformedKey("key is not base64"))?;
        let (&type_byte, public) = raw
            .split_first()
            .ok_or(NoteError::MalformedKey("empty key"))?;
        let key_type = KeyType::from_byte(type_byte)?;
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| NoteError::MalformedKey("ed25519 key must be 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| NoteError::MalformedKey("not an ed25519 point"))?;
        let parsed = Self::new(name, key_type, key)?;
        if parsed.key_id != got {
            return Err(NoteError::KeyIdMismatch {
                got,
                want: parsed.key_id,
            });
        }
        Ok(parsed)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `SHA-256(name || 0x0A || type || public key)[:4]`, big-endian.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.key_type.byte());
        raw.extend_from_slice(self.key.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        write!(f, "{}+{:08x}+{}", self.name, self.key_id, b64)
    }
}

impl FromStr for VerifierKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// An Ed25519 note signing key with its name: what a log signs its checkpoints with.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    /// Never prints the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSigner({}+{:08x})", self.name, self.key_id)
    }
}

impl NoteSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        let vkey = VerifierKey::ed25519(name, key.verifying_key())?;
        Ok(NoteSigner {
            name: vkey.name,
            key_id: vkey.key_id,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The public half, to publish as a vkey.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_type: KeyType::Ed25519,
            key: self.key.verifying_key(),
            key_id: self.key_id,
        }
    }

    /// Signs `text` (which must end in a newline) and returns the signed note.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        sign_note(text, self)
    }
}

impl signed_note::Signer for NoteSigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.key_id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.sign(msg).to_vec())
    }
}

impl signed_note::Verifier for VerifierKey {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.key_id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self.key_type {
            KeyType::Ed25519 => {
                let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
                    return false;
                };
                self.key.verify(msg, &sig).is_ok()
            }
            KeyType::CosignatureV1 => verify_cosignature_v1(&self.key, msg, sig),
        }
    }
}

/// Signs `text` with `signer` and returns the note: text, blank line, one signature line.
pub fn sign_note(text: &str, signer: &NoteSigner) -> Result<String, NoteError> {
    check_note_text(text)?;
    let mut note =
        signed_note::Note::new(text.as_bytes(), &[]).map_err(|_| NoteError::Malformed)?;
    note.add_sigs(&[signer]).map_err(|_| NoteError::Signing)?;
    String::from_utf8(note.to_bytes()).map_err(|_| NoteError::Malformed)
}

/// Verifies `note` with `key` and returns its text (ending in a newline, without signatures).
///
/// Signatures by other keys (witness cosignatures, a rotated log key) are ignored, as the spec
/// requires; a signature that claims to be by `key` (same name and key id) but does not verify
/// rejects the note; a note without a signature by `key` is refused.
pub fn verify_note(note: &str, key: &VerifierKey) -> Result<String, NoteError> {
    let (text, sig_count) = split_note(note)?;
    if sig_count > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures);
    }
    let parsed =
        signed_note::Note::from_bytes(note.as_bytes()).map_err(|_| NoteError::Malformed)?;
    let known = signed_note::VerifierList::new(vec![Box::new(key.clone())]);
    let not_signed = || NoteError::NotSigned {
        name: key.name.clone(),
        id: key.key_id,
    };
    match parsed.verify(&known) {
        Ok((verified, _unknown)) if !verified.is_empty() => Ok(text.to_string()),
        Ok(_) | Err(signed_note::NoteError::UnverifiedNote) => Err(not_signed()),
        Err(signed_note::NoteError::InvalidSignature { name, id }) => {
            Err(NoteError::BadSignature { name, id })
        }
        Err(_) => Err(NoteError::Malformed),
    }
}

/// The note's text (with its final newline) and the number of signature lines, after the
/// structural checks that have a precise error; the rest is left to `signed_note`'s parser.
pub fn split_note(note: &str) -> Result<(&str, usize), NoteError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge);
    }
    if note.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(NoteError::ControlCharacter);
    }
    if !note.ends_with('\n') {
        return Err(NoteError::NoTrailingNewline);
    }
    // The text is separated from the signatures by the last blank line.
    let split = note.rfind("\n\n").ok_or(NoteError::NoSeparator)?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    if sigs.is_empty() {
        return Err(NoteError::Malformed);
    }
    Ok((text, sigs.lines().count()))
}

/// `SHA-256(name || 0x0A || type || public key)[:4]` as a big-endian integer.
pub fn key_id(name: &str, key_type: KeyType, key: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', key_type.byte()]);
    h.update(key.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn check_note_text(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge);
    }
    if text.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(NoteError::ControlCharacter);
    }
    if !text.ends_with('\n') {
        return Err(NoteError::NoTrailingNewline);
    }
    Ok(())
}

/// A `cosignature/v1` signature is `timestamp (u64 BE) || ed25519 signature` over
/// `"cosignature/v1\ntime <timestamp>\n" || note text`.
fn verify_cosignature_v1(key: &VerifyingKey, text: &[u8], sig: &[u8]) -> bool {
    let Some((ts, sig)) = sig.split_first_chunk::<8>() else {
        return false;
    };
    let timestamp = u64::from_be_bytes(*ts);
    if timestamp > i64::MAX as u64 {
        return false;
    }
    let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
        return false;
    };
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(text);
    key.verify(&msg, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str, seed: u8) -> NoteSigner {
        NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    #[test]
    fn vkey_round_trips_and_checks_its_id() {
        let v = signer("example.com/log", 1).verifier_key();
        let text = v.to_string();
        assert_eq!(VerifierKey::parse(&text).unwrap(), v);
        let bad_id = format!("example.com/log+{:08x}+{}", v.key_id() ^ 1, &text[25..]);
        assert!(matches!(
            VerifierKey::parse(&bad_id),
            Err(NoteError::KeyIdMismatch { .. })
        ));
    }

    #[test]
    fn sign_then_verify() {
        let s = signer("example.com/log", 2);
        let note = s.sign("hello\nworld\n").unwrap();
        assert_eq!(
            verify_note(&note, &s.verifier_key()).unwrap(),
            "hello\nworld\n"
        );
        let other = signer("example.com/log", 3).verifier_key();
        assert!(matches!(
            verify_note(&note, &other),
            Err(NoteError::NotSigned { .. })
        ));
    }

    #[test]
    fn text_must_end_in_newline() {
        assert!(matches!(
            signer("a", 4).sign("no newline"),
            Err(NoteError::NoTrailingNewline)
        ));
    }
}
