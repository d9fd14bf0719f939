//! JSON helpers shared by set proofs, entries and bundles: hashes as exactly 64 **lowercase** hex
//! digits. `Digest`'s own serde accepts uppercase too; proofs and entries refuse it so that a
//! value has one spelling (canonical entries stay canonical, and flipping a letter's case in a
//! proof is a change that fails rather than an alias that passes).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SetLeaf;
use crate::types::{ContentId, Digest};

/// Parses 64 lowercase hex digits.
pub(crate) fn parse_hex32(s: &str) -> Option<Digest> {
    if s.len() != 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(Digest(out))
}

/// `#[serde(with = "hex32")]` for a [`Digest`].
pub(crate) mod hex32 {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_hex())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        parse_hex32(&s).ok_or_else(|| serde::de::Error::custom("hash must be 64 lowercase hex"))
    }
}

/// `#[serde(with = "hex32_vec")]` for a `Vec<Digest>`.
pub(crate) mod hex32_vec {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[Digest], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(Digest::to_hex))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Digest>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| {
                parse_hex32(s)
                    .ok_or_else(|| serde::de::Error::custom("hash must be 64 lowercase hex"))
            })
            .collect()
    }
}

/// The JSON shape of a [`SetLeaf`].
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LeafJson {
    cid: ContentId,
    size: u64,
    #[serde(with = "hex32")]
    meta: Digest,
}

impl From<SetLeaf> for LeafJson {
    fn from(l: SetLeaf) -> Self {
        LeafJson {
            cid: l.cid,
            size: l.size,
            meta: l.meta,
        }
    }
}

impl From<LeafJson> for SetLeaf {
    fn from(l: LeafJson) -> Self {
        SetLeaf {
            cid: l.cid,
            size: l.size,
            meta: l.meta,
        }
    }
}
