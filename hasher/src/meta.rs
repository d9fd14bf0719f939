//! Item metadata (DESIGN.md, "Set leaves"): what each item's leaf commits to besides its bytes.
//!
//! An item's metadata is a JSON object (its *source entry*):
//! - `path`: the file holding the item, relative to the corpus path it was found under, with `/`
//!   separators (a file given directly is named by its file name);
//! - `line` (JSON Lines and lines modes, 1-based) or `row` (Parquet, 0-based);
//! - fields mapped from the record with `--meta-field KEY=FIELD`, and constants given with
//!   `--meta-set KEY=VALUE`. The standard keys are `source` (a URI), `license` (an SPDX
//!   expression), `consent` (the signal observed at collection, written `<vocabulary>:<value>`
//!   with vocabulary `tdmrep`, `aipref` or `c2pa`) and `collected` (an RFC 3339 time).
//!
//! A leaf's metadata is `{"sources":[entry, ...]}`, the canonical (RFC 8785) entries of every item
//! with that content id, sorted by their canonical bytes: duplicates merge into one leaf whose
//! metadata lists all of them, and the order of discovery cannot change the root. The leaf's
//! `meta` is BLAKE3 of that object's canonical JSON, or 32 zero bytes with `--meta none`.

use std::collections::BTreeMap;
use std::str::FromStr;

use ledger::Digest;
use serde_json::{Map, Value};

use crate::error::HashError;

/// Keys the hasher fills in itself, which `--meta-field` and `--meta-set` may not take.
pub const RESERVED_KEYS: [&str; 3] = ["path", "line", "row"];

/// Whether leaves carry metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetaMode {
    /// Each leaf commits to its sources' metadata.
    #[default]
    Full,
    /// A pure content set: every leaf's `meta` is 32 zero bytes and no metadata is stored.
    None,
}

impl FromStr for MetaMode {
    type Err = HashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "full" => Ok(MetaMode::Full),
            "none" => Ok(MetaMode::None),
            other => Err(HashError::Config(format!(
                "unknown --meta {other:?} (expected full or none)"
            ))),
        }
    }
}

impl MetaMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            MetaMode::Full => "full",
            MetaMode::None => "none",
        }
    }
}

/// How to build each item's source entry: the mode, the record fields mapped in, the constants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetaSpec {
    pub mode: MetaMode,
    /// `(key in the entry, field or column in the record)`, in the order given.
    pub fields: Vec<(String, String)>,
    /// Constant entries added to every item.
    pub constants: BTreeMap<String, Value>,
}

impl MetaSpec {
    /// Parses `--meta-field KEY=FIELD` and `--meta-set KEY=VALUE` options, refusing reserved,
    /// empty or repeated keys so that a key always means one thing.
    pub fn parse(mode: MetaMode, fields: &[String], sets: &[String]) -> Result<Self, HashError> {
        let mut spec = MetaSpec {
            mode,
            ..MetaSpec::default()
        };
        let mut seen = std::collections::BTreeSet::new();
        for (opt, list) in [("--meta-field", fields), ("--meta-set", sets)] {
            for item in list {
                let (k, v) = item.split_once('=').ok_or_else(|| {
                    HashError::Config(format!("{opt} {item:?}: expected KEY=VALUE"))
                })?;
                if k.is_empty() || RESERVED_KEYS.contains(&k) || !seen.insert(k.to_string()) {
                    return Err(HashError::Config(format!(
                        "{opt} {item:?}: key must be non-empty, given once, and not one of {}",
                        RESERVED_KEYS.join(", ")
                    )));
                }
                if opt == "--meta-field" {
                    if v.is_empty() {
                        return Err(HashError::Config(format!("{opt} {item:?}: empty field")));
                    }
                    spec.fields.push((k.to_string(), v.to_string()));
                } else {
                    spec.constants
                        .insert(k.to_string(), Value::String(v.to_string()));
                }
            }
        }
        Ok(spec)
    }

    pub fn enabled(&self) -> bool {
        self.mode == MetaMode::Full
    }

    /// The canonical bytes of one item's source entry. `record` holds the values found for
    /// [`MetaSpec::fields`] (absent or null ones are left out).
    pub fn entry(
        &self,
        path: &str,
        position: Option<crate::error::Record>,
        record: impl IntoIterator<Item = (String, Value)>,
    ) -> Result<Vec<u8>, HashError> {
        let mut m = Map::new();
        m.insert("path".into(), Value::String(path.to_string()));
        match position {
            Some(crate::error::Record::Line(n)) => {
                m.insert("line".into(), Value::from(n));
            }
            Some(crate::error::Record::Row(n)) => {
                m.insert("row".into(), Value::from(n));
            }
            None => {}
        }
        for (k, v) in &self.constants {
            m.insert(k.clone(), v.clone());
        }
        for (k, v) in record {
            if !v.is_null() {
                m.insert(k, v);
            }
        }
        canonical(&Value::Object(m))
    }
}

/// RFC 8785 canonical JSON of `v`.
pub fn canonical(v: &Value) -> Result<Vec<u8>, HashError> {
    serde_json_canonicalizer::to_vec(v)
        .map_err(|e| HashError::Config(format!("metadata cannot be canonicalised: {e}")))
}

/// The canonical JSON of a leaf's metadata, `{"sources":[...]}`, from its items' canonical
/// entries already sorted by their bytes. Joining canonical values with commas inside a
/// one-key object is itself canonical, so no re-serialisation is needed.
pub fn leaf_meta_json<'a>(sorted_entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = br#"{"sources":["#.to_vec();
    for (i, e) in sorted_entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(e);
    }
    out.extend_from_slice(b"]}");
    out
}

/// The `meta` digest of a leaf: BLAKE3 of its canonical metadata, or zero without metadata.
pub fn meta_digest(meta_json: Option<&[u8]>) -> Digest {
    match meta_json {
        Some(j) => Digest(*blake3::hash(j).as_bytes()),
        None => Digest([0u8; 32]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Record;

    #[test]
    fn entry_is_canonical_and_leaves_out_nulls() {
        let spec = MetaSpec::parse(
            MetaMode::Full,
            &["source=url".into()],
            &["license=CC-BY-4.0".into()],
        )
        .unwrap();
        let e = spec
            .entry(
                "a/b.jsonl",
                Some(Record::Line(3)),
                [
                    ("source".to_string(), Value::from("https://x.example/é")),
                    ("gone".to_string(), Value::Null),
                ],
            )
            .unwrap();
        assert_eq!(
            String::from_utf8(e).unwrap(),
            r#"{"license":"CC-BY-4.0","line":3,"path":"a/b.jsonl","source":"https://x.example/é"}"#
        );
    }

    #[test]
    fn leaf_meta_joined_equals_canonicalised_object() {
        let spec = MetaSpec::default();
        let a = spec.entry("x", Some(Record::Row(0)), []).unwrap();
        let b = spec.entry("y\"\n", None, []).unwrap();
        let joined = leaf_meta_json([a.as_slice(), b.as_slice()]);
        let parsed: Value = serde_json::from_slice(&joined).unwrap();
        assert_eq!(canonical(&parsed).unwrap(), joined);
    }

    #[test]
    fn reserved_repeated_and_malformed_keys_are_refused() {
        for (f, s) in [
            (vec!["path=url".to_string()], vec![]),
            (vec!["a=b".to_string()], vec!["a=c".to_string()]),
            (vec!["novalue".to_string()], vec![]),
            (vec!["a=".to_string()], vec![]),
            (vec![], vec!["=x".to_string()]),
        ] {
            let r = MetaSpec::parse(MetaMode::Full, &f, &s);
            assert!(matches!(r, Err(HashError::Config(_))), "{f:?} {s:?}");
        }
    }

    #[test]
    fn meta_none_digest_is_zero() {
        assert_eq!(meta_digest(None), Digest([0; 32]));
        assert_eq!(meta_digest(Some(b"{}")).0, *blake3::hash(b"{}").as_bytes());
    }
}
