//! Leaf metadata (docs/format-manifest.md, "Metadata"), the one owner of its rules:
//!
//! - **the digest**: a leaf's `meta` is BLAKE3 of the RFC 8785 canonical JSON of its metadata
//!   object ([`canonical`], [`meta_digest`]), or 32 zero bytes for a leaf without metadata;
//! - **the shape**: `{"sources":[entry, ...]}`, at least one entry, each an object; of an entry
//!   the ledger reads `source` (when it is a string), `license` and `consent` (a string as is,
//!   any other value, such as a consent array, as its canonical JSON text) ([`LeafMeta`]);
//! - **the source leaves** a leaf gives to its set's source tree (docs/formats.md, "Source
//!   trees"): `source_key(source) || 0x00 || cid` per distinct key, an entry without a `source`
//!   string under the no-source key `""` ([`LeafMeta::source_keys`], [`source_keys`]).
//!
//! The service (`ledger`), the hasher, `prov audit` and `prov report` call these; the hasher's
//! direct canonical writer is an optimisation held equal to [`canonical`] by its tests, and the
//! explorer's `lib/stats.js` is a second implementation held by `api/explorer/test/vectors/meta.json`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::range::RangeLeaf;
use crate::source::{source_key, SourceKey};
use crate::types::{ContentId, Digest};

/// Why a leaf's metadata is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetaError {
    #[error("metadata is not json: {0}")]
    Json(String),
    #[error(
        "metadata must be an object {{\"sources\":[entry, ...]}} with at least one entry object"
    )]
    Shape,
    #[error("metadata cannot be canonicalised: {0}")]
    Canonical(String),
    #[error("metadata hashes to {got}, the leaf commits {want}")]
    Digest { got: Digest, want: Digest },
}

/// RFC 8785 canonical JSON of a metadata value: the bytes a leaf's `meta` digest commits.
pub fn canonical(v: &Value) -> Result<Vec<u8>, MetaError> {
    serde_json_canonicalizer::to_vec(v).map_err(|e| MetaError::Canonical(e.to_string()))
}

/// A leaf's `meta` digest: BLAKE3 of its canonical metadata bytes, zero without metadata.
pub fn meta_digest(canonical_json: Option<&[u8]>) -> Digest {
    match canonical_json {
        Some(j) => Digest(*blake3::hash(j).as_bytes()),
        None => Digest([0; 32]),
    }
}

/// Checks that `meta` is what a leaf with digest `want` commits; returns its canonical bytes.
pub fn check_digest(meta: &Value, want: &Digest) -> Result<Vec<u8>, MetaError> {
    let bytes = canonical(meta)?;
    let got = meta_digest(Some(&bytes));
    if &got != want {
        return Err(MetaError::Digest { got, want: *want });
    }
    Ok(bytes)
}

/// One source entry of a leaf's metadata, the fields the ledger reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceEntry {
    /// `source`, when it is a string.
    pub source: Option<String>,
    /// `license`: a string as is, another JSON value as its canonical JSON text (a consent
    /// array `["a","b"]` is one value); `None` when absent or null.
    pub license: Option<String>,
    /// `consent`, read like `license`.
    pub consent: Option<String>,
}

impl SourceEntry {
    /// Reads one entry; a value that is not an object has none of the fields.
    pub fn from_value(e: &Value) -> SourceEntry {
        let text = |k: &str| match e.get(k) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(
                serde_json_canonicalizer::to_string(other).unwrap_or_else(|_| other.to_string()),
            ),
        };
        SourceEntry {
            source: e.get("source").and_then(Value::as_str).map(str::to_owned),
            license: text("license"),
            consent: text("consent"),
        }
    }

    /// The source key of this entry: `source_key(source)`, the no-source key without one.
    pub fn source_key(&self) -> SourceKey {
        self.source
            .as_deref()
            .map_or_else(SourceKey::none, source_key)
    }
}

/// A leaf's metadata: `{"sources":[entry, ...]}`, at least one entry object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeafMeta {
    pub sources: Vec<SourceEntry>,
}

impl LeafMeta {
    /// Reads a leaf's metadata bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, MetaError> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| MetaError::Json(e.to_string()))?;
        Self::from_value(&v)
    }

    /// Reads a leaf's metadata value, refusing any other shape.
    pub fn from_value(v: &Value) -> Result<Self, MetaError> {
        let list = v
            .as_object()
            .and_then(|o| o.get("sources"))
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty() && l.iter().all(Value::is_object))
            .ok_or(MetaError::Shape)?;
        Ok(LeafMeta {
            sources: list.iter().map(SourceEntry::from_value).collect(),
        })
    }

    /// The metadata a leaf with digest `want` commits, checked and read: its canonical bytes
    /// hash to `want` and it has the shape above.
    pub fn verified(v: &Value, want: &Digest) -> Result<Self, MetaError> {
        check_digest(v, want)?;
        Self::from_value(v)
    }

    /// The distinct source keys of the leaf (one source leaf each).
    pub fn source_keys(&self) -> BTreeSet<SourceKey> {
        self.sources.iter().map(SourceEntry::source_key).collect()
    }

    /// The leaf's source leaves, `key || 0x00 || cid`, sorted and distinct.
    pub fn source_leaves(&self, cid: &ContentId) -> Vec<RangeLeaf> {
        self.source_keys()
            .iter()
            .map(|k| RangeLeaf::source(k, cid))
            .collect()
    }

    /// The distinct licence values of the leaf's entries ([`NONE`] for an entry without one).
    pub fn licences(&self) -> BTreeSet<&str> {
        self.sources
            .iter()
            .map(|e| e.license.as_deref().unwrap_or(NONE))
            .collect()
    }

    /// The distinct consent values of the leaf's entries ([`NONE`] for an entry without one).
    pub fn consents(&self) -> BTreeSet<&str> {
        self.sources
            .iter()
            .map(|e| e.consent.as_deref().unwrap_or(NONE))
            .collect()
    }
}

/// The value counted for an entry without a licence (or consent).
pub const NONE: &str = "(none)";

/// The source keys of any metadata value, as the source tree reads it: one per entry of its
/// `sources` array (entries need not be objects: one that is not, or has no `source` string, is
/// under the no-source key), none when there is no `sources` array. On metadata of the shape
/// [`LeafMeta`] reads, the same keys as [`LeafMeta::source_keys`] (the hasher reads manifests
/// the service would refuse, and still derives the same tree from those it accepts).
pub fn source_keys(meta: &Value) -> BTreeSet<SourceKey> {
    meta.get("sources")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .map(|e| SourceEntry::from_value(e).source_key())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_meta_needs_a_sources_list_of_objects() {
        assert_eq!(LeafMeta::parse(b"{}"), Err(MetaError::Shape));
        assert_eq!(LeafMeta::parse(br#"{"sources":[]}"#), Err(MetaError::Shape));
        assert_eq!(
            LeafMeta::parse(br#"{"sources":[1]}"#),
            Err(MetaError::Shape)
        );
        assert!(matches!(LeafMeta::parse(b"nope"), Err(MetaError::Json(_))));
        let m = LeafMeta::parse(
            br#"{"sources":[{"license":"MIT","path":"a","source":"https://e.com/"},{"consent":["a:1","b:2"],"license":1.0,"path":"b","source":3}]}"#,
        )
        .unwrap();
        assert_eq!(m.sources[0].source.as_deref(), Some("https://e.com/"));
        assert_eq!(m.sources[1].source, None);
        assert_eq!(m.sources[1].license.as_deref(), Some("1"));
        assert_eq!(m.sources[1].consent.as_deref(), Some(r#"["a:1","b:2"]"#));
        assert_eq!(m.sources[0].consent, None);
        let keys: Vec<String> = m.source_keys().iter().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["", "com.e./"]);
    }

    #[test]
    fn digest_is_blake3_of_canonical_json() {
        let v: Value =
            serde_json::from_str(r#"{"sources":[{"path":"b","license":"MIT"}]}"#).unwrap();
        let c = canonical(&v).unwrap();
        assert_eq!(c, br#"{"sources":[{"license":"MIT","path":"b"}]}"#);
        let d = meta_digest(Some(&c));
        assert_eq!(d.0, *blake3::hash(&c).as_bytes());
        assert_eq!(meta_digest(None), Digest([0; 32]));
        assert!(LeafMeta::verified(&v, &d).is_ok());
        assert!(matches!(
            LeafMeta::verified(&v, &Digest([0; 32])),
            Err(MetaError::Digest { .. })
        ));
    }

    #[test]
    fn metadata_without_a_sources_array_gives_no_source_leaves() {
        assert!(source_keys(&serde_json::json!({})).is_empty());
        assert!(source_keys(&serde_json::json!({"sources": 1})).is_empty());
        let k = source_keys(&serde_json::json!({"sources": [1, {"source": "http://a.org/x"}]}));
        let k: Vec<&str> = k.iter().map(SourceKey::as_str).collect();
        assert_eq!(k, ["", "org.a./x"]);
    }
}
