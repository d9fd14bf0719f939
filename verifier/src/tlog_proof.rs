//! C2SP tlog-proof (<https://c2sp.org/tlog-proof>): an offline proof that an entry is in a log,
//! as one text file (`.tlog-proof`):
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            (optional, unauthenticated application data)
//! index <N>
//! <base64 hash>             (zero or more: the RFC 6962 audit path, leaf side first)
//!
//! <checkpoint note, verbatim>
//! ```
//!
//! Verification needs only the log's verifier key and the entry's bytes, so it works for any
//! C2SP log with an Ed25519 key, not only this one. Witness cosignatures in the checkpoint are
//! carried along and ignored here.

use base64::Engine as _;

use crate::checkpoint::{parse_decimal, Checkpoint, CheckpointError};
use crate::hash::{leaf_hash, Sha256Log};
use crate::merkle::{verify_inclusion, ProofError};
use crate::note::VerifierKey;
use crate::types::{Digest, LeafIndex};

/// The first line of every tlog-proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Why a tlog-proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogProofError {
    #[error("missing header line {HEADER:?}")]
    MissingHeader,
    #[error("invalid extra line")]
    InvalidExtra,
    #[error("missing or invalid index line")]
    InvalidIndex,
    #[error("invalid proof hash on line {line}")]
    InvalidHash { line: usize },
    #[error("missing blank line before the checkpoint")]
    NoCheckpoint,
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("inclusion proof does not verify: {0}")]
    Inclusion(#[from] ProofError),
}

/// An entry's index, its audit path, and the signed checkpoint the path leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque application data from the `extra` line. Not authenticated: never trust it.
    pub extra: Option<Vec<u8>>,
    pub index: LeafIndex,
    pub proof: Vec<Digest>,
    /// The checkpoint as a signed note, verbatim (cosignatures included).
    pub checkpoint: String,
}

impl TlogProof {
    /// The file's text. The checkpoint note already ends in a newline.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(64 + 45 * self.proof.len() + self.checkpoint.len());
        out.push_str(HEADER);
        out.push('\n');
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index.0));
        for h in &self.proof {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a proof file. The checkpoint is kept as text; it is checked by [`Self::verify`].
    pub fn parse(text: &str) -> Result<Self, TlogProofError> {
        let mut rest = text;
        let mut next_line = || -> Option<&str> {
            let (line, tail) = rest.split_once('\n')?;
            rest = tail;
            Some(line)
        };
        if next_line() != Some(HEADER) {
            return Err(TlogProofError::MissingHeader);
        }
        let mut line = next_line().ok_or(TlogProofError::InvalidIndex)?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            let data = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| TlogProofError::InvalidExtra)?;
            extra = Some(data);
            line = next_line().ok_or(TlogProofError::InvalidIndex)?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(TlogProofError::InvalidIndex)?;
        let mut proof = Vec::new();
        loop {
            let line = next_line().ok_or(TlogProofError::NoCheckpoint)?;
            if line.is_empty() {
                break;
            }
            let line_no = proof.len() + if extra.is_some() { 4 } else { 3 };
            let h = Digest::from_base64(line)
                .map_err(|_| TlogProofError::InvalidHash { line: line_no })?;
            proof.push(h);
        }
        if rest.is_empty() {
            return Err(TlogProofError::NoCheckpoint);
        }
        Ok(TlogProof {
            extra,
            index: LeafIndex(index),
            proof,
            checkpoint: rest.to_string(),
        })
    }

    /// Checks the checkpoint's signature with the log's key (the origin must be the key's name),
    /// then that `entry`'s leaf hash, `SHA-256(0x00 || entry)`, is at `index` in the tree the
    /// checkpoint commits to. Returns the verified checkpoint.
    pub fn verify(&self, key: &VerifierKey, entry: &[u8]) -> Result<Checkpoint, TlogProofError> {
        self.verify_leaf_hash(key, &leaf_hash(entry))
    }

    /// As [`Self::verify`], for a caller that has the leaf hash rather than the entry.
    pub fn verify_leaf_hash(
        &self,
        key: &VerifierKey,
        leaf: &Digest,
    ) -> Result<Checkpoint, TlogProofError> {
        let checkpoint = Checkpoint::verify(&self.checkpoint, key)?;
        verify_inclusion::<Sha256Log>(
            leaf,
            self.index,
            checkpoint.size,
            &self.proof,
            &checkpoint.root,
        )?;
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_requires_header_index_and_checkpoint() {
        let cp = "log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— log AAAAAAA=\n";
        let good = format!("{HEADER}\nindex 0\n\n{cp}");
        let p = TlogProof::parse(&good).unwrap();
        assert_eq!(p.to_text(), good);
        assert!(matches!(
            TlogProof::parse(&good.replace(HEADER, "c2sp.org/tlog-proof@v2")),
            Err(TlogProofError::MissingHeader)
        ));
        assert!(matches!(
            TlogProof::parse(&good.replace("index 0", "index 00")),
            Err(TlogProofError::InvalidIndex)
        ));
        assert!(matches!(
            TlogProof::parse(&format!("{HEADER}\nindex 0\n\n")),
            Err(TlogProofError::NoCheckpoint)
        ));
    }
}
