//! JSON helpers shared by set proofs, entries and bundles: hashes as exactly 64 **lowercase** hex
//! digits. `Digest`'s own serde accepts uppercase too; proofs and entries refuse it so that a
//! value has one spelling (canonical entries stay canonical, and flipping a letter's case in a
//! proof is a change that fails rather than an alias that passes).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{SetLeaf, SetMembershipProof};
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

/// Reads any JSON form of one set proof, the one parser of set-proof files and answers
/// (`prov verify inclusion|exclusion`, `prov proof`):
///
/// - `{"included": <inclusion>}` or `{"excluded": <exclusion>}`: a [`SetMembershipProof`], the
///   form [`print_membership_proof`] writes;
/// - an object with a `proof` member (an API answer such as
///   `GET /v1/datasets/{name}/{version}/proof`): that member, read by these same rules;
/// - an object with an `id` member: a bare [`SetExclusionProof`];
/// - anything else: a bare [`SetInclusionProof`].
///
/// The proofs themselves are strict (unknown fields refused, hashes 64 lowercase hex); only the
/// wrapping is lenient.
pub fn parse_membership_proof_json(
    mut value: serde_json::Value,
) -> Result<SetMembershipProof, serde_json::Error> {
    while let serde_json::Value::Object(m) = &mut value {
        if m.contains_key("included") || m.contains_key("excluded") {
            return serde_json::from_value(value);
        }
        if let Some(inner) = m.remove("proof") {
            value = inner;
            continue;
        }
        if m.contains_key("id") {
            return serde_json::from_value(value).map(SetMembershipProof::Excluded);
        }
        break;
    }
    serde_json::from_value(value).map(SetMembershipProof::Included)
}

/// [`parse_membership_proof_json`] of the bytes of a file or an answer.
pub fn parse_membership_proof(bytes: &[u8]) -> Result<SetMembershipProof, serde_json::Error> {
    parse_membership_proof_json(serde_json::from_slice(bytes)?)
}

/// The JSON of a set proof as `prov` writes it: `{"included": ..}` or `{"excluded": ..}`.
pub fn print_membership_proof(proof: &SetMembershipProof) -> String {
    // A proof is plain data (strings, numbers, arrays): serialising it cannot fail; the empty
    // object, which no parser reads as a proof, stands in should it ever.
    serde_json::to_string(proof).unwrap_or_else(|_| "{}".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::{Membership, SortedSet};

    fn set() -> SortedSet {
        SortedSet::from_ids((0..5u8).map(|i| ContentId::of(&[i])))
    }

    #[test]
    fn every_wrapping_of_a_set_proof_reads_the_same() {
        let s = set();
        let inside = ContentId::of(&[2]);
        let outside = ContentId::of(b"not there");
        for id in [inside, outside] {
            let m = s.membership_proof(&id).unwrap();
            let printed = print_membership_proof(&m);
            let bare = match &m {
                SetMembershipProof::Included(p) => serde_json::to_value(p).unwrap(),
                SetMembershipProof::Excluded(p) => serde_json::to_value(p).unwrap(),
            };
            let forms = [
                printed.clone(),
                bare.to_string(),
                serde_json::json!({ "proof": bare, "dataset": "x" }).to_string(),
                serde_json::json!({ "proof": { "proof": serde_json::from_str::<serde_json::Value>(&printed).unwrap() } }).to_string(),
            ];
            for f in forms {
                let back = parse_membership_proof(f.as_bytes()).unwrap();
                assert_eq!(back, m, "{f}");
                assert_eq!(print_membership_proof(&back), printed);
                let want = if id == inside {
                    Membership::Included
                } else {
                    Membership::Excluded
                };
                assert_eq!(back.verify(&id, &s.root(), s.size()).unwrap(), want);
            }
        }
    }

    #[test]
    fn what_is_not_a_set_proof_is_refused() {
        for bad in [
            &b"[]"[..],
            b"{}",
            b"{\"proof\": 3}",
            b"{\"included\": {}}",
            b"{\"id\": \"blake3:00\"}",
            b"not json",
            b"null",
        ] {
            assert!(
                parse_membership_proof(bad).is_err(),
                "{}",
                bad.escape_ascii()
            );
        }
        let s = set();
        let p = s.inclusion_proof(&ContentId::of(&[1])).unwrap();
        let mut v = serde_json::to_value(&p).unwrap();
        v["extra"] = serde_json::json!(1);
        assert!(parse_membership_proof_json(v).is_err());
    }
}
