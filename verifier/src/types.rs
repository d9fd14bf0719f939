//! Newtypes for the values that every part of the ledger passes around.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a textual digest, content id or index did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("hash must be exactly 32 bytes, got {0}")]
    WrongLength(usize),
    #[error("invalid hex: {0}")]
    Hex(String),
    #[error("invalid base64: {0}")]
    Base64(String),
    #[error("content id must look like blake3:<64 lowercase hex>: {0:?}")]
    ContentId(String),
}

/// A 32-byte hash: a SHA-256 log hash or a BLAKE3 set hash, depending on the tree.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub const LEN: usize = 32;

    /// Exactly 32 bytes, or [`ParseError::WrongLength`]: the RFC 6962 vectors require that a
    /// hash of any other length is rejected rather than truncated or padded.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ParseError> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ParseError::WrongLength(bytes.len()))?;
        Ok(Digest(arr))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Lowercase or uppercase hex, exactly 64 digits.
    pub fn from_hex(s: &str) -> Result<Self, ParseError> {
        let v = hex::decode(s).map_err(|e| ParseError::Hex(e.to_string()))?;
        Self::from_slice(&v)
    }

    /// Standard base64 with padding, as C2SP checkpoints and tlog-proofs write hashes.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    pub fn from_base64(s: &str) -> Result<Self, ParseError> {
        let v = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| ParseError::Base64(e.to_string()))?;
        Self::from_slice(&v)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for Digest {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

/// JSON form: 64 lowercase hex digits.
impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// The position of a leaf in a tree (0-based).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct LeafIndex(pub u64);

/// The number of leaves in a tree.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TreeSize(pub u64);

impl fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for TreeSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A content id: the BLAKE3-256 of an item's bytes, written `blake3:<64 lowercase hex>`.
/// Ordering is byte order of the digest, which is also the order of the lowercase hex strings,
/// and is the order of a set's leaves.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ContentId(pub [u8; 32]);

impl ContentId {
    pub const PREFIX: &'static str = "blake3:";

    /// The content id of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        ContentId(*blake3::hash(bytes).as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.to_hex())
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({self})")
    }
}

/// Strict: the `blake3:` prefix and exactly 64 lowercase hex digits. Uppercase is refused so that
/// a content id has one spelling, which keeps canonical JSON canonical.
impl FromStr for ContentId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hexpart = s
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| ParseError::ContentId(s.to_string()))?;
        if hexpart.len() != 64
            || !hexpart
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(ParseError::ContentId(s.to_string()));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hexpart, &mut out).map_err(|e| ParseError::Hex(e.to_string()))?;
        Ok(ContentId(out))
    }
}

impl Serialize for ContentId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ContentId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_rejects_wrong_lengths() {
        assert_eq!(
            Digest::from_slice(&[0u8; 31]),
            Err(ParseError::WrongLength(31))
        );
        assert_eq!(
            Digest::from_slice(&[0u8; 33]),
            Err(ParseError::WrongLength(33))
        );
        assert!(Digest::from_slice(&[7u8; 32]).is_ok());
    }

    #[test]
    fn content_id_round_trips_and_is_strict() {
        let id = ContentId::of(b"hello");
        let s = id.to_string();
        assert_eq!(s.parse::<ContentId>().unwrap(), id);
        assert!(s.to_uppercase().parse::<ContentId>().is_err());
        assert!("blake3:00".parse::<ContentId>().is_err());
        assert!(s
            .replace("blake3:", "sha256:")
            .parse::<ContentId>()
            .is_err());
    }
}
