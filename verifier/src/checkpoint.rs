//! C2SP tlog-checkpoint (<https://c2sp.org/tlog-checkpoint>): a log's signed tree head, as the
//! text of a signed note:
//!
//! ```text
//! <origin>\n
//! <tree size, decimal, no leading zeroes>\n
//! <base64 root hash>\n
//! ```
//!
//! We never write extension lines (monitors cannot audit them), but we accept them on input as
//! the spec allows, so a verifier works with any C2SP log.

use crate::note::{self, NoteError, NoteSigner, VerifierKey};
use crate::types::{Digest, TreeSize};

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    #[error("checkpoint body must end with a newline")]
    NoTrailingNewline,
    #[error("checkpoint body has fewer than three lines")]
    TooFewLines,
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    #[error("invalid tree size {0:?}")]
    InvalidSize(String),
    #[error("invalid root hash {0:?}")]
    InvalidRoot(String),
    #[error("checkpoint has an empty extension line")]
    EmptyExtensionLine,
    #[error("origin {origin:?} does not match the key name {key:?}")]
    OriginMismatch { origin: String, key: String },
    #[error("origin {0:?} cannot be written in a checkpoint")]
    UnencodableOrigin(String),
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A log's tree head: its name (origin), its size and its root.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    pub origin: String,
    pub size: TreeSize,
    pub root: Digest,
}

impl Checkpoint {
    /// The note text: origin, size and base64 root, each followed by a newline.
    pub fn to_body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size.0,
            self.root.to_base64()
        )
    }

    /// Parses a checkpoint body, accepting (and dropping) extension lines.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        Self::parse_body_with_extensions(text).map(|(c, _)| c)
    }

    /// Parses a checkpoint body and also returns its extension lines, which the spec makes
    /// opaque: they are signed by the log but no one audits them.
    pub fn parse_body_with_extensions(text: &str) -> Result<(Self, Vec<&str>), CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::NoTrailingNewline)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::TooFewLines);
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_decimal(size).ok_or_else(|| CheckpointError::InvalidSize(size.into()))?;
        let root =
            Digest::from_base64(root).map_err(|_| CheckpointError::InvalidRoot(root.into()))?;
        let extensions: Vec<&str> = lines.collect();
        if extensions.iter().any(|l| l.is_empty()) {
            return Err(CheckpointError::EmptyExtensionLine);
        }
        let checkpoint = Checkpoint {
            origin: origin.to_string(),
            size: TreeSize(size),
            root,
        };
        Ok((checkpoint, extensions))
    }

    /// Signs the checkpoint as a note. The signer's name must be the origin, as verifiers
    /// require, and the body must read back as this checkpoint (an origin with a newline in it
    /// would not).
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        if signer.name() != self.origin {
            return Err(CheckpointError::OriginMismatch {
                origin: self.origin.clone(),
                key: signer.name().to_string(),
            });
        }
        let body = self.to_body();
        match Self::parse_body_with_extensions(&body) {
            Ok((ref back, ref ext)) if back == self && ext.is_empty() => {}
            _ => return Err(CheckpointError::UnencodableOrigin(self.origin.clone())),
        }
        Ok(signer.sign(&body)?)
    }

    /// Verifies a checkpoint note with the log's key and returns the checkpoint. The origin line
    /// must equal the key's name: otherwise a key shared by two logs could make one log's
    /// checkpoint pass for the other's. Cosignatures by other keys are ignored.
    pub fn verify(note_text: &str, key: &VerifierKey) -> Result<Checkpoint, CheckpointError> {
        let text = note::verify_note(note_text, key)?;
        let checkpoint = Self::parse_body(&text)?;
        if checkpoint.origin != key.name() {
            return Err(CheckpointError::OriginMismatch {
                origin: checkpoint.origin,
                key: key.name().to_string(),
            });
        }
        Ok(checkpoint)
    }
}

/// ASCII decimal with no leading zeroes (except `0` itself), fitting in a u64.
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn decimal_is_strict() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("300"), Some(300));
        assert_eq!(parse_decimal("0300"), None);
        assert_eq!(parse_decimal("+3"), None);
        assert_eq!(parse_decimal(""), None);
        assert_eq!(parse_decimal("18446744073709551616"), None);
    }

    #[test]
    fn sign_refuses_origin_that_is_not_the_key_name() {
        let s = NoteSigner::new("example.com/a", SigningKey::from_bytes(&[1; 32])).unwrap();
        let c = Checkpoint {
            origin: "example.com/b".into(),
            size: TreeSize(1),
            root: Digest([0; 32]),
        };
        assert!(matches!(
            c.sign(&s),
            Err(CheckpointError::OriginMismatch { .. })
        ));
    }
}
