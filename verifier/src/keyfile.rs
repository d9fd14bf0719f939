//! Private key files: the one parser and the one printer of the key-file text format, shared by
//! the log's own key `ledger.key` (written by `ledger::store::keyfile`) and the publisher and
//! rights-holder keys of `prov keygen` (written by `cli/src/cmd/keygen.rs`). Pure: bytes of the
//! file in, typed key out, and back; the readers and writers of the files (modes, fsync, never
//! overwriting) stay with their crates.
//!
//! The format is the signed-note private key of Go's `golang.org/x/mod/sumdb/note`, one line:
//!
//! ```text
//! PRIVATE+KEY+<name>+<key id: 8 lowercase hex>+<standard base64, padded, of 0x01 || 32-byte Ed25519 seed>\n
//! ```
//!
//! - `<name>` is a signed-note key name (non-empty, no spaces, no `+`, no control characters);
//!   the base64 may contain `+`, so the fields are split from the left.
//! - `<key id>` must be the key id the name and public key imply (see [`crate::note`]).
//! - The printer writes exactly that line and one `\n`.
//! - Line ends (one rule for every reader): after the line, any run of `\n` and `\r` bytes is
//!   ignored, so a file saved with CRLF (`\r\n`), with no final newline, or with blank lines after
//!   the key reads the same. Nothing else may precede or follow the line (no spaces, no BOM).
//!   This is the union of what the two earlier readers accepted, so every file either wrote or
//!   read before still reads.

use std::fmt;

use base64::Engine as _;
use ed25519_dalek::SigningKey;

use crate::note::{NoteError, NoteSigner};

/// The first field of every private key file.
pub const PREFIX: &str = "PRIVATE+KEY+";

/// The algorithm byte before the seed: Ed25519.
const ALG_ED25519: u8 = 0x01;

/// Why the bytes of a key file are not a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileFormatError {
    #[error("not UTF-8")]
    NotUtf8,
    #[error("does not start with {PREFIX:?}")]
    NoPrefix,
    #[error("expected PRIVATE+KEY+<name>+<key id>+<key>")]
    MissingField,
    #[error("more than one line")]
    ExtraLine,
    #[error("the key is not standard base64")]
    NotBase64,
    #[error("the key is not one algorithm byte and a 32-byte seed")]
    WrongLength,
    #[error("unsupported key algorithm {0:#04x}")]
    UnsupportedAlgorithm(u8),
    #[error("key name: {0}")]
    Name(#[source] NoteError),
    #[error("key id {got:?} does not match the key (expected {want:08x})")]
    KeyIdMismatch { got: String, want: u32 },
}

/// A private signing key with the name it was made for.
#[derive(Clone)]
pub struct PrivateKey {
    signer: NoteSigner,
    key: SigningKey,
}

impl fmt::Debug for PrivateKey {
    /// Never prints the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}+{:08x})", self.name(), self.key_id())
    }
}

impl PrivateKey {
    /// `key` named `name`; refuses a name signed notes cannot carry.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, KeyFileFormatError> {
        let signer = NoteSigner::new(name, key.clone()).map_err(KeyFileFormatError::Name)?;
        Ok(PrivateKey { signer, key })
    }

    pub fn name(&self) -> &str {
        self.signer.name()
    }

    pub fn key_id(&self) -> u32 {
        self.signer.key_id()
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The note signer of this key (for checkpoints and cosignatures).
    pub fn signer(&self) -> &NoteSigner {
        &self.signer
    }

    pub fn into_signer(self) -> NoteSigner {
        self.signer
    }
}

/// The bytes of a key file: the one line and `\n`.
pub fn print(key: &PrivateKey) -> String {
    let mut payload = vec![ALG_ED25519];
    payload.extend_from_slice(&key.key.to_bytes());
    format!(
        "{PREFIX}{}+{:08x}+{}\n",
        key.name(),
        key.key_id(),
        base64::engine::general_purpose::STANDARD.encode(&payload)
    )
}

/// Parses the bytes of a key file (see the module docs for the format and the line-end rule).
pub fn parse(bytes: &[u8]) -> Result<PrivateKey, KeyFileFormatError> {
    let text = std::str::from_utf8(bytes).map_err(|_| KeyFileFormatError::NotUtf8)?;
    let line = text.trim_end_matches(['\n', '\r']);
    if line.contains(['\n', '\r']) {
        return Err(KeyFileFormatError::ExtraLine);
    }
    let rest = line
        .strip_prefix(PREFIX)
        .ok_or(KeyFileFormatError::NoPrefix)?;
    // A name cannot contain '+'; base64 can, so split from the left.
    let (name, rest) = rest
        .split_once('+')
        .ok_or(KeyFileFormatError::MissingField)?;
    let (id, b64) = rest
        .split_once('+')
        .ok_or(KeyFileFormatError::MissingField)?;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| KeyFileFormatError::NotBase64)?;
    let (&alg, seed) = payload
        .split_first()
        .ok_or(KeyFileFormatError::WrongLength)?;
    if alg != ALG_ED25519 {
        return Err(KeyFileFormatError::UnsupportedAlgorithm(alg));
    }
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| KeyFileFormatError::WrongLength)?;
    let key = PrivateKey::new(name, SigningKey::from_bytes(&seed))?;
    if format!("{:08x}", key.key_id()) != id {
        return Err(KeyFileFormatError::KeyIdMismatch {
            got: id.to_string(),
            want: key.key_id(),
        });
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> PrivateKey {
        PrivateKey::new(name, SigningKey::from_bytes(&[7; 32])).unwrap()
    }

    #[test]
    fn a_key_file_round_trips_byte_for_byte() {
        for name in ["example.org/log", "alice", "publisher"] {
            let k = key(name);
            let text = print(&k);
            assert!(text.starts_with(&format!("{PREFIX}{name}+{:08x}+", k.key_id())));
            assert!(text.ends_with('\n') && !text.ends_with("\n\n"));
            let back = parse(text.as_bytes()).unwrap();
            assert_eq!(back.name(), name);
            assert_eq!(back.signing_key().to_bytes(), [7; 32]);
            assert_eq!(print(&back), text);
        }
    }

    #[test]
    fn a_key_whose_base64_holds_a_plus_parses() {
        let mut saw_plus = false;
        for i in 0..=255u8 {
            let k = PrivateKey::new("n", SigningKey::from_bytes(&[i; 32])).unwrap();
            let text = print(&k);
            let b64 = text.trim_end().splitn(5, '+').nth(4).unwrap();
            saw_plus |= b64.contains('+');
            assert_eq!(parse(text.as_bytes()).unwrap().key_id(), k.key_id());
        }
        assert!(saw_plus);
    }

    #[test]
    fn any_line_end_reads_the_same() {
        let text = print(&key("alice"));
        let line = text.trim_end();
        for end in ["", "\n", "\r\n", "\r", "\n\n", "\r\n\r\n"] {
            let back = parse(format!("{line}{end}").as_bytes()).unwrap();
            assert_eq!(print(&back), text, "{end:?}");
        }
    }

    #[test]
    fn malformed_key_files_are_refused_with_their_reason() {
        use KeyFileFormatError as E;
        let text = print(&key("alice"));
        let line = text.trim_end();
        let (head, tail) = text.split_at(PREFIX.len() + "alice+".len());
        let wrong_id = format!("{head}00000000{}", &tail[8..]);
        let cases: Vec<(Vec<u8>, E)> = vec![
            (vec![0xff, 0xfe], E::NotUtf8),
            (b"".to_vec(), E::NoPrefix),
            (format!(" {line}\n").into_bytes(), E::NoPrefix),
            (format!("{line} \n").into_bytes(), E::NotBase64),
            (format!("{line}\nmore\n").into_bytes(), E::ExtraLine),
            (b"PRIVATE+KEY+alice\n".to_vec(), E::MissingField),
            (b"PRIVATE+KEY+alice+00000000\n".to_vec(), E::MissingField),
            (
                b"PRIVATE+KEY+alice+00000000+AQ==\n".to_vec(),
                E::WrongLength,
            ),
            (b"PRIVATE+KEY+alice+00000000+!!\n".to_vec(), E::NotBase64),
            (
                format!("PRIVATE+KEY+alice+00000000+{}\n", b64(&[2; 33])).into_bytes(),
                E::UnsupportedAlgorithm(2),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse(&input).unwrap_err(),
                want,
                "{:?}",
                input.escape_ascii()
            );
        }
        assert!(matches!(
            parse(wrong_id.as_bytes()),
            Err(E::KeyIdMismatch { .. })
        ));
        let no_name = format!("PRIVATE+KEY++00000000+{}\n", b64(&[1; 33]));
        assert!(matches!(parse(no_name.as_bytes()), Err(E::Name(_))));
        assert!(matches!(
            PrivateKey::new("a b", SigningKey::from_bytes(&[1; 32])),
            Err(E::Name(_))
        ));
    }

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn debug_never_prints_the_private_key() {
        let k = key("alice");
        let shown = format!("{k:?}");
        assert!(!shown.contains(&b64(&[7; 32])) && shown.contains("alice"));
    }
}
